"""Three workers sharing one PostgreSQL database (as three webhook processes would): every reply is sent once,
each person's replies in order, and the work is shared (issue 12)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlmodel import select

from bot.telegram import BotApplication, build_application, outbox_sender
from config.settings import SANDBOX_TOKEN, Secrets
from consultations.service import ConversationService
from sandbox import Emulator, create_sandbox_app
from sandbox.faults import ServerError, TooManyRequests
from storage.database import Database
from storage.models import Answer, ConversationSession
from tests.conftest import _drop_postgres_database, open_database
from tests.e2e.conftest import Harness
from tests.e2e.test_outbox import converse

pytestmark = pytest.mark.postgres
WORKERS = 3


@pytest.fixture
async def shared(tmp_path: Path, secrets: Secrets) -> AsyncIterator[tuple[Harness, list[BotApplication]]]:
    """A polling bot (it receives the updates) and two more Applications on their own engines of the same
    PostgreSQL database, receiving nothing: only their outbox senders run, competing for the rows."""
    database, name = await open_database("postgresql", tmp_path)
    emulator = Emulator(token=SANDBOX_TOKEN)
    server = TestServer(create_sandbox_app(emulator), host="127.0.0.1")
    await server.start_server()
    harness = Harness(emulator, server, database, secrets)
    await harness.create_consultation()
    await harness.start_bot()
    others: list[tuple[Database, BotApplication]] = []
    for _ in range(WORKERS - 1):
        engine = Database(database.url)
        service = ConversationService(engine, harness.library, secrets, delivery_reports=True)
        application = build_application(service, token=SANDBOX_TOKEN, base_url=harness.base_url)
        await application.initialize()
        await application.start()
        others.append((engine, application))
    try:
        assert harness.application is not None
        yield harness, [harness.application, *(application for _, application in others)]
    finally:
        for engine, application in others:
            await application.stop()
            await application.shutdown()
            await engine.dispose()
        await harness.stop_bot()
        await server.close()
        await database.dispose()
        if name is not None:
            await _drop_postgres_database(name)


async def ask_for_help(h: Harness, applications: list[BotApplication], people: int, times: int) -> list[int]:
    """`people` each send /help `times` times through a slow, failing Bot API; every reply arrives once, each
    chat's in order. How many rows each worker delivered."""
    users = [h.user(f"Person {i}") for i in range(people)]
    h.emulator.faults.slow("sendMessage", (0.0, 0.3))
    h.emulator.faults.fail("sendMessage", ServerError(502), probability=0.1)
    for _ in range(times):
        for user in users:
            h.emulator.user_sends_text(user, "/help")
    for user in users:
        messages = await h.emulator.wait_for_bot_messages(user.id, 2 * times, timeout=90)
        for commands, resources in zip(messages[0::2], messages[1::2], strict=True):
            assert commands.text and "/exit" in commands.text
            assert resources.text and resources.text.startswith("If you need help or support")
    await outbox_sender(applications[-1]).drain(within=60)
    for user in users:
        assert len(h.emulator.bot_messages(user.id)) == 2 * times  # none sent twice
    return [outbox_sender(application).delivered for application in applications]


async def test_three_workers_send_every_reply_once_and_in_order(
    shared: tuple[Harness, list[BotApplication]],
) -> None:
    h, applications = shared
    counts = await ask_for_help(h, applications, people=6, times=4)
    assert sum(counts) == 48, counts  # each once; who sends which is a race (the next test shows the sharing)


async def test_rows_the_receiving_worker_cannot_send_are_sent_by_the_others(
    shared: tuple[Harness, list[BotApplication]],
) -> None:
    """The worker that took the updates sends nothing (its sender stopped, as when it is busy or going away):
    its rows are written unleased and the other workers claim and send them, each once, each chat in order."""
    h, applications = shared
    await outbox_sender(applications[0]).stop()
    counts = await ask_for_help(h, applications, people=4, times=3)
    assert counts[0] == 0 and sum(counts) == 24, counts


async def test_scripted_conversations_on_three_workers_under_faults(
    shared: tuple[Harness, list[BotApplication]],
) -> None:
    """Conversations at once, with a slow and failing Bot API: every one completes, every answer recorded once."""
    h, applications = shared
    h.emulator.faults.slow(["sendMessage", "editMessageText"], (0.0, 0.1))
    h.emulator.faults.fail(["sendMessage", "editMessageText"], ServerError(500), probability=0.05)
    h.emulator.faults.fail("sendMessage", TooManyRequests(retry_after=1), times=2)
    people = 20
    await asyncio.gather(*(converse(h, i) for i in range(people)))
    await outbox_sender(applications[0]).drain(within=60)
    async with h.database.reader() as session:
        sessions = (await session.exec(select(ConversationSession))).all()
        answers = (await session.exec(select(Answer))).all()
    assert len(sessions) == people and all(s.status == "completed" for s in sessions)
    assert len(answers) == people * 8  # the consent, the age band and six questions each, once
    for user in h.emulator.users():
        texts = [m.text or "" for m in h.emulator.bot_messages(user.id)]
        assert len(texts) == 9, texts  # consent, age, six questions, thanks: nothing twice, nothing lost
