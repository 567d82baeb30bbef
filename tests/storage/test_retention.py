"""Retention purge: exactly the raw data of consultations past their retention goes; counts remain."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, update
from sqlmodel import col, select

from storage import privacy_ops as ops
from storage import repository as repo
from storage import retention
from storage.database import Database
from storage.models import (
    AggregateCount,
    Answer,
    ConsentRecord,
    Consultation,
    ConversationSession,
    Participant,
    ProcessedUpdate,
    ResultsOptIn,
)
from storage.privacy import KeyRing, answer_context
from summaries.counts import consultation_counts
from tests.storage.test_repository import make_consultation, make_session

RING = KeyRing([("k1", bytes(range(32)))])


async def answered(database: Database, consultation_id: int, people: range) -> None:
    for index in people:
        pseudonym = f"{index:064d}"
        row = await make_session(database, consultation_id, pseudonym=pseudonym)
        assert row.id is not None
        cipher, kid = RING.encrypt(
            "more shelters", answer_context(consultation_id, row.participant_id, row.id, "ideas")
        )
        codes = ("survivor",) if index % 3 else ("cso", "other")
        async with database.transaction(lock_key=pseudonym) as session:
            await repo.upsert_answer(session, row, repo.AnswerValue("group", codes=codes))
            await repo.upsert_answer(session, row, repo.AnswerValue("awareness", skipped=True))
            if index % 2:
                await repo.upsert_answer(session, row, repo.AnswerValue("ideas", text_cipher=cipher, key_id=kid))
            await ops.opt_in_results(session, row.participant_id, consultation_id, 1000 + index, RING)
            await ops.record_sent_message(session, row.participant_id, 1, from_bot=True)


async def close(database: Database, consultation_id: int, days_ago: int, retention_days: int) -> None:
    async with database.transaction() as session:
        consultation = await session.get(Consultation, consultation_id)
        assert consultation is not None
        await repo.close_consultation(session, consultation)
        consultation.closed_at = repo.now() - timedelta(days=days_ago)
        consultation.retention_days = retention_days


async def rows(database: Database, table: type, consultation_id: int) -> int:
    async with database.reader() as session:
        result = await session.exec(
            select(func.count()).select_from(table).where(col(table.consultation_id) == consultation_id)  # type: ignore[attr-defined]
        )
        return int(result.one())


async def test_purge_removes_exactly_the_expired_raw_data_and_keeps_the_counts(database: Database) -> None:
    expired = await make_consultation(database, "EXPIRED")
    recent = await make_consultation(database, "RECENT")
    still_open = await make_consultation(database, "OPEN")
    await answered(database, expired, range(0, 12))
    await answered(database, recent, range(10, 16))  # people 10 and 11 took part in both
    await answered(database, still_open, range(20, 23))
    await close(database, expired, days_ago=181, retention_days=180)
    await close(database, recent, days_ago=10, retention_days=180)
    before = await consultation_counts(database, "EXPIRED")

    dry = await retention.purge(database, dry_run=True)
    assert dry.dry_run and [
        (c.code, c.answers, c.sessions, c.consent_records, c.results_opt_ins) for c in dry.consultations
    ] == [("EXPIRED", 30, 12, 12, 12)]
    assert await rows(database, Answer, expired) == 30  # a dry run deletes nothing

    report = await retention.purge(database)
    assert [(c.code, c.answers, c.sessions, c.consent_records, c.results_opt_ins) for c in report.consultations] == [
        ("EXPIRED", 30, 12, 12, 12)
    ]
    for table in (Answer, ConversationSession, ConsentRecord, ResultsOptIn):
        assert await rows(database, table, expired) == 0, table
        assert await rows(database, table, recent) > 0 and await rows(database, table, still_open) > 0, table
    assert await rows(database, AggregateCount, expired) > 0

    after = await consultation_counts(database, "EXPIRED")
    assert before is not None and after is not None
    assert after.respondents == before.respondents == 12
    assert after.questions == before.questions
    assert after.questions["group"].options == {"survivor": 8, "cso": 4, "other": 4}
    assert after.questions["ideas"].written == 6 and after.questions["awareness"].skipped == 12

    async with database.reader() as session:
        purged = await repo.consultation_by_code(session, "EXPIRED")
        people = (await session.exec(select(func.count()).select_from(Participant))).one()
    assert purged is not None and purged.purged_at is not None
    assert people == 19  # participant rows stay through the grace period (they may still have message ids)

    again = await retention.purge(database)
    assert again.consultations == []
    assert await consultation_counts(database, "EXPIRED") == after  # the snapshot is not counted twice


async def test_expired_ids_and_orphan_participants_go(database: Database) -> None:
    consultation_id = await make_consultation(database)
    await answered(database, consultation_id, range(0, 2))  # each has one fresh message id
    await close(database, consultation_id, days_ago=1, retention_days=0)
    async with database.transaction() as session:
        old = repo.now() - timedelta(hours=49)
        await ops.record_sent_message(session, 1, 99, from_bot=False, sent_at=old)
        await repo.claim_update(session, 1)
        await repo.claim_update(session, 2)
        await session.exec(
            update(ProcessedUpdate)
            .where(col(ProcessedUpdate.update_id) == 1)
            .values(processed_at=old - timedelta(days=1))
        )
    dry = await retention.purge(database, dry_run=True)
    assert (len(dry.consultations), dry.message_ids, dry.processed_updates, dry.participants) == (1, 1, 1, 0)

    report = await retention.purge(database)
    assert (len(report.consultations), report.message_ids, report.processed_updates) == (1, 1, 1)
    assert report.participants == 0  # nothing left but a fresh message id each, and they are new anyway
    async with database.transaction() as session:
        assert await ops.purge_old_message_ids(session, older_than=timedelta(0)) == 2
    assert (await retention.purge(database)).participants == 0  # within the grace period: never removed

    three_days_on = repo.now() + timedelta(days=3)
    assert (await retention.purge(database, dry_run=True, at=three_days_on)).participants == 2
    assert (await retention.purge(database, at=three_days_on)).participants == 2
    async with database.reader() as session:
        assert (await session.exec(select(func.count()).select_from(Participant))).one() == 0


async def test_workers_purging_at_once_snapshot_each_consultation_once(database: Database) -> None:
    consultation_id = await make_consultation(database)
    await answered(database, consultation_id, range(0, 6))
    await close(database, consultation_id, days_ago=2, retention_days=1)
    before = await consultation_counts(database, "TESTCODE")
    reports = await asyncio.gather(*(retention.purge(database) for _ in range(3)))
    assert sorted(len(r.consultations) for r in reports) == [0, 0, 1]
    assert await consultation_counts(database, "TESTCODE") == before
