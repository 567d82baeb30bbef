"""Invite codes: several per consultation, case-insensitive, revocable; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from config.errors import StorageError
from storage import invites
from storage import repository as repo
from storage.database import Database
from storage.migrate import downgrade, upgrade


async def test_a_new_consultation_opens_with_its_own_code_as_first_invite(database: Database) -> None:
    async with database.transaction() as session:
        consultation = await repo.create_consultation(
            session,
            code="su63nh2g",
            title="T",
            country="KE",
            flow_id="roadmap_feedback",
            flow_version=1,
            languages=["en"],
            default_language="en",
        )
        assert consultation.code == "SU63NH2G"
    async with database.reader() as session:
        found = await invites.consultation_for_invite(session, "su63nh2g")
        assert found is not None and found[0].code == "SU63NH2G" and found[1].label == "default"
        assert (await repo.consultation_by_code(session, "Su63Nh2g")) is not None


async def test_channels_are_told_apart_and_a_revoked_code_opens_nothing(database: Database) -> None:
    async with database.transaction() as session:
        consultation = await repo.create_consultation(
            session,
            code="MAIN1",
            title="T",
            country="PE",
            flow_id="roadmap_feedback",
            flow_version=1,
            languages=["en"],
            default_language="en",
        )
        radio = await invites.create_invite(session, consultation, "Radio spot")
        workshop = await invites.create_invite(session, consultation, "Workshop Lima", code="lima-2026")
        assert radio.code != workshop.code and workshop.code == "LIMA-2026"
        with pytest.raises(StorageError, match="already exists"):
            await invites.create_invite(session, consultation, "Again", code="LIMA-2026")
        with pytest.raises(StorageError, match="1 to 32 letters"):
            await invites.create_invite(session, consultation, "Bad", code="no spaces")
        with pytest.raises(StorageError, match="label"):
            await invites.create_invite(session, consultation, "  ")
    async with database.transaction() as session:
        opened = await invites.consultation_for_invite(session, "Lima-2026")
        assert opened is not None and opened[1].label == "Workshop Lima"
        assert [i.label for i in await invites.invites_of(session, opened[0].id or 0)] == [
            "default",
            "Radio spot",
            "Workshop Lima",
        ]
        await invites.revoke_invite(session, opened[1])
    async with database.reader() as session:
        assert await invites.consultation_for_invite(session, "LIMA-2026") is None
        revoked = await invites.invite_by_code(session, "lima-2026")
        assert revoked is not None and revoked.revoked_at is not None
        assert await invites.consultation_for_invite(session, "MAIN1") is not None
        assert await invites.consultation_for_invite(session, "NOPE") is None


async def test_the_migration_gives_existing_consultations_their_code_as_invite(sqlite_database: Database) -> None:
    await downgrade(sqlite_database, "0002")
    async with sqlite_database.engine.begin() as connection:
        from sqlalchemy import text

        await connection.execute(
            text(
                "INSERT INTO consultation (code, title, country, flow_id, flow_version, languages, default_language,"
                " status, retention_days, created_at) VALUES ('OLD1', 'Old', 'KE', 'roadmap_feedback', 1, 'en', 'en',"
                " 'open', 180, '2026-01-01 00:00:00')"
            )
        )
    await upgrade(sqlite_database)
    async with sqlite_database.reader() as session:
        found = await invites.consultation_for_invite(session, "old1")
        assert found is not None and found[0].code == "OLD1" and found[1].label == "default"
