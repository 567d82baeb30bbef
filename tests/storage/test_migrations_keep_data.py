"""Upgrading a database that holds consultations keeps every row: batch migrations re-create SQLite tables, and
with foreign keys on, dropping the old table would have cascaded into sessions, answers and invites (the
migrations to 0003 and beyond emptied them). On SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

from storage.database import Database
from storage.migrate import alembic_config, current_revision, downgrade, schema_head, upgrade

TABLES = ("consultation", "participant", "session", "answer", "consent_record", "sent_message", "results_opt_in")
SEED = [
    "INSERT INTO consultation (id, code, title, country, flow_id, flow_version, languages, default_language, status,"
    " retention_days, created_at) VALUES (1, 'OLD1', 'Old', 'KE', 'roadmap_feedback', 1, 'en', 'en', 'open', 180,"
    " '2026-01-01 00:00:00')",
    "INSERT INTO participant (id, pseudonym, language, created_on) VALUES (1, 'pseudonym', 'en', '2026-01-01')",
    "INSERT INTO session (id, participant_id, consultation_id, flow_id, flow_version, state, status, language,"
    " context, started_at, updated_at) VALUES (1, 1, 1, 'roadmap_feedback', 1, 'q', 'active', 'en', '{}',"
    " '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
    "INSERT INTO answer (session_id, consultation_id, question_id, skipped, answered_on)"
    " VALUES (1, 1, 'q', false, '2026-01-01')",
    "INSERT INTO consent_record (participant_id, consultation_id, consent_version, given_on)"
    " VALUES (1, 1, 'v1', '2026-01-01')",
    "INSERT INTO sent_message (participant_id, message_id, from_bot, sent_at)"
    " VALUES (1, 7, true, '2026-01-01 00:00:00')",
    "INSERT INTO results_opt_in (participant_id, consultation_id, chat_cipher, key_id, created_on)"
    " VALUES (1, 1, 'x', 'k1', '2026-01-01')",
]


async def counts(database: Database) -> dict[str, int]:
    async with database.engine.connect() as connection:
        return {t: int((await connection.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one()) for t in TABLES}


async def test_upgrading_a_database_in_use_keeps_every_row(database: Database) -> None:
    await downgrade(database, "0002")
    async with database.engine.begin() as connection:
        for statement in SEED:
            if database.dialect == "postgresql":
                statement = statement.replace("'x'", "'\\x78'::bytea")
            await connection.execute(text(statement))
    before = await counts(database)
    assert set(before.values()) == {1}
    await upgrade(database)
    assert await counts(database) == before
    async with database.engine.connect() as connection:
        invites = (await connection.execute(text("SELECT code FROM invite"))).scalars().all()
    assert invites == ["OLD1"]
    # foreign keys are on again afterwards: deleting the consultation takes its rows with it, as designed
    async with database.engine.begin() as connection:
        await connection.execute(text("DELETE FROM consultation"))
    after = await counts(database)
    assert after["session"] == after["answer"] == after["consent_record"] == 0 and after["participant"] == 1


def test_the_head_read_from_the_files_is_alembics_head() -> None:
    """upgrade() skips alembic when the database is at the head it reads from the migration files: that head
    must be alembic's own."""
    from alembic.script import ScriptDirectory

    assert [schema_head()] == ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()


async def test_upgrade_at_the_head_changes_nothing_and_below_it_migrates(database: Database) -> None:
    head = schema_head()
    assert await current_revision(database) == head
    assert await upgrade(database) == (head, head)
    await downgrade(database, "-1")
    previous = await current_revision(database)
    assert previous not in (None, head)
    assert await upgrade(database) == (previous, head)
