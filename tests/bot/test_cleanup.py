"""The cleanup task of `python -m bot run`: retention at start and daily, expired ids hourly, never dies."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest

from bot import runners
from storage import privacy_ops as ops
from storage import repository as repo
from storage import retention
from storage.database import Database
from storage.models import Consultation
from tests.storage.test_repository import make_consultation, make_session


async def test_cleanup_purges_at_start_then_keeps_going_after_a_failure(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    database = sqlite_database
    consultation_id = await make_consultation(database)
    row = await make_session(database, consultation_id)
    async with database.transaction() as session:
        consultation = await session.get(Consultation, consultation_id)
        assert consultation is not None
        await repo.close_consultation(session, consultation)
        consultation.closed_at = repo.now() - timedelta(days=1)
        consultation.retention_days = 0
        await ops.record_sent_message(
            session, row.participant_id, 5, from_bot=True, sent_at=repo.now() - timedelta(days=3)
        )

    calls: list[str] = []
    real_purge, real_expired = retention.purge, retention.purge_expired_ids

    async def purge(db: Database) -> retention.PurgeReport:
        calls.append("purge")
        return await real_purge(db)

    async def expired(db: Database) -> tuple[int, int]:
        calls.append("expired")
        if calls.count("expired") == 1:
            raise RuntimeError("database went away")
        return await real_expired(db)

    monkeypatch.setattr(retention, "purge", purge)
    monkeypatch.setattr(retention, "purge_expired_ids", expired)
    task = asyncio.create_task(runners.periodic_cleanup(database, every_seconds=0.01, purge_every=3))
    try:
        for _ in range(500):
            if len(calls) >= 5:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert calls[:5] == ["purge", "expired", "expired", "purge", "expired"]
    assert "cleanup failed" in caplog.text and "database went away" not in caplog.text
    async with database.reader() as session:
        purged = await repo.consultation_by_code(session, "TESTCODE")
        assert purged is not None and purged.purged_at is not None
        assert await ops.recent_message_ids(session, row.participant_id, younger_than=timedelta(days=30)) == []
