"""What one update loads and writes (storage/conversations.py), on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from storage import conversations, privacy_ops
from storage import repository as repo
from storage.database import Database
from storage.models import Consultation, SentMessage
from tests.storage.test_repository import make_consultation, make_session

KEY = "k" * 64


async def test_load_turn_finds_the_current_session_and_its_consultation(database: Database) -> None:
    first = await make_consultation(database, "FIRST")
    second = await make_consultation(database, "SECOND")
    await make_session(database, first, pseudonym=KEY)
    later = await make_session(database, second, pseudonym=KEY)
    async with database.reader() as session:
        found = await conversations.load_turn(session, KEY)
    assert found.participant is not None and found.participant.pseudonym == KEY
    assert found.session is not None and found.session.id == later.id
    assert found.consultation is not None and found.consultation.code == "SECOND"


async def test_load_turn_by_code_finds_that_session_whatever_its_status(database: Database) -> None:
    first = await make_consultation(database, "FIRST")
    row = await make_session(database, first, pseudonym=KEY)
    async with database.transaction() as session:
        await conversations.save_state(session, row, state="thanks", status="completed", language="fr", context="{}")
    async with database.reader() as session:
        by_code = await conversations.load_turn(session, KEY, "first")  # any case
        current = await conversations.load_turn(session, KEY)
    assert by_code.session is not None and by_code.session.status == "completed" and by_code.session.language == "fr"
    assert by_code.consultation is not None and by_code.consultation.id == first
    assert current.participant is not None and current.session is None and current.consultation is None


async def test_load_turn_for_someone_new(database: Database) -> None:
    await make_consultation(database, "FIRST")
    async with database.reader() as session:
        nobody = await conversations.load_turn(session, KEY)
        named = await conversations.load_turn(session, KEY, "FIRST")
        unknown = await conversations.load_turn(session, KEY, "NOPE")
    assert (nobody.participant, nobody.session, nobody.consultation) == (None, None, None)
    assert named.participant is None and named.session is None
    assert named.consultation is not None and named.consultation.code == "FIRST"
    assert unknown.consultation is None


async def test_a_session_starts_on_the_consultations_flow_version_with_its_invite(database: Database) -> None:
    consultation_id = await make_consultation(database, "FIRST")
    async with database.transaction(lock_key=KEY) as session:
        participant = await conversations.create_participant(session, KEY, "sw")
        consultation = await session.get(Consultation, consultation_id)
        assert consultation is not None
        await repo.set_flow_version(session, consultation, 2)
        row = await conversations.start_session(
            session,
            participant=participant,
            consultation=consultation,
            invite_id=None,
            state="age",
            status="active",
            language="sw",
            context="{}",
        )
        await conversations.set_participant_language(session, participant, "fr")
    async with database.reader() as session:
        found = await conversations.load_turn(session, KEY)
    assert found.session is not None and found.session.id == row.id and found.session.flow_version == 2
    assert found.participant is not None and found.participant.language == "fr"


async def test_message_ids_are_kept_by_pseudonym_once_and_never_for_strangers(database: Database) -> None:
    consultation_id = await make_consultation(database)
    row = await make_session(database, consultation_id, pseudonym=KEY)
    async with database.transaction() as session:
        await conversations.remember_messages(session, KEY, [5, 6, 6, 7], from_bot=True)
        await conversations.remember_messages(session, KEY, [7], from_bot=True)
        await conversations.remember_messages(session, "stranger" * 8, [8], from_bot=True)
        await conversations.remember_messages(session, KEY, [], from_bot=True)
    async with database.reader() as session:
        kept = await privacy_ops.recent_message_ids(session, row.participant_id, younger_than=timedelta(hours=1))
        every = (await session.exec(select(SentMessage.message_id))).all()
    assert kept == [5, 6, 7] and sorted(every) == [5, 6, 7]
