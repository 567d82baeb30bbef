"""A button press arrives with the whole message it was on, keyboard included; what the bot never reads (that
keyboard) is left out before python-telegram-bot makes objects of the update, and nothing else is changed."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.intake import read_update, slim

KEYBOARD = {"inline_keyboard": [[{"text": f"option {i}", "callback_data": f"C.{i}"}] for i in range(12)]}


def press(update_id: int) -> dict[str, Any]:
    chat = {"id": 42, "type": "private", "first_name": "A"}
    return {
        "update_id": update_id,
        "callback_query": {
            "id": "q1",
            "from": {"id": 42, "is_bot": False, "first_name": "A"},
            "chat_instance": "ci",
            "data": "C.3",
            "message": {
                "message_id": 7,
                "date": 1_700_000_000,
                "chat": chat,
                "from": {"id": 1, "is_bot": True, "first_name": "Bot"},
                "text": "A question?",
                "reply_markup": KEYBOARD,
            },
        },
    }


def test_a_press_is_read_without_the_keyboard_of_its_message() -> None:
    raw = press(5)
    update = Update.de_json(slim(raw), None)
    assert update is not None and update.callback_query is not None
    assert update.callback_query.data == "C.3"
    assert update.callback_query.message is not None and update.callback_query.message.message_id == 7
    assert update.callback_query.message.chat.id == 42
    assert getattr(update.callback_query.message, "reply_markup", None) is None
    assert raw["callback_query"]["message"]["reply_markup"] == KEYBOARD  # the payload received is left as it was


def test_other_updates_are_unchanged() -> None:
    text = {
        "update_id": 6,
        "message": {"message_id": 8, "date": 1, "chat": {"id": 42, "type": "private"}, "text": "hi"},
    }
    assert slim(text) == text
    odd = {"update_id": 9, "callback_query": {"id": "q", "message": "not an object"}}
    assert slim(odd) == odd


def test_polling_reads_each_update_on_its_own_and_slim() -> None:
    first = read_update(press(10), None)
    assert first is not None and first.callback_query is not None and first.callback_query.data == "C.3"
    assert getattr(first.callback_query.message, "reply_markup", None) is None
    unreadable = read_update({"update_id": 11, "message": {"date": "x"}}, None)
    assert unreadable == Update(11) and unreadable.message is None  # only its id: acknowledged, handled by nothing
    assert read_update({"message": {"date": "x"}}, None) is None and read_update("odd", None) is None
