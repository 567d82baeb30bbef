"""Issue 8: stop the sandbox and the bot, start them again on the same data, and the conversation goes on.

Before the fix the restarted emulator counted update ids from 1 again; the bot, which remembers the update
ids it processed, dropped every message as a duplicate and stayed silent.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestServer
from sqlmodel import select

from config.settings import SANDBOX_TOKEN, Secrets
from sandbox import Emulator, create_sandbox_app
from storage.database import Database
from storage.models import Answer, ProcessedUpdate
from tests.e2e.conftest import CODE, Harness, labels


async def start(database: Database, secrets: Secrets, state_dir: Path) -> Harness:
    """The sandbox (keeping its counters in `state_dir`, as `make run` does in the data directory) and the bot."""
    emulator = Emulator(token=SANDBOX_TOKEN, state_dir=state_dir)
    server = TestServer(create_sandbox_app(emulator), host="127.0.0.1")
    await server.start_server()
    harness = Harness(emulator, server, database, secrets)
    await harness.start_bot()
    return harness


async def stop(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.server.close()


def question_again(h: Harness, user_id: int, text: str | None) -> bool:
    last = h.emulator.last_bot_message(user_id)
    return last is not None and last.text == text


async def test_the_conversation_goes_on_after_the_sandbox_restarts(
    sqlite_database: Database, secrets: Secrets, tmp_path: Path
) -> None:
    h = await start(sqlite_database, secrets, tmp_path)
    try:
        await h.create_consultation()
        user = h.user("Amina")
        [consent] = await h.send(user, f"/start {CODE}")
        group = await h.agree(user, consent)
        assert group.text and group.text.startswith("Which group are you part of?")
        old_ids = {m.message_id for m in h.emulator.history(user.id)}
    finally:
        await stop(h)
    async with sqlite_database.reader() as session:
        processed = {row.update_id for row in (await session.exec(select(ProcessedUpdate))).all()}
    assert processed

    h = await start(sqlite_database, secrets, tmp_path)
    try:
        h.emulator.add_user(user)  # the chat page registers its user again
        h.emulator.user_sends_text(user, "/start")
        # not silence: the same question again, where Amina left off (after a word of welcome)
        await h.emulator.wait_until(lambda: question_again(h, user.id, group.text), chat_id=user.id)
        again = h.emulator.last_bot_message(user.id)
        assert again is not None and again.buttons
        h.emulator.mark(user.id)
        assert min(m.message_id for m in h.emulator.history(user.id)) > max(old_ids)
        [awareness] = await h.press(user, again, "A person with lived experience")
        assert awareness.text and awareness.text.startswith("Have you heard")
        assert "Skip" in labels(awareness)
    finally:
        await stop(h)
    async with sqlite_database.reader() as session:
        answers = {a.question_id: a.choice_codes for a in (await session.exec(select(Answer))).all()}
        now_processed = {row.update_id for row in (await session.exec(select(ProcessedUpdate))).all()}
    assert answers["group"] == "survivor"
    assert min(now_processed - processed) > max(processed)  # the new updates were new to the bot
