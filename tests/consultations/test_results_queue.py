"""The results message is written under each person's lock, as their own updates are (SQLite and PostgreSQL):
it cannot be written in between an update of theirs reading the outbox and writing its reply, nor to someone
whose erasure came first."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import col, select

from consultations import results
from storage import outbox
from storage import privacy_ops as ops
from storage import repository as repo
from storage.database import Database
from storage.models import Consultation, OutboxMessage
from storage.privacy import KeyRing
from tests.storage.test_repository import make_consultation, make_session

RING = KeyRing([("k1", bytes(range(32)))])
PSEUDONYM = "a" * 64
CHAT_ID = 7_300_123_456


async def opted_in(database: Database, pseudonyms: list[str]) -> Consultation:
    consultation_id = await make_consultation(database)
    for index, pseudonym in enumerate(pseudonyms):
        row = await make_session(database, consultation_id, pseudonym=pseudonym)
        async with database.transaction(lock_key=pseudonym) as session:
            await ops.opt_in_results(session, row.participant_id, consultation_id, CHAT_ID + index, RING)
    async with database.reader() as session:
        consultation = await repo.consultation_by_id(session, consultation_id)
    assert consultation is not None
    return consultation


async def kinds(database: Database, chat_key: str) -> list[str]:
    async with database.reader() as session:
        query = select(OutboxMessage.kind).where(OutboxMessage.chat_key == chat_key).order_by(col(OutboxMessage.id))
        return list((await session.exec(query)).all())


def queue(database: Database, consultation: Consultation) -> asyncio.Task[int]:
    return asyncio.create_task(results.queue_results(database, RING, consultation, lambda language: "out"))


async def test_the_results_message_waits_for_an_update_being_answered(database: Database) -> None:
    """An update holds the person's lock from reading the outbox to writing its reply: the results message
    queued meanwhile comes after that reply, never in between."""
    consultation = await opted_in(database, [PSEUDONYM])
    async with database.transaction(lock_key=PSEUDONYM) as session:
        task = queue(database, consultation)
        await asyncio.sleep(0.3)
        assert not task.done()
        reply = outbox.Item(outbox.SEND, {"chat": CHAT_ID, "reply": {"text": "the next question"}})
        await outbox.enqueue(session, RING, PSEUDONYM, 1, [reply])
    assert await task == 1
    assert await kinds(database, PSEUDONYM) == [outbox.SEND, outbox.RESULTS]


async def test_an_erasure_that_came_first_is_not_written_to(database: Database) -> None:
    consultation = await opted_in(database, [PSEUDONYM])
    async with database.transaction(lock_key=PSEUDONYM) as session:
        assert (await ops.erase_participant(session, PSEUDONYM)).found
        task = queue(database, consultation)
        await asyncio.sleep(0.3)  # it has seen the opt-in, not yet deleted for it
    assert await task == 0
    assert await kinds(database, PSEUDONYM) == []


async def test_every_opt_in_is_written_once_a_chunk_at_a_time(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(results, "CHUNK", 2)
    people = [letter * 64 for letter in "edcba"]
    consultation = await opted_in(database, people)
    assert await queue(database, consultation) == 5
    for pseudonym in people:
        assert await kinds(database, pseudonym) == [outbox.RESULTS]
    async with database.reader() as session:
        assert await ops.opt_in_count(session, consultation.id or 0) == 0
        rows = (await session.exec(select(OutboxMessage.chat_key).order_by(col(OutboxMessage.id)))).all()
    assert list(rows) == people  # oldest request first
    assert await queue(database, consultation) == 0
