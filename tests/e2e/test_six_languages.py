"""A participant completes roadmap_feedback in each of the six shipped languages, switching language mid-flow."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from bot.callback_data import decode
from consultations.interactions import Answer
from consultations.texts import language_name
from flows.loader import shipped_library
from storage import repository as repo
from storage.models import ConversationSession
from tests.e2e.conftest import Harness, labels

LANGUAGES = ["en", "fr", "es", "pt", "ar", "sw"]
ARABIC = re.compile(r"[\u0600-\u06FF]")
LATIN = re.compile(r"[A-Za-z]")
COMMAND = re.compile(r"/[a-z]+")


def latin_leftovers(text: str) -> str:
    return "".join(LATIN.findall(COMMAND.sub("", text)))


def step_token(data: str) -> str | None:
    """The token of a flow step's choice carried by a button (None for other buttons)."""
    action = decode(data)
    return action.token if isinstance(action, Answer) else None


async def press_token(h: Harness, user: object, message: object, token: str) -> None:
    data = next(b["callback_data"] for b in message.buttons if step_token(str(b["callback_data"])) == token)  # type: ignore[attr-defined]
    h.emulator.user_presses(user, message.message_id, str(data))  # type: ignore[arg-type, attr-defined]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_complete_roadmap_feedback_in_each_language(harness: Harness, language: str) -> None:
    h = harness
    flow = shipped_library().latest("roadmap_feedback")
    assert set(LANGUAGES) <= set(flow.languages)
    async with h.database.transaction() as session:
        await repo.create_consultation(
            session,
            code="SIX",
            title="Six",
            country="KE",
            flow_id=flow.id,
            flow_version=flow.version,
            languages=LANGUAGES,
            default_language="en",
        )
    user = h.user(language=language)
    [consent] = await h.send(user, "/start SIX")
    seen = [consent]
    await press_token(h, user, consent, "y")
    [age] = await h.emulator.wait_for_bot_messages(user.id, 1)
    await press_token(h, user, age, "2")
    [message] = await h.emulator.wait_for_bot_messages(user.id, 1)
    seen += [age, message]
    # switch to another language in the middle, then back: the question comes again in each, nothing is lost
    other = "ar" if language != "ar" else "sw"
    [picker] = await h.send(user, "/language")
    [again] = await h.press(user, picker, language_name(other))
    assert again.text != message.text
    [picker] = await h.send(user, "/language")
    [message] = await h.press(user, picker, language_name(language))
    seen.append(message)
    while True:
        tokens = [step_token(str(b["callback_data"])) for b in message.buttons]
        if "t0" in tokens or "0" in tokens:  # a multiple choice's option ticks ("t0"), a single choice's answers
            await press_token(h, user, message, "t0" if "t0" in tokens else "0")
            if "d" in tokens:  # multiple choice: the tick edits in place, then Done
                pressed = message.message_id
                await h.emulator.wait_until(
                    lambda pressed=pressed: any(  # type: ignore[misc]
                        label.startswith("✅") for label in labels(h.emulator.message(user.id, pressed))
                    )
                )
                await press_token(h, user, message, "d")
        else:
            h.emulator.user_sends_text(user, "Elimu kwa watoto wote" if language == "sw" else "…")
        [message] = await h.emulator.wait_for_bot_messages(user.id, 1)
        seen.append(message)
        if not message.buttons or any(str(b["callback_data"]).startswith("res:") for b in message.buttons):
            break
    async with h.database.reader() as session:
        [row] = (await session.exec(select(ConversationSession))).all()
    assert row.status == "completed" and row.language == language
    if language == "ar":
        for shown in seen:
            assert shown.text and ARABIC.search(shown.text), shown.text
            assert latin_leftovers(shown.text) == "", shown.text
            for label in labels(shown):
                assert ARABIC.search(label) or label.isdigit() or label.startswith("🌐"), label
