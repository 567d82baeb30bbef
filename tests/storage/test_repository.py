"""Storage contract, run on SQLite and on a real PostgreSQL server (the `database` fixture is parametrised)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import inspect
from sqlmodel import SQLModel

from config.errors import StorageError
from storage import repository as repo
from storage.database import Database
from storage.models import ConversationSession


async def make_consultation(database: Database, code: str = "TESTCODE") -> int:
    async with database.transaction() as session:
        consultation = await repo.create_consultation(
            session,
            code=code,
            title="Test",
            country="ke",
            flow_id="roadmap_feedback",
            flow_version=1,
            languages=["en", "fr"],
            default_language="en",
        )
        assert consultation.id is not None
        return consultation.id


async def make_session(database: Database, consultation_id: int, pseudonym: str = "p" * 64) -> ConversationSession:
    async with database.transaction(lock_key=pseudonym) as session:
        participant = await repo.get_or_create_participant(session, pseudonym, "en")
        assert participant.id is not None
        row = ConversationSession(
            participant_id=participant.id,
            consultation_id=consultation_id,
            flow_id="roadmap_feedback",
            flow_version=1,
            state="group",
            status="active",
            language="en",
            started_at=repo.now(),
            updated_at=repo.now(),
        )
        row = await repo.save_session(session, row)
        await repo.record_consent(session, participant.id, consultation_id, "consent-v1")
        return row


async def test_migrations_match_the_models(database: Database) -> None:
    def tables(connection: object) -> set[str]:
        return set(inspect(connection).get_table_names())

    async with database.engine.connect() as connection:
        found = await connection.run_sync(tables)
    assert set(SQLModel.metadata.tables) <= found

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection)  # type: ignore[arg-type]
        return list(compare_metadata(context, SQLModel.metadata))

    async with database.engine.connect() as connection:
        assert await connection.run_sync(diff) == []


async def test_consultation_codes_are_unique_and_upper_case_country(database: Database) -> None:
    await make_consultation(database, "SAME")
    with pytest.raises(StorageError, match="already exists"):
        await make_consultation(database, "SAME")
    async with database.reader() as session:
        consultation = await repo.consultation_by_code(session, "SAME")
    assert consultation is not None and consultation.country == "KE"


async def test_generated_codes_fit_a_deep_link() -> None:
    codes = {repo.new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 8 and c.isalnum() for c in codes)


async def test_update_is_claimed_once(database: Database) -> None:
    async with database.transaction() as session:
        assert await repo.claim_update(session, 123456789012)
    async with database.transaction() as session:
        assert not await repo.claim_update(session, 123456789012)


async def test_concurrent_claims_of_one_update_let_exactly_one_through(database: Database) -> None:
    async def claim() -> bool:
        async with database.transaction(lock_key="x") as session:
            return await repo.claim_update(session, 42)

    results = await asyncio.gather(*(claim() for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]


async def test_answer_upsert_replaces_and_needs_consent(database: Database) -> None:
    consultation_id = await make_consultation(database)
    row = await make_session(database, consultation_id)
    async with database.transaction() as session:
        await repo.upsert_answer(session, row, repo.AnswerValue("group", codes=("survivor",)))
        await repo.upsert_answer(session, row, repo.AnswerValue("group", codes=("other",)))
        await repo.upsert_answer(session, row, repo.AnswerValue("awareness", skipped=True))
    async with database.reader() as session:
        stored = await repo.answers_of_session(session, row.id or 0)
    assert [(a.question_id, a.choice_codes, a.skipped) for a in stored] == [
        ("group", "other", False),
        ("awareness", None, True),
    ]
    other = await make_session(database, consultation_id, pseudonym="q" * 64)
    async with database.transaction() as session:
        from sqlmodel import col, delete

        from storage.models import ConsentRecord

        await session.exec(delete(ConsentRecord).where(col(ConsentRecord.participant_id) == other.participant_id))
    with pytest.raises(StorageError, match="without a consent record"):
        async with database.transaction() as session:
            await repo.upsert_answer(session, other, repo.AnswerValue("group", codes=("other",)))


async def test_answer_groups_aggregate_codes(database: Database) -> None:
    consultation_id = await make_consultation(database)
    for index, codes in enumerate([("a", "b"), ("a",), ("a", "b"), None]):
        row = await make_session(database, consultation_id, pseudonym=f"{index:064d}")
        async with database.transaction() as session:
            value = repo.AnswerValue("q", codes=codes, skipped=codes is None)
            await repo.upsert_answer(session, row, value)
    async with database.reader() as session:
        groups = await repo.answer_groups(session, consultation_id)
        respondents = await repo.respondent_count(session, consultation_id)
    as_tuples = sorted((g.choice_codes or "", g.skipped, g.count) for g in groups)
    assert as_tuples == [("", True, 1), ("a", False, 1), ("a b", False, 2)]
    assert respondents == 4


async def test_current_session_is_the_most_recent_live_one(database: Database) -> None:
    first = await make_consultation(database, "FIRST")
    second = await make_consultation(database, "SECOND")
    await make_session(database, first)
    later = await make_session(database, second)
    async with database.reader() as session:
        current = await repo.current_session(session, later.participant_id)
    assert current is not None and current.consultation_id == second


async def test_list_consultations_counts_respondents(database: Database) -> None:
    consultation_id = await make_consultation(database)
    await make_session(database, consultation_id)
    async with database.reader() as session:
        [(consultation, respondents)] = await repo.list_consultations(session)
    assert consultation.code == "TESTCODE" and respondents == 1
