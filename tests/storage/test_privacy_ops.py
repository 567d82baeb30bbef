"""Safe-exit message ids, erasure (/delete), access (/mydata) and results opt-ins, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlmodel import SQLModel, select

from storage import outbox
from storage import privacy_ops as ops
from storage import repository as repo
from storage.database import Database
from storage.migrate import downgrade, upgrade
from storage.models import ConversationSession, OutboxMessage, Participant
from storage.privacy import KeyRing, answer_context, redact
from tests.storage.test_repository import make_consultation, make_session

RING = KeyRing([("k1", bytes(range(32)))])
PSEUDONYM = "a" * 64
OTHER = "b" * 64
CHAT_ID = 7_300_123_456


async def add_answers(database: Database, row: ConversationSession, words: str = "more schools") -> None:
    assert row.id is not None
    cipher, kid = RING.encrypt(redact(words), answer_context(row.consultation_id, row.participant_id, row.id, "ideas"))
    async with database.transaction() as session:
        await repo.upsert_answer(session, row, repo.AnswerValue("group", codes=("survivor",)))
        await repo.upsert_answer(session, row, repo.AnswerValue("priorities", codes=("shelters", "jobs")))
        await repo.upsert_answer(session, row, repo.AnswerValue("awareness", skipped=True))
        await repo.upsert_answer(session, row, repo.AnswerValue("ideas", text_cipher=cipher, key_id=kid))


async def full_participant(database: Database, consultation_id: int, pseudonym: str) -> ConversationSession:
    row = await make_session(database, consultation_id, pseudonym=pseudonym)
    await add_answers(database, row)
    async with database.transaction(lock_key=pseudonym) as session:
        await ops.record_sent_messages(session, row.participant_id, [10, 11, 12], from_bot=True)
        await ops.record_sent_message(session, row.participant_id, 9, from_bot=False)
        await ops.opt_in_results(session, row.participant_id, consultation_id, CHAT_ID, RING)
    return row


async def test_message_ids_are_kept_48_hours_for_the_safe_exit(database: Database) -> None:
    consultation_id = await make_consultation(database)
    row = await make_session(database, consultation_id)
    pid = row.participant_id
    async with database.transaction() as session:
        await ops.record_sent_messages(session, pid, [101, 102, 102], from_bot=True)
        await ops.record_sent_message(session, pid, 100, from_bot=False)
        await ops.record_sent_message(session, pid, 101, from_bot=True)  # an edited message: kept once
        await ops.record_sent_message(session, pid, 50, from_bot=True, sent_at=repo.now() - timedelta(hours=49))
    async with database.reader() as session:
        assert await ops.recent_message_ids(session, pid) == [100, 101, 102]
        assert await ops.recent_message_ids(session, pid, younger_than=timedelta(days=3)) == [50, 100, 101, 102]
    async with database.transaction() as session:
        assert await ops.purge_old_message_ids(session) == 1
    async with database.transaction() as session:
        assert await ops.forget_message_ids(session, pid) == 3
    async with database.reader() as session:
        assert await ops.recent_message_ids(session, pid) == []


async def test_erasure_leaves_nothing_that_refers_to_the_pseudonym(database: Database) -> None:
    first = await make_consultation(database, "FIRST")
    second = await make_consultation(database, "SECOND")
    gone = await full_participant(database, first, PSEUDONYM)
    also_gone = await make_session(database, second, pseudonym=PSEUDONYM)
    await add_answers(database, also_gone, "call +254 712 345 678")
    kept = await full_participant(database, first, OTHER)

    async with database.transaction(lock_key=PSEUDONYM) as session:
        report = await ops.erase_participant(session, PSEUDONYM)
    assert report == ops.ErasureReport(
        found=True, answers=8, sessions=2, consent_records=2, message_ids=4, results_opt_ins=1
    )

    gone_sessions = {gone.id, also_gone.id}
    async with database.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            rows = (await connection.execute(table.select())).mappings().all()
            for row in rows:
                assert PSEUDONYM not in {str(v) for v in row.values()}, table.name
                for column in table.columns:
                    targets = {fk.column.table.name for fk in column.foreign_keys}
                    if "participant" in targets or (table.name == "participant" and column.name == "id"):
                        assert row[column.name] != gone.participant_id, (table.name, column.name)
                    if "session" in targets:
                        assert row[column.name] not in gone_sessions, (table.name, column.name)

    async with database.reader() as session:  # the other participant keeps everything
        data = await ops.participant_data(session, OTHER, RING)
        assert data is not None and len(data.consultations[0].answers) == 4
        assert await ops.recent_message_ids(session, kept.participant_id) == [9, 10, 11, 12]
        assert await ops.opted_in_chats(session, first, RING) == [CHAT_ID]
    async with database.transaction(lock_key=PSEUDONYM) as session:
        assert await ops.erase_participant(session, PSEUDONYM) == ops.ErasureReport(found=False)
        fresh = await repo.get_or_create_participant(session, PSEUDONYM, "fr")
        assert fresh.id != gone.participant_id and await repo.current_session(session, fresh.id or 0) is None


async def test_mydata_shows_everything_stored_decrypted(database: Database) -> None:
    consultation_id = await make_consultation(database)
    await full_participant(database, consultation_id, PSEUDONYM)
    async with database.reader() as session:
        data = await ops.participant_data(session, PSEUDONYM, RING)
        assert await ops.participant_data(session, OTHER, RING) is None
    assert data is not None
    assert data.language == "en" and data.first_seen_on == repo.today() and data.message_ids_kept == 4
    [taken] = data.consultations
    assert (taken.code, taken.consultation_status, taken.session_status) == ("TESTCODE", "open", "active")
    assert (taken.consent_version, taken.consent_given_on, taken.results_opt_in) == ("consent-v1", repo.today(), True)
    assert [(a.question_id, a.codes, a.text, a.skipped) for a in taken.answers] == [
        ("group", ("survivor",), None, False),
        ("priorities", ("shelters", "jobs"), None, False),
        ("awareness", (), None, True),
        ("ideas", (), "more schools", False),
    ]
    without_the_key = KeyRing([("k9", bytes(32))])
    async with database.reader() as session:
        data = await ops.participant_data(session, PSEUDONYM, without_the_key)
    assert data is not None
    ideas = data.consultations[0].answers[-1]
    assert ideas.unreadable and ideas.text is None


async def test_results_opt_in_is_encrypted_and_can_be_withdrawn(database: Database) -> None:
    consultation_id = await make_consultation(database)
    row = await make_session(database, consultation_id)
    pid = row.participant_id
    async with database.transaction() as session:
        assert not await ops.has_opted_in(session, pid, consultation_id)
        await ops.opt_in_results(session, pid, consultation_id, 111, RING)
        await ops.opt_in_results(session, pid, consultation_id, CHAT_ID, RING)  # replaces
        assert await ops.has_opted_in(session, pid, consultation_id)
    async with database.engine.connect() as connection:
        stored = (await connection.execute(text("SELECT chat_cipher FROM results_opt_in"))).scalars().all()
    assert len(stored) == 1 and str(CHAT_ID).encode() not in bytes(stored[0])
    async with database.reader() as session:
        assert await ops.opted_in_chats(session, consultation_id, RING) == [CHAT_ID]
    async with database.transaction() as session:
        assert await ops.opt_out_results(session, pid, consultation_id)
        assert not await ops.opt_out_results(session, pid, consultation_id)
        assert await ops.opted_in_chats(session, consultation_id, RING) == []
    other = await make_session(database, consultation_id, pseudonym="c" * 64)
    async with database.transaction() as session:
        await ops.opt_in_results(session, pid, consultation_id, CHAT_ID, RING)
        await ops.opt_in_results(session, other.participant_id, consultation_id, CHAT_ID + 1, RING)
        opt_ins = await ops.results_opt_ins(session, consultation_id, RING)
        assert [(o.pseudonym, o.chat_id, o.language) for o in opt_ins] == [
            ("p" * 64, CHAT_ID, "en"),
            ("c" * 64, CHAT_ID + 1, "en"),
        ]
        assert await ops.forget_opt_ins(session, [opt_ins[0].id]) == 1  # only those taken; the others stay
        assert await ops.opted_in_chats(session, consultation_id, RING) == [CHAT_ID + 1]
        assert await ops.forget_opt_ins(session, []) == 0


async def test_erasure_drops_an_unsent_results_message_and_keeps_its_own_answer(database: Database) -> None:
    """Someone who asked for the results, then to be forgotten, is not written to first any more; the reply to
    the erasure itself (pending in the same chat) still goes out."""
    consultation_id = await make_consultation(database)
    row = await make_session(database, consultation_id, pseudonym=PSEUDONYM)
    results = outbox.Item(outbox.RESULTS, {"chat": CHAT_ID, "reply": {"text": "out"}})
    async with database.transaction(lock_key=PSEUDONYM) as session:
        await ops.opt_in_results(session, row.participant_id, consultation_id, CHAT_ID, RING)
        await outbox.enqueue(session, RING, PSEUDONYM, None, [results])
    async with database.transaction(lock_key=PSEUDONYM) as session:
        assert (await ops.erase_participant(session, PSEUDONYM)).found
        answer = outbox.Item(outbox.SEND, {"chat": CHAT_ID, "reply": {"text": "deleted"}})
        await outbox.enqueue(session, RING, PSEUDONYM, 1, [answer])
    async with database.reader() as session:
        kinds = (await session.exec(select(OutboxMessage.kind).where(OutboxMessage.chat_key == PSEUDONYM))).all()
    assert list(kinds) == [outbox.SEND]


async def test_migration_0002_downgrades_and_upgrades_again(database: Database) -> None:
    consultation_id = await make_consultation(database)
    await make_session(database, consultation_id)
    await downgrade(database, "0001")
    async with database.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(c.dialect.get_table_names(c)))
    assert "sent_message" not in tables and "participant" in tables
    await upgrade(database)
    async with database.reader() as session:
        [participant] = (await session.exec(select(Participant))).all()
    assert participant.pseudonym == "p" * 64
