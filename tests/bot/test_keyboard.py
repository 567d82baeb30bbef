"""How neutral replies look in Telegram: the layout of options and controls, and notices said with "buttons"."""

from __future__ import annotations

import pytest

from bot.callback_data import decode
from bot.keyboard import CHECK, render, words
from consultations.interactions import Answer, ConfirmDelete, Option, Reply
from flows.events import Notice


def options(*labels: str, numbered: bool = True) -> tuple[Option, ...]:
    return tuple(
        Option(label, Answer("CODE", 3, str(i)), i + 1 if numbered else None) for i, label in enumerate(labels)
    )


def labels(reply: Reply) -> list[list[str]]:
    return [[label for label, _ in row] for row in render(reply).keyboard]


def test_short_labels_go_two_to_a_row_and_controls_one_group_per_row() -> None:
    skip = (Option("Skip", Answer("CODE", 3, "s")),)
    way_out = (Option("Exit and clear chat", Answer("CODE", 3, "x")),)
    reply = Reply("Colour?", options=options("Red", "Blue", "Green"), controls=(skip, way_out))
    assert labels(reply) == [["Red", "Blue"], ["Green"], ["Skip"], ["Exit and clear chat"]]
    assert render(reply).text == "Colour?"


def test_numbers_go_five_to_a_row() -> None:
    reply = Reply("How much?", options=options(*(str(n) for n in range(0, 11)), numbered=False))
    assert labels(reply) == [["0", "1", "2", "3", "4"], ["5", "6", "7", "8", "9"], ["10"]]


def test_labels_too_long_for_a_button_are_listed_by_number() -> None:
    long = "A rather long label that will not fit well on a phone button at all"
    reply = Reply("Colour?\n\nPick one.", options=options("Red", "Blue", long))
    shown = render(reply)
    assert shown.text == f"Colour?\n\nPick one.\n\n1. Red\n2. Blue\n3. {long}"
    assert labels(reply) == [["1", "2", "3"]]
    assert [decode(data) for _, data in shown.keyboard[0]] == [Answer("CODE", 3, str(i)) for i in range(3)]


def test_middle_length_labels_get_a_row_each_and_ticked_options_a_check_mark() -> None:
    picked = (Option("Children in school", Answer("C", 1, "0"), 1, selected=True), *options("Fair jobs and pay")[:1])
    assert labels(Reply("Which?", options=picked)) == [[f"{CHECK}Children in school"], ["Fair jobs and pay"]]


def test_every_button_carries_its_action() -> None:
    reply = Reply("Delete?", options=(Option("Yes, delete everything", ConfirmDelete(True)),))
    [[(_, data)]] = render(reply).keyboard
    assert decode(data) == ConfirmDelete(True)


@pytest.mark.parametrize("notice", list(Notice))
def test_every_notice_has_telegram_words_in_every_language(notice: Notice) -> None:
    english = words(notice, "en")
    assert english and render(Reply(language="en", notice=notice)).text == english
    assert words(notice, "fr") != english  # translated


def test_notices_name_the_buttons() -> None:
    assert words(Notice.USE_THE_OPTIONS, "en") == "Please use the buttons below."
    assert words(Notice.TEXT_AND_CHOICES_ONLY, "en") == "Sorry, I can only read text and buttons here."
    assert words(Notice.QUESTION_ABOVE, "en").endswith("Please answer the question above.")
