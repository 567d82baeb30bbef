"""How a neutral reply looks in Telegram: its words (notices said with "buttons") and its inline keyboard.

Options are laid out so Telegram accepts them and a phone shows them whole: numbers five to a row, short labels
two to a row, longer ones one per row, and labels too long for a button listed by number in the message with
only their number on the button. Each group of controls (pages, done and skip, the exit...) is one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

from bot import callback_data
from config.i18n import t
from consultations.interactions import Option, Reply
from flows.events import Notice

SHORT_LABEL = 14
"""Labels up to this long go two to a row."""
LONG_LABEL = 40
"""A label longer than this is listed in the message and its button shows only its number."""
NUMBERS_PER_ROW = 5
CHECK = "✅ "
"""Marks an option already ticked in a multiple choice."""

Keyboard = tuple[tuple[tuple[str, str], ...], ...]
"""Rows of (label, callback_data)."""


@dataclass(frozen=True)
class Rendered:
    """A reply as Telegram shows it: the text, and the inline keyboard rows (empty for none)."""

    text: str
    keyboard: Keyboard = ()


def words(notice: Notice, language: str) -> str:
    """A notice in Telegram's words (it has buttons)."""
    if notice is Notice.USE_THE_OPTIONS:
        return t(language, "Please use the buttons below.")
    if notice is Notice.CHOOSE_OR_TYPE_NUMBER:
        return t(language, "Please choose one of the buttons below, or type its number.")
    if notice is Notice.CHOOSE_THEN_DONE:
        return t(language, "Please choose from the buttons below (or type a number), then press “Done”.")
    if notice is Notice.AGREE_OR_NOT_NOW:
        return t(language, "Please press “I agree” or “Not now” below.")
    if notice is Notice.WRITE_OR_SKIP:
        return t(language, "Please write your answer, or press “Skip”.")
    if notice is Notice.TEXT_AND_CHOICES_ONLY:
        return t(language, "Sorry, I can only read text and buttons here.")
    if notice is Notice.QUESTION_ABOVE:
        return t(language, "Sorry, I can only read text and buttons here. Please answer the question above.")
    if notice is Notice.UNKNOWN_COMMAND:
        return t(language, "Sorry, I do not know that command (/help lists them). Please answer the question above.")
    if notice is Notice.EARLIER_QUESTION:
        return t(language, "This button belongs to an earlier question.")
    assert_never(notice)


def render(reply: Reply) -> Rendered:
    """The text and keyboard of one reply."""
    text = words(reply.notice, reply.language) if reply.notice is not None else reply.text
    lines, rows = option_rows(reply.options)
    if lines:
        text = f"{text}\n\n" + "\n".join(lines)
    rows += [tuple(_button(option.label, option) for option in group) for group in reply.controls if group]
    return Rendered(text, tuple(rows))


def option_rows(options: tuple[Option, ...]) -> tuple[list[str], list[tuple[tuple[str, str], ...]]]:
    """Lines to add to the message (long labels listed by number) and the rows of option buttons."""
    labels = [CHECK + o.label if o.selected else o.label for o in options]
    if any(len(label) > LONG_LABEL for label in labels) and all(o.number is not None for o in options):
        lines = [f"{o.number}. {label}" for o, label in zip(options, labels, strict=True)]
        numbers = [_button(str(o.number), o) for o in options]
        return lines, _rows(numbers, NUMBERS_PER_ROW)
    buttons = [_button(label, o) for o, label in zip(options, labels, strict=True)]
    if all(label.removeprefix("-").isdigit() for label in labels):
        return [], _rows(buttons, NUMBERS_PER_ROW)
    if all(len(label) <= SHORT_LABEL for label in labels):
        return [], _rows(buttons, 2)
    return [], _rows(buttons, 1)


def _button(label: str, option: Option) -> tuple[str, str]:
    return label, callback_data.encode(option.action)


def _rows(buttons: list[tuple[str, str]], per_row: int) -> list[tuple[tuple[str, str], ...]]:
    return [tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]
