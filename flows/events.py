"""Inputs the engine accepts and events it returns; the adapter turns them into channel actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

MAX_STEPS = 10_000
"""Steps per flow. A choice names its step by index (0 to 9,999): every channel must be able to carry it back."""
MAX_TOKEN_LENGTH = 4
"""A choice's token (an option's index, `s` skip, `d` done, `p3` a page...) has at most this many characters,
all of `a-z0-9`: small enough for any channel's button data (Telegram's callback data is 64 bytes)."""

# ---- inputs (neutral: no Telegram here) ----


@dataclass(frozen=True)
class Start:
    """The participant opened (or re-opened) the consultation."""


@dataclass(frozen=True)
class TextInput:
    text: str = field(repr=False)


@dataclass(frozen=True)
class ChoiceInput:
    """A choice made (a button pressed, a list item picked): the step it belongs to and the choice's token
    (an option's index, 's' skip, 'd' done, 'y'/'n')."""

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


@dataclass(frozen=True)
class Terms:
    """What the consent message tells about the consultation a flow runs in, which the flow file cannot know:
    who runs it and how long answers are kept. The caller gives it with each input."""

    retention_days: int
    organisation: str | None = None
    min_cell: int = 10
    """k: no total smaller than this is ever shown (the consultation's threshold)."""


@dataclass(frozen=True)
class QuestionCount:
    """How many questions a flow asks: `number`, or at most that many when some are asked only after certain
    answers (`at_most`). Counted from the flow, never written by hand in a text that could drift from it."""

    number: int
    at_most: bool = False


# ---- events (what happened; the adapter acts on them) ----


@dataclass(frozen=True)
class Choice:
    """Something the participant can choose: an answer option, or a control (skip, done, a page, exit).

    `token` comes back in a ChoiceInput. `number`, when set, is what the participant may type instead (its
    place in the whole list); `selected` marks an option already ticked in a multiple choice. How a choice is
    shown (a button, a numbered line, a list item) is the channel's business."""

    label: str
    token: str
    number: int | None = None
    selected: bool = False


@dataclass(frozen=True)
class ShowMessage:
    """Show a message. `options` are the answers offered (one page of a long list), in order; `controls` are
    groups of controls that belong together (the pages, done and skip, the exit), in order. `step_index` is set
    when the choices belong to a step; `replace` asks the adapter to update the message the participant just
    chose from instead of sending a new one."""

    text: str
    options: tuple[Choice, ...] = ()
    controls: tuple[tuple[Choice, ...], ...] = ()
    step_index: int | None = None
    replace: bool = False

    @property
    def choices(self) -> tuple[Choice, ...]:
        """Every choice on the message: the options, then the controls."""
        return (*self.options, *(choice for group in self.controls for choice in group))


class Notice(StrEnum):
    """Something the participant is told that a channel words its own way (buttons, a list, a keypad...)."""

    USE_THE_OPTIONS = "use_the_options"  # the answer must be one of the options
    CHOOSE_OR_TYPE_NUMBER = "choose_or_type_number"  # one of the options, or its number typed
    CHOOSE_THEN_DONE = "choose_then_done"  # options of a multiple choice (or their numbers), then Done
    AGREE_OR_NOT_NOW = "agree_or_not_now"  # the consent: agree or not now
    WRITE_OR_SKIP = "write_or_skip"  # an empty written answer: write something, or skip
    TEXT_AND_CHOICES_ONLY = "text_and_choices_only"  # a sticker, photo, voice note... cannot be read
    QUESTION_ABOVE = "question_above"  # ...and the question is already on screen: answer it there
    UNKNOWN_COMMAND = "unknown_command"  # a command we do not have; the question is already on screen
    EARLIER_QUESTION = "earlier_question"  # a choice from an earlier message: nothing changed


@dataclass(frozen=True)
class ShowNotice:
    """Show a notice, in the channel's words (see Notice)."""

    notice: Notice


@dataclass(frozen=True)
class AnswerRecorded:
    question_id: str
    codes: tuple[str, ...] | None = None
    text: str | None = field(default=None, repr=False)
    skipped: bool = False
    limit: int | None = None
    """Keep at most this many characters of `text`, cut after it is redacted (an e-mail address or a phone
    number cut in two by the limit would no longer be recognised, and its first part be kept)."""


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
    | ShowNotice
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
