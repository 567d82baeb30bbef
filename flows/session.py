"""The serialisable state of one participant's run through a flow (no identity, no free text)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum


class Status(StrEnum):
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

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("state")
        data.pop("language")
        data.pop("status")
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

    @property
    def finished(self) -> bool:
        return self.status in (Status.COMPLETED, Status.DECLINED)

    @property
    def live(self) -> bool:
        """Answering now (not paused, stopped, expired or finished)."""
        return self.status in (Status.NEW, Status.ACTIVE)
