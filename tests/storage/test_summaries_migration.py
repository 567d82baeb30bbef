"""Migration 0004 (summaries) on a database with data: every consultation, invite, session and answer stays
(rebuilding the consultation table on SQLite would cascade to all of them), and consultations get k = 10."""

from __future__ import annotations

from sqlalchemy import text

from storage.database import Database
from storage.migrate import downgrade, upgrade


async def test_upgrading_keeps_every_row_and_sets_k(database: Database) -> None:
    await downgrade(database, "0003")
    statements = [
        "INSERT INTO consultation (id, code, title, country, flow_id, flow_version, languages, default_language,"
        " status, retention_days, created_at) VALUES (7, 'OLD1', 'Old', 'KE', 'roadmap_feedback', 1, 'en', 'en',"
        " 'open', 180, '2026-01-01 00:00:00')",
        "INSERT INTO invite (consultation_id, code, label, created_at) VALUES (7, 'RADIO1', 'Radio', '2026-01-01')",
        "INSERT INTO participant (id, pseudonym, language, created_on) VALUES (3, 'p', 'en', '2026-01-01')",
        "INSERT INTO session (id, participant_id, consultation_id, flow_id, flow_version, state, status, language,"
        " context, started_at, updated_at) VALUES (5, 3, 7, 'roadmap_feedback', 1, 'age', 'active', 'en', '{}',"
        " '2026-01-01', '2026-01-01')",
        "INSERT INTO answer (session_id, consultation_id, question_id, choice_codes, skipped, answered_on)"
        " VALUES (5, 7, 'age', '25_34', false, '2026-01-01')",
    ]
    async with database.engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))
    await upgrade(database)
    async with database.engine.connect() as connection:
        counts = [
            (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            for table in ("consultation", "invite", "session", "answer")
        ]
        k, kind = (await connection.execute(text("SELECT min_cell, kind FROM consultation"))).one()
    assert counts[0] == 1 and counts[1] >= 1 and counts[2:] == [1, 1]
    assert (k, kind) == (10, "roadmap")
