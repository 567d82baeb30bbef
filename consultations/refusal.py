"""A request refused for a reason the person can fix, in words an adapter can translate (`config.i18n.t`)."""

from __future__ import annotations

from config.errors import VoicesError


class Refusal(VoicesError):
    """`msgid` is an interface text marked with `N_`, `values` its placeholders; `field` names the form field it is
    about (empty: the whole request). `str()` gives the English sentence (for the CLI and logs)."""

    def __init__(self, msgid: str, *, field: str = "", **values: object) -> None:
        self.msgid = msgid
        self.field = field
        self.values = values
        super().__init__(msgid % values if values else msgid)


class NotFound(VoicesError):
    """Nothing of that id exists for this person (whether it does not exist at all, or belongs to someone else,
    is never told apart)."""


class Refusals(VoicesError):
    """Every problem of a form at once, so the person fixes them in one go."""

    def __init__(self, problems: list[Refusal]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))
