"""The screen and the state agree (issue 12): with a channel that reports deliveries, a typed answer or /skip
applies to the question last delivered to the person, and to no other; the replies of every input are in the
outbox, written with the state change."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

from config.settings import Secrets
from consultations import lifecycle
from consultations.interactions import Do
from consultations.service import ConversationService
from flows.events import Command
from flows.loader import shipped_library
from storage import outbox
from storage.database import Database
from storage.models import Answer, OutboxMessage
from tests.consultations.chat import Chat

CODE = "SCREEN1"


@pytest.fixture
async def service(database: Database, secrets: Secrets) -> AsyncIterator[ConversationService]:
    library = shipped_library()
    new = lifecycle.plan(library, flow_id="roadmap_feedback", country="KE", title="Screen")
    await lifecycle.open_consultation(database, new, code=CODE)
    yield ConversationService(database, library, secrets, delivery_reports=True)


async def deliver(database: Database, service: ConversationService) -> int:
    """What a channel's sender does: claim every due row, 'send' it, mark it sent. Returns how many."""
    count = 0
    while True:
        async with database.transaction() as session:
            rows = await outbox.claim(session, service.keys, "test", 50)
        if not rows:
            return count
        for row in rows:
            async with database.transaction() as session:
                await outbox.mark_sent(session, row.id, "test", [10_000 + row.id])
        count += len(rows)


async def answers(database: Database) -> dict[str, bool]:
    async with database.reader() as session:
        return {a.question_id: a.skipped for a in (await session.exec(select(Answer))).all()}


async def test_a_skip_for_a_question_not_yet_delivered_gets_the_question_again(
    service: ConversationService, database: Database
) -> None:
    chat = Chat(service, identity=8_800_001)
    await chat.start(CODE)
    await chat.choose("I agree")
    await chat.choose("25 to 34")  # now at "group", not delivered yet
    skipped = await chat.send(Do(Command.SKIP))
    assert [r.step for r in skipped.replies] == [2]  # the current question ("group") again
    assert "group" not in await answers(database)  # nothing recorded
    assert await deliver(database, service) >= 3
    await chat.send(Do(Command.SKIP))  # "group" is on screen now: the skip applies to it
    assert (await answers(database))["group"] is True


async def test_every_reply_is_in_the_outbox_encrypted(service: ConversationService, database: Database) -> None:
    chat = Chat(service, identity=8_800_002)
    await chat.start(CODE)
    async with database.reader() as session:
        [row] = (await session.exec(select(OutboxMessage))).all()
    assert row.payload_cipher is not None and b"survey" not in row.payload_cipher
    assert str(chat.identity).encode() not in row.payload_cipher
    async with database.transaction() as session:
        [claimed] = await outbox.claim(session, service.keys, "test", 5)
    assert claimed.payload["chat"] == chat.identity and "survey" in claimed.payload["reply"]["text"]
