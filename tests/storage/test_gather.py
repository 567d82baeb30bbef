"""Writes gathered in a transaction (storage.gather): one statement on PostgreSQL, one each on SQLite; a statement
run after them sees them; a refused write fails the whole transaction (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlmodel import col, delete, select

from config.errors import StorageError
from storage import conversations, outbox, privacy_ops
from storage import repository as repo
from storage.database import Database
from storage.models import Answer, ConsentRecord, ConversationSession, OutboxMessage, SentMessage
from storage.privacy import KeyRing
from tests.consultations.test_statements import counted, transactions
from tests.storage.test_repository import make_consultation, make_session

KEYS = KeyRing([("k1", bytes(range(32)))])


async def test_a_turns_writes_are_one_statement_where_the_database_allows(database: Database) -> None:
    row = await make_session(database, await make_consultation(database))
    assert row.id is not None
    items = [outbox.Item(outbox.SEND, {"n": n}, row.id, n) for n in (1, 2, 3)]
    with counted(database) as statements:
        async with database.transaction() as session:
            await conversations.save_state(session, row, state="q2", status="active", language="fr", context="{}")
            await repo.upsert_answer(session, row, repo.AnswerValue("group", codes=("survivor", "other")))
            await privacy_ops.record_sent_message(session, row.participant_id, 501, from_bot=False)
            handed = await outbox.enqueue(session, KEYS, "chat", 9, items, lease_to="w0")
            conversations.set_shown_step(session, row, 3)
    [written] = transactions(statements)
    assert len(written) == (1 if database.dialect == "postgresql" else 4), written
    async with database.reader() as session:
        stored = (await session.exec(select(ConversationSession).where(ConversationSession.id == row.id))).one()
        answers = (await session.exec(select(Answer))).all()
        kept = (await session.exec(select(SentMessage))).all()
        rows = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.position)))).all()
    assert (stored.state, stored.language, stored.shown_step) == ("q2", "fr", 3)
    assert [(a.question_id, a.choice_codes) for a in answers] == [("group", "survivor other")]
    assert [(k.message_id, k.from_bot) for k in kept] == [(501, False)]
    assert [(r.id, r.position, r.step, r.lease_owner) for r in rows] == [
        (h.id, n - 1, n, "w0") for h, n in zip(handed, (1, 2, 3), strict=True)
    ]
    assert [h.payload for h in handed] == [{"n": 1}, {"n": 2}, {"n": 3}]  # in order, ids matched by position


async def test_a_statement_after_gathered_writes_sees_them(database: Database) -> None:
    row = await make_session(database, await make_consultation(database))
    async with database.transaction() as session:
        await repo.upsert_answer(session, row, repo.AnswerValue("group", codes=("survivor",)))
        await conversations.save_state(session, row, state="q3", status="active", language="en", context="{}")
        seen = await repo.answers_of_session(session, row.id or 0)
        state = (await session.exec(select(ConversationSession.state).where(ConversationSession.id == row.id))).one()
        await repo.upsert_answer(session, row, repo.AnswerValue("group", codes=("other",)))  # after: it wins
    assert [a.choice_codes for a in seen] == ["survivor"] and state == "q3"
    async with database.reader() as session:
        assert [a.choice_codes for a in await repo.answers_of_session(session, row.id or 0)] == ["other"]


async def test_an_answer_refused_among_gathered_writes_fails_them_all(database: Database) -> None:
    row = await make_session(database, await make_consultation(database))
    assert row.id is not None
    async with database.transaction() as session:
        await session.exec(delete(ConsentRecord))
    with pytest.raises(StorageError, match="without a consent record"):
        async with database.transaction() as session:
            await conversations.save_state(session, row, state="q9", status="active", language="en", context="{}")
            await repo.upsert_answer(session, row, repo.AnswerValue("group", codes=("survivor",)))
            await outbox.enqueue(session, KEYS, "chat", 10, [outbox.Item(outbox.SEND, {"n": 1})], lease_to="w0")
    async with database.reader() as session:
        stored = (await session.exec(select(ConversationSession).where(ConversationSession.id == row.id))).one()
        assert stored.state != "q9"
        assert (await session.exec(select(Answer))).all() == []
        assert (await session.exec(select(OutboxMessage))).all() == []
