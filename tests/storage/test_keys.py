"""Key rotation: batches, interruption and resumption lose nothing; key usage; refusal with a missing key."""

from __future__ import annotations

import pytest

from config.errors import StorageError
from storage import keys as key_ops
from storage import privacy_ops as ops
from storage import repository as repo
from storage.database import Database
from storage.privacy import KeyRing, answer_context
from tests.storage.test_repository import make_consultation, make_session

K1 = ("k1", bytes(range(32)))
K2 = ("k2", bytes(range(1, 33)))
OLD, NEW, NEW_ONLY = KeyRing([K1]), KeyRing([K2, K1]), KeyRing([K2])


async def fill(database: Database, people: int = 7) -> tuple[int, dict[str, str]]:
    """`people` participants with one free-text answer each (under k1) and, for every other one, an opt-in."""
    consultation_id = await make_consultation(database)
    texts: dict[str, str] = {}
    for index in range(people):
        pseudonym = f"{index:064d}"
        row = await make_session(database, consultation_id, pseudonym=pseudonym)
        words = f"answer number {index}: more shelters"
        assert row.id is not None
        cipher, kid = OLD.encrypt(words, answer_context(consultation_id, row.participant_id, row.id, "ideas"))
        async with database.transaction(lock_key=pseudonym) as session:
            await repo.upsert_answer(session, row, repo.AnswerValue("group", codes=("survivor",)))
            await repo.upsert_answer(session, row, repo.AnswerValue("ideas", text_cipher=cipher, key_id=kid))
            if index % 2 == 0:
                await ops.opt_in_results(session, row.participant_id, consultation_id, 5_000_000 + index, OLD)
        texts[pseudonym] = words
    return consultation_id, texts


async def everything_decrypts(database: Database, ring: KeyRing, consultation_id: int, texts: dict[str, str]) -> None:
    async with database.reader() as session:
        for pseudonym, words in texts.items():
            data = await ops.participant_data(session, pseudonym, ring)
            assert data is not None
            [ideas] = [a for a in data.consultations[0].answers if a.question_id == "ideas"]
            assert ideas.text == words and not ideas.unreadable
        chats = await ops.opted_in_chats(session, consultation_id, ring)
    assert sorted(chats) == [5_000_000 + i for i in range(len(texts)) if i % 2 == 0]


async def test_rotation_interrupted_halfway_then_resumed_loses_nothing(database: Database) -> None:
    consultation_id, texts = await fill(database)
    async with database.reader() as session:
        assert await key_ops.key_usage(session) == {"k1": key_ops.KeyUsage("k1", answers=7, opt_ins=4)}
        assert await key_ops.values_to_rotate(session, "k2") == 11

    def stop_after_first_batch(done: int) -> None:
        raise KeyboardInterrupt  # the operator pressed Ctrl+C

    with pytest.raises(KeyboardInterrupt):
        await key_ops.rotate(database, NEW, batch_size=3, progress=False, on_batch=stop_after_first_batch)
    async with database.reader() as session:
        usage = await key_ops.key_usage(session)
    assert usage == {"k1": key_ops.KeyUsage("k1", answers=4, opt_ins=4), "k2": key_ops.KeyUsage("k2", answers=3)}
    await everything_decrypts(database, NEW, consultation_id, texts)  # half and half: all still readable

    seen: list[int] = []
    report = await key_ops.rotate(database, NEW, batch_size=3, progress=False, on_batch=seen.append)
    assert (report.answers, report.opt_ins, report.batches) == (4, 4, 4)
    assert seen == [3, 4, 7, 8]
    async with database.reader() as session:
        assert await key_ops.key_usage(session) == {"k2": key_ops.KeyUsage("k2", answers=7, opt_ins=4)}
    await everything_decrypts(database, NEW_ONLY, consultation_id, texts)  # k1 is no longer needed

    again = await key_ops.rotate(database, NEW, progress=False)
    assert again.total == 0 and again.batches == 0


async def test_rotation_refuses_when_a_key_is_missing(database: Database) -> None:
    await fill(database, people=2)
    with pytest.raises(StorageError, match="key\\(s\\) k1 that are not in VOICES_DATA_KEYS"):
        await key_ops.rotate(database, NEW_ONLY, progress=False)
    async with database.reader() as session:
        assert await key_ops.values_to_rotate(session, "k2") == 3  # nothing was touched


def test_status_rows_show_roles() -> None:
    usage = {"k1": key_ops.KeyUsage("k1", answers=2), "k0": key_ops.KeyUsage("k0", opt_ins=1)}
    rows = key_ops.describe(usage, NEW)
    assert [(r["key_id"], r["role"], r["answers"], r["opt_ins"]) for r in rows] == [
        ("k2", "active", 0, 0),
        ("k1", "decrypts", 2, 0),
        ("k0", "MISSING", 0, 1),
    ]


async def test_a_ciphertext_copied_onto_another_row_is_refused(database: Database) -> None:
    """Issue 10.9: whoever can write to the database must not read a victim's answer by copying its ciphertext
    onto their own row (same consultation, same question) and asking for /mydata."""
    consultation_id, texts = await fill(database, people=2)
    victim, attacker = sorted(texts)
    from sqlalchemy import update
    from sqlmodel import col, select

    from storage.models import Answer, ConversationSession, Participant

    async with database.transaction() as session:
        rows = await session.exec(
            select(Participant.pseudonym, Answer)
            .join(ConversationSession, col(ConversationSession.participant_id) == col(Participant.id))
            .join(Answer, col(Answer.session_id) == col(ConversationSession.id))
            .where(Answer.question_id == "ideas")
        )
        by_person = {pseudonym: answer for pseudonym, answer in rows.all()}
        stolen = by_person[victim]
        await session.exec(
            update(Answer)
            .where(col(Answer.id) == by_person[attacker].id)
            .values(text_cipher=stolen.text_cipher, key_id=stolen.key_id)
        )
    async with database.reader() as session:
        data = await ops.participant_data(session, attacker, OLD)
    assert data is not None
    [ideas] = [a for a in data.consultations[0].answers if a.question_id == "ideas"]
    assert ideas.unreadable and ideas.text is None
    assert texts[victim] not in repr(data)


async def test_rotation_rebinds_answers_stored_before_they_were_bound_to_their_row(database: Database) -> None:
    from sqlalchemy import update
    from sqlmodel import col, select

    from storage.models import Answer, ConversationSession
    from storage.privacy import legacy_answer_context

    consultation_id, texts = await fill(database, people=3)
    async with database.transaction() as session:  # as the previous release stored them
        rows = (await session.exec(select(Answer).where(Answer.question_id == "ideas"))).all()
        for answer in rows:
            pid = (await session.get(ConversationSession, answer.session_id)).participant_id  # type: ignore[union-attr]
            assert answer.text_cipher is not None and answer.key_id is not None
            words = OLD.decrypt(
                answer.text_cipher, answer.key_id, answer_context(consultation_id, pid, answer.session_id, "ideas")
            )
            blob, kid = OLD.encrypt(words, legacy_answer_context(consultation_id, "ideas"))
            await session.exec(update(Answer).where(col(Answer.id) == answer.id).values(text_cipher=blob, key_id=kid))
    async with database.reader() as session:
        data = await ops.participant_data(session, sorted(texts)[0], OLD)
    assert data is not None and any(a.unreadable for a in data.consultations[0].answers)  # not read the old way

    report = await key_ops.rotate(database, OLD, progress=False)  # the same active key: only rebinding
    assert (report.answers, report.opt_ins) == (3, 0)
    await everything_decrypts(database, OLD, consultation_id, texts)
    again = await key_ops.rotate(database, OLD, progress=False)
    assert again.total == 0 and again.batches == 0
