"""The serialisable state of one participant's run through a flow (no identity, no free text)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import StrEnum


class Status(StrEnum):
    """Where a session is in its life. Only SessionState's methods below change it (the engine and the
    application core call them); storage only writes down what they decided."""

    NEW = "new"
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"  # /stop: ended for now, answers kept; /start continues
    EXPIRED = "expired"  # idle too long; answers kept; explained on return, /start continues
    COMPLETED = "completed"
    DECLINED = "declined"


@dataclass
class SessionState:
    """Where a participant is. `choices` holds answer codes and numbers for conditions (free text and dates
    only as a marker that they were given); `history` the questions answered, for /back; `page` the page of
    a long option list."""

    state: str
    language: str
    status: Status = Status.NEW
    selections: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    choices: dict[str, list[str]] = field(default_factory=dict)
    page: int = 0

    def copy(self) -> SessionState:
        """A copy that changing this state does not change (`copy.deepcopy` does the same, more slowly: it
        walks every value and keeps a memo of them). Every field is copied; the lists and dicts anew."""
        return replace(
            self,
            selections=list(self.selections),
            history=list(self.history),
            choices={k: list(v) for k, v in self.choices.items()},
        )

    def to_json(self) -> str:
        data = {"selections": self.selections, "history": self.history, "choices": self.choices, "page": self.page}
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_row(cls, state: str, language: str, status: str, context: str) -> SessionState:
        data = json.loads(context) if context else {}
        return cls(
            state=state,
            language=language,
            status=Status(status),
            selections=list(data.get("selections", [])),
            history=list(data.get("history", [])),
            choices={k: list(v) for k, v in data.get("choices", {}).items()},
            page=int(data.get("page", 0)),
        )

    # ---- status: every change of a session's status is one of these

    def begin(self) -> None:
        """The first answer was taken: a new session is now being answered."""
        if self.status is Status.NEW:
            self.status = Status.ACTIVE

    def resume(self) -> None:
        """Back after a pause, a stop or a quiet time: answering again."""
        if self.status in (Status.PAUSED, Status.STOPPED, Status.EXPIRED):
            self.status = Status.ACTIVE

    def pause(self) -> None:
        self.status = Status.PAUSED

    def stop(self) -> None:
        """/stop: ended for now, answers kept; /start continues."""
        self.status = Status.STOPPED

    def leave(self) -> None:
        """The safe exit: a session being answered or paused is stopped (answers kept); others stay as they are."""
        if self.status in (Status.ACTIVE, Status.PAUSED):
            self.stop()

    def expire(self) -> None:
        """Idle too long: closed, answers kept; /start continues."""
        self.status = Status.EXPIRED

    def complete(self) -> None:
        self.status = Status.COMPLETED

    def decline(self) -> None:
        """No consent, or under 18: the flow ends here."""
        self.status = Status.DECLINED

    @property
    def resumable(self) -> bool:
        """Paused, stopped or expired: a choice from the current question carries on."""
        return self.status in (Status.PAUSED, Status.STOPPED, Status.EXPIRED)

    @property
    def finished(self) -> bool:
        return self.status in (Status.COMPLETED, Status.DECLINED)

    @property
    def live(self) -> bool:
        """Answering now (not paused, stopped, expired or finished)."""
        return self.status in (Status.NEW, Status.ACTIVE)
