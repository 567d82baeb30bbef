"""The serialisable state of one participant's run through a flow (no identity, no free text)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    DECLINED = "declined"


@dataclass
class SessionState:
    """Where a participant is. `choices` holds choice codes only (for conditions); free text never."""

    state: str
    language: str
    status: Status = Status.NEW
    selections: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    choices: dict[str, list[str]] = field(default_factory=dict)

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
        )

    @property
    def finished(self) -> bool:
        return self.status in (Status.COMPLETED, Status.DECLINED)
