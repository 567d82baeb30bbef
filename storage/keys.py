"""Data key rotation: which key encrypts how many values, re-encryption under the active key, and retiring keys.

Encrypted values: free-text answers (`answer.text_cipher`) and results opt-ins (`results_opt_in.chat_cipher`).
Rotation works in batches, each in its own transaction. Every value is decrypted with its own key id and
re-encrypted with the active key in one row update, so an interrupted rotation loses nothing, and running it
again continues where it stopped.

Rotation also rebinds answers stored before ciphertexts were bound to their row (associated data naming only
consultation and question, see `storage.privacy.legacy_answer_context`): they are re-encrypted bound to their
consultation, participant, session and question, even when they already use the active key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.errors import StorageError
from storage.database import Database
from storage.models import Answer, ConversationSession, ResultsOptIn
from storage.privacy import KeyRing, answer_context, legacy_answer_context, opt_in_context

BATCH_SIZE = 500


@dataclass(frozen=True)
class KeyUsage:
    """How many stored values one key id encrypts."""

    key_id: str
    answers: int = 0
    opt_ins: int = 0

    @property
    def total(self) -> int:
        return self.answers + self.opt_ins


async def key_usage(session: AsyncSession) -> dict[str, KeyUsage]:
    """Counts of encrypted values per key id (key ids no value uses are absent)."""
    answers = await session.exec(
        select(Answer.key_id, func.count())
        .where(col(Answer.text_cipher).is_not(None), col(Answer.key_id).is_not(None))
        .group_by(col(Answer.key_id))
    )
    opt_ins = await session.exec(select(ResultsOptIn.key_id, func.count()).group_by(col(ResultsOptIn.key_id)))
    per_key: dict[str, dict[str, int]] = {}
    for kid, n in answers.all():
        per_key.setdefault(str(kid), {})["answers"] = int(n)
    for kid, n in opt_ins.all():
        per_key.setdefault(str(kid), {})["opt_ins"] = int(n)
    return {kid: KeyUsage(kid, **counts) for kid, counts in sorted(per_key.items())}


async def values_to_rotate(session: AsyncSession, active_id: str) -> int:
    """How many values are not yet under the active key."""
    return sum(usage.total for kid, usage in (await key_usage(session)).items() if kid != active_id)


@dataclass(frozen=True)
class RotationReport:
    active_id: str
    answers: int
    opt_ins: int
    batches: int

    @property
    def total(self) -> int:
        return self.answers + self.opt_ins


async def rotate(
    database: Database,
    keyring: KeyRing,
    *,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
    on_batch: Callable[[int], None] | None = None,
) -> RotationReport:
    """Re-encrypt every value not under the active key (`keyring.active_id`), one transaction per batch.

    `on_batch(done)` is called after each committed batch with the number of values rotated so far.
    Refuses (StorageError) before changing anything when a value's key is missing from the ring.
    """
    if batch_size < 1:
        raise StorageError("batch size must be at least 1")
    async with database.reader() as session:
        usage = await key_usage(session)
    missing = sorted(kid for kid in usage if kid not in keyring.key_ids)
    if missing:
        raise StorageError(
            f"values are encrypted with key(s) {', '.join(missing)} that are not in VOICES_DATA_KEYS; "
            "add them back (after the active key) before rotating"
        )
    total = sum(u.total for kid, u in usage.items() if kid != keyring.active_id)
    done = {"answers": 0, "opt_ins": 0}
    batches = 0
    from tqdm import tqdm  # only the rotation command shows progress

    with tqdm(total=total, unit="value", desc="re-encrypting", disable=not progress) as bar:
        for kind, step in (("answers", _rotate_answers), ("opt_ins", _rotate_opt_ins)):
            while True:
                async with database.transaction() as session:
                    found, rotated = await step(session, keyring, batch_size)
                if found == 0:
                    break
                if rotated == 0:  # every row of the batch changed under us: never spin, let the operator re-run
                    raise StorageError("values changed while being rotated (is an old bot process running?); run again")
                batches += 1
                done[kind] += rotated
                bar.update(rotated)
                if on_batch is not None:
                    on_batch(done["answers"] + done["opt_ins"])
        after = 0
        while True:  # answers under the active key that are still bound the old way
            async with database.transaction() as session:
                after, rebound = await _rebind_answers(session, keyring, batch_size, after)
            if after == 0:
                break
            if rebound:
                batches += 1
                done["answers"] += rebound
                bar.total = (bar.total or 0) + rebound
                bar.update(rebound)
                if on_batch is not None:
                    on_batch(done["answers"] + done["opt_ins"])
    return RotationReport(keyring.active_id, done["answers"], done["opt_ins"], batches)


async def _rotate_answers(session: AsyncSession, keyring: KeyRing, limit: int) -> tuple[int, int]:
    rows = await session.exec(
        select(Answer, ConversationSession.participant_id)
        .join(ConversationSession, col(ConversationSession.id) == col(Answer.session_id))
        .where(
            col(Answer.text_cipher).is_not(None),
            col(Answer.key_id).is_not(None),
            col(Answer.key_id) != keyring.active_id,
        )
        .order_by(col(Answer.id))
        .limit(limit)
    )
    found = rows.all()
    rotated = 0
    for row, participant_id in found:
        plaintext = _answer_plaintext(keyring, row, participant_id)
        rotated += await _store_answer(session, keyring, row, participant_id, plaintext)
    return len(found), rotated


async def _rebind_answers(session: AsyncSession, keyring: KeyRing, limit: int, after: int) -> tuple[int, int]:
    """One batch (answers with id > `after`) of the rebinding pass: returns (last id seen or 0 at the end, how
    many were re-encrypted bound to their row)."""
    rows = await session.exec(
        select(Answer, ConversationSession.participant_id)
        .join(ConversationSession, col(ConversationSession.id) == col(Answer.session_id))
        .where(col(Answer.text_cipher).is_not(None), col(Answer.key_id) == keyring.active_id, col(Answer.id) > after)
        .order_by(col(Answer.id))
        .limit(limit)
    )
    found = rows.all()
    rebound = 0
    for row, participant_id in found:
        if row.text_cipher is None or row.key_id is None or row.id is None:
            continue
        bound = answer_context(row.consultation_id, participant_id, row.session_id, row.question_id)
        try:
            keyring.decrypt(row.text_cipher, row.key_id, bound)
            continue  # already bound to its row
        except StorageError:
            pass
        plaintext = keyring.decrypt(
            row.text_cipher, row.key_id, legacy_answer_context(row.consultation_id, row.question_id)
        )
        rebound += await _store_answer(session, keyring, row, participant_id, plaintext)
    return (found[-1][0].id or 0) if found else 0, rebound


def _answer_plaintext(keyring: KeyRing, row: Answer, participant_id: int) -> str:
    """An answer's text, whether it is bound to its row or (stored before that) only to its question."""
    if row.text_cipher is None or row.key_id is None:
        raise StorageError("an answer without a ciphertext has nothing to rotate")
    try:
        bound = answer_context(row.consultation_id, participant_id, row.session_id, row.question_id)
        return keyring.decrypt(row.text_cipher, row.key_id, bound)
    except StorageError:
        return keyring.decrypt(row.text_cipher, row.key_id, legacy_answer_context(row.consultation_id, row.question_id))


async def _store_answer(
    session: AsyncSession, keyring: KeyRing, row: Answer, participant_id: int, plaintext: str
) -> int:
    """Write `plaintext` back encrypted under the active key and bound to its row; 1 if written, 0 if the row
    changed meanwhile (a concurrent new answer is never overwritten)."""
    blob, kid = keyring.encrypt(
        plaintext, answer_context(row.consultation_id, participant_id, row.session_id, row.question_id)
    )
    result = await session.exec(
        update(Answer)
        .where(col(Answer.id) == row.id, col(Answer.key_id) == row.key_id, col(Answer.text_cipher) == row.text_cipher)
        .values(text_cipher=blob, key_id=kid)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)


async def _rotate_opt_ins(session: AsyncSession, keyring: KeyRing, limit: int) -> tuple[int, int]:
    rows = await session.exec(
        select(ResultsOptIn)
        .where(col(ResultsOptIn.key_id) != keyring.active_id)
        .order_by(col(ResultsOptIn.id))
        .limit(limit)
    )
    found = rows.all()
    rotated = 0
    for row in found:
        blob, kid = _rewrap(
            keyring, row.chat_cipher, row.key_id, opt_in_context(row.consultation_id, row.participant_id)
        )
        result = await session.exec(
            update(ResultsOptIn)
            .where(
                col(ResultsOptIn.id) == row.id,
                col(ResultsOptIn.key_id) == row.key_id,
                col(ResultsOptIn.chat_cipher) == row.chat_cipher,
            )
            .values(chat_cipher=blob, key_id=kid)
            .execution_options(synchronize_session=False)
        )
        rotated += int(result.rowcount)
    return len(found), rotated


def _rewrap(keyring: KeyRing, blob: bytes, key_id: str, context: str) -> tuple[bytes, str]:
    """Decrypt under the value's own key, encrypt under the active one (same associated data)."""
    plaintext = keyring.decrypt(blob, key_id, context)
    return keyring.encrypt(plaintext, context)


def describe(usage: dict[str, KeyUsage], keyring: KeyRing) -> list[dict[str, Any]]:
    """Rows for `keys status`: every key in the ring, then any key id in use that the ring lacks."""
    rows = []
    for kid in [*keyring.key_ids, *(k for k in usage if k not in keyring.key_ids)]:
        used = usage.get(kid, KeyUsage(kid))
        role = "active" if kid == keyring.active_id else ("decrypts" if kid in keyring.key_ids else "MISSING")
        rows.append({"key_id": kid, "role": role, "answers": used.answers, "opt_ins": used.opt_ins})
    return rows
