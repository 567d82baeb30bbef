"""Inputs the engine accepts and events it returns; the adapter turns them into channel actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

# ---- inputs (neutral: no Telegram here) ----


@dataclass(frozen=True)
class Start:
    """The participant opened (or re-opened) the consultation."""


@dataclass(frozen=True)
class TextInput:
    text: str = field(repr=False)


@dataclass(frozen=True)
class ChoiceInput:
    """A button press: the step it belongs to and the option token (index, 's' skip, 'd' done, 'y'/'n')."""

    step_index: int
    token: str


class Command(StrEnum):
    SKIP = "skip"
    BACK = "back"
    PAUSE = "pause"
    STOP = "stop"


@dataclass(frozen=True)
class CommandInput:
    command: Command


@dataclass(frozen=True)
class UnsupportedInput:
    """Something the engine cannot read (sticker, photo, voice...); `kind` is for the reply only."""

    kind: str


@dataclass(frozen=True)
class Timeout:
    """The session was idle longer than allowed; `hours` is for the explanation."""

    hours: int


Input = Start | TextInput | ChoiceInput | CommandInput | UnsupportedInput | Timeout

# ---- events (what happened; the adapter acts on them) ----


@dataclass(frozen=True)
class Button:
    label: str
    token: str


@dataclass(frozen=True)
class ShowMessage:
    """Show a message. `step_index` is set when its buttons belong to a step; `replace` asks the
    adapter to update the message the participant just pressed instead of sending a new one."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    step_index: int | None = None
    replace: bool = False


@dataclass(frozen=True)
class AnswerRecorded:
    question_id: str
    codes: tuple[str, ...] | None = None
    text: str | None = field(default=None, repr=False)
    skipped: bool = False


@dataclass(frozen=True)
class AnswerDiscarded:
    """An earlier answer no longer applies (its question is now skipped by a condition): delete it."""

    question_id: str


@dataclass(frozen=True)
class ConsentGiven:
    version: str


@dataclass(frozen=True)
class ConsentDeclined:
    pass


@dataclass(frozen=True)
class Underage:
    """The participant is under 18: the adapter erases what they gave and shows help resources only."""


@dataclass(frozen=True)
class ExitRequested:
    """The participant pressed "Exit and clear chat": the adapter runs the safe exit."""


@dataclass(frozen=True)
class FlowCompleted:
    pass


@dataclass(frozen=True)
class SessionPaused:
    pass


@dataclass(frozen=True)
class StaleInput:
    """A button of an earlier question or an old message: acknowledged, nothing changed."""


Event = (
    ShowMessage
    | AnswerRecorded
    | AnswerDiscarded
    | ConsentGiven
    | ConsentDeclined
    | Underage
    | ExitRequested
    | FlowCompleted
    | SessionPaused
    | StaleInput
)
