"""What a channel adapter hands the core, and what it gets back: plain, serialisable data, no channel objects.

In: who sent it (`Sender`) and what they did (`Incoming`). A choice comes back as the neutral `Action` the core put
on it; the adapter encodes actions into its own button data and decodes them back (bot/callback_data.py).
Out: an `Outcome`: replies (text or a notice the channel words itself, options and controls that carry actions),
messages to delete (the safe exit), a note for a pressed choice. The chat to answer stays with the adapter.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from typing import Any

from config.errors import VoicesError
from flows.events import Command, Notice

# ---- actions: what a choice does when it is made ----


@dataclass(frozen=True)
class Answer:
    """A choice of a flow step. `scope` names the consultation: its code, or (on the consent message, before
    the person has a session) the invite code they came with. `step` is the step's index, `token` the choice's.

    On the consent message, before anything is stored, the choice itself carries what the core must know when
    the person agrees: `language`, the one the consent was shown in, and `seal`, the core's proof that this
    person was shown this consent (a press made up without /start has none, and is refused)."""

    scope: str
    step: int
    token: str
    language: str = ""
    seal: str = ""


@dataclass(frozen=True)
class ChooseLanguage:
    """Use `language`; `scope` names the consultation whose languages were offered ("" for none)."""

    language: str
    scope: str


@dataclass(frozen=True)
class PickLanguage:
    """Show the languages of the consultation named by `scope` ("" for every language there is)."""

    scope: str


@dataclass(frozen=True)
class ConfirmDelete:
    """The answer to "delete everything you gave?"."""

    erase: bool


@dataclass(frozen=True)
class ResultsOptIn:
    """ "Tell me when the results are out" for the consultation with this code."""

    code: str


@dataclass(frozen=True)
class ShowPrivacy:
    """The privacy notice of the consultation named by `scope` (its code, or an invite code), in `language`:
    on the consent message, before the person has a session that would name it."""

    scope: str
    language: str


@dataclass(frozen=True)
class LeaveChat:
    """ "Exit and clear chat": the safe exit, from any message, however old."""


Action = Answer | ChooseLanguage | PickLanguage | ConfirmDelete | ResultsOptIn | ShowPrivacy | LeaveChat
ACTIONS: dict[str, type[Action]] = {
    "answer": Answer,
    "language": ChooseLanguage,
    "languages": PickLanguage,
    "delete": ConfirmDelete,
    "results": ResultsOptIn,
    "privacy": ShowPrivacy,
    "exit": LeaveChat,
}
"""Every action type by a stable name (serialised outcomes say which one an option carries)."""
KIND_OF: dict[type[Action], str] = {kind: name for name, kind in ACTIONS.items()}
ACTION_FIELDS: dict[type[Action], tuple[str, ...]] = {
    kind: tuple(f.name for f in dataclass_fields(kind)) for kind in ACTIONS.values()
}

# ---- in ----


@dataclass(frozen=True)
class Sender:
    """Who sent an input, as the channel knows them.

    `identity` (the channel's user id) only derives the pseudonym, and is stored (encrypted, apart from any
    answer) when the person asks to hear about the results: in a private Telegram chat it is where to write.
    `message_id` is the input's message, or the message a choice was made on, kept for the safe exit."""

    identity: int = field(repr=False)
    language_code: str | None = None
    message_id: int | None = None


@dataclass(frozen=True)
class Begin:
    """`/start` with the invite code from the deep link, if any (also `/resume`, without a code)."""

    code: str | None


@dataclass(frozen=True)
class Press:
    """A choice made. `action` is None when the channel could not read it (an old or foreign button)."""

    action: Action | None


@dataclass(frozen=True)
class Said:
    text: str = field(repr=False)


@dataclass(frozen=True)
class Do:
    command: Command


@dataclass(frozen=True)
class Other:
    """Something that is not text or a choice (a sticker, a photo, an unknown command); `kind` names it."""

    kind: str


@dataclass(frozen=True)
class AskHelp:
    """`/help`: what this is, the commands, where to get support."""


@dataclass(frozen=True)
class AskLanguage:
    """`/language`: show the languages this person can use."""


@dataclass(frozen=True)
class AskPrivacy:
    """`/privacy`: what is stored, where, for how long, who sees it."""


@dataclass(frozen=True)
class Exit:
    """`/exit`: the safe exit: delete the chat, end the session."""


@dataclass(frozen=True)
class AskDelete:
    """`/delete`: erase everything the person gave (after a confirmation)."""


@dataclass(frozen=True)
class AskMyData:
    """`/mydata`: show what is stored about the person (the access right)."""


@dataclass(frozen=True)
class AskResults:
    """`/results`: what came of the consultation the person took part in (its latest publication)."""


Incoming = (
    Begin | Press | Said | Do | Other | AskHelp | AskLanguage | AskPrivacy | Exit | AskDelete | AskMyData | AskResults
)

UNSTORABLE = re.compile("[\\x00\\ud800-\\udfff]")
"""What a client can send and not everything can carry: a UTF-16 surrogate on its own (JSON can carry `\\ud800`,
UTF-8 cannot, so every encode, a log line, a database parameter, encryption, a reply, would fail on it), and
NUL (PostgreSQL's text cannot hold it: an invite code looked up with one in it would fail)."""


def well_formed(incoming: Incoming) -> Incoming:
    """The input with every such character in its text replaced by U+FFFD (the replacement character), so that
    text always encodes and is stored, wherever it goes next."""
    if isinstance(incoming, Said) and UNSTORABLE.search(incoming.text):
        return Said(UNSTORABLE.sub("\ufffd", incoming.text))
    if isinstance(incoming, Begin) and incoming.code is not None and UNSTORABLE.search(incoming.code):
        return Begin(UNSTORABLE.sub("\ufffd", incoming.code))
    return incoming


def well_formed_sender(sender: Sender) -> Sender:
    """The sender with a language code that always encodes and is stored (it comes from the client too)."""
    code = sender.language_code
    if code is None or not UNSTORABLE.search(code):
        return sender
    return replace(sender, language_code=UNSTORABLE.sub("\ufffd", code))


# ---- out ----


@dataclass(frozen=True)
class Option:
    """A choice offered on a reply: its label, the action it triggers, the number the person may type instead
    (when set), and whether it is already ticked (multiple choice)."""

    label: str
    action: Action
    number: int | None = None
    selected: bool = False


@dataclass(frozen=True)
class Reply:
    """One message to show. Its words are `text`, or, when `notice` is set, the channel's own words for it (in
    `language`). `options` are the answers offered, in order; `controls` are groups of controls that belong
    together (pages, done and skip, the exit, the language...), in order. `replace`: update the message the
    choice was made on instead of sending a new one. How options become buttons is the channel's business.
    `step`: the index of the flow step this message asks (None when it asks none), so that what the person
    types is taken as the answer to the question last delivered to them, and to no other."""

    text: str = ""
    language: str = "en"
    notice: Notice | None = None
    options: tuple[Option, ...] = ()
    controls: tuple[tuple[Option, ...], ...] = ()
    replace: bool = False
    step: int | None = None

    @property
    def choices(self) -> tuple[Option, ...]:
        """Every option and control, in order."""
        return (*self.options, *(option for group in self.controls for option in group))


@dataclass
class Outcome:
    """What the adapter does for one input: delete `delete_ids` (the safe exit), then send `replies` in order;
    `note` is shown on the choice that was made (e.g. an earlier question's); `language` is the person's, for
    the adapter's own words. `duplicate`: the input was already handled (a redelivered update): do nothing."""

    replies: list[Reply] = field(default_factory=list)
    note: Notice | None = None
    language: str = "en"
    duplicate: bool = False
    delete_ids: list[int] = field(default_factory=list)

    def to_json(self) -> str:
        """The outcome as JSON (e.g. to keep it until it is sent)."""
        data = {
            "replies": [reply_data(reply) for reply in self.replies],
            "note": self.note,
            "language": self.language,
            "duplicate": self.duplicate,
            "delete_ids": list(self.delete_ids),
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Outcome:
        data = json.loads(text)
        return cls(
            replies=[_reply(r) for r in data["replies"]],
            note=Notice(data["note"]) if data["note"] else None,
            language=data["language"],
            duplicate=data["duplicate"],
            delete_ids=[int(i) for i in data["delete_ids"]],
        )


def reply_data(reply: Reply) -> dict[str, Any]:
    """One reply as plain JSON-ready data (kept in the outbox until it is sent); `reply_from_data` reads it back.
    Written out field by field: `dataclasses.asdict` deep-copies every value, at a cost on every update."""
    return {
        "text": reply.text,
        "language": reply.language,
        "notice": reply.notice,
        "options": [_option_data(option) for option in reply.options],
        "controls": [[_option_data(option) for option in group] for group in reply.controls],
        "replace": reply.replace,
        "step": reply.step,
    }


def _option_data(option: Option) -> dict[str, Any]:
    action = option.action
    fields = {name: getattr(action, name) for name in ACTION_FIELDS[type(action)]}
    return {
        "label": option.label,
        "action": {"kind": KIND_OF[type(action)], **fields},
        "number": option.number,
        "selected": option.selected,
    }


def reply_from_data(data: dict[str, Any]) -> Reply:
    return _reply(data)


class OutcomeError(VoicesError):
    """A serialised outcome that cannot be read back (a bug, or a foreign value)."""


def _option(data: dict[str, Any]) -> Option:
    fields = dict(data["action"])
    kind = ACTIONS.get(fields.pop("kind"))
    if kind is None:
        raise OutcomeError(f"unknown action in a stored outcome: {data['action']!r}")
    return Option(data["label"], kind(**fields), data["number"], data["selected"])


def _reply(data: dict[str, Any]) -> Reply:
    return Reply(
        text=data["text"],
        language=data["language"],
        notice=Notice(data["notice"]) if data["notice"] else None,
        options=tuple(_option(o) for o in data["options"]),
        controls=tuple(tuple(_option(o) for o in group) for group in data["controls"]),
        replace=data["replace"],
        step=data.get("step"),
    )
