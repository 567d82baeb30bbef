"""Queries and writes, one function per need; every function takes the caller's session (its transaction)."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, exists, func
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.errors import StorageError
from storage.gather import Part, gather
from storage.models import (
    Answer,
    ConsentRecord,
    Consultation,
    ConversationSession,
    Invite,
    Participant,
    ProcessedUpdate,
)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: easy to read aloud and type
CODE_LENGTH = 8
MIN_RETENTION_DAYS, MAX_RETENTION_DAYS = 1, 3650
"""Raw answers are kept this many days after a consultation closes (then only aggregates remain)."""
LIVE_STATUSES = ("active", "paused", "stopped", "expired")
"""Sessions a participant can come back to (not completed or declined)."""


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return now().date()


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


# ---- consultations ----


MIN_CELL = 5
DEFAULT_MIN_CELL = 10
"""k: no published count from 1 to k-1 (default 10, never below 5; OECD, ONS, IOM's CTDC publish at 10-11)."""
KINDS = ("roadmap", "progress_report")


def consultation_problem(
    title: str, retention_days: int, min_cell: int = DEFAULT_MIN_CELL, kind: str = "roadmap"
) -> str | None:
    """What is wrong with a new consultation's title, retention period, k or kind (None when all are fine)."""
    if min_cell < MIN_CELL:
        return f"the minimum cell size k must be at least {MIN_CELL} (got {min_cell})"
    if kind not in KINDS:
        return f"a consultation reviews a {' or a '.join(KINDS)}, not {kind!r}"
    if not title.strip() or len(title.strip()) > 200:
        return "a consultation needs a title of 1 to 200 characters"
    if not MIN_RETENTION_DAYS <= retention_days <= MAX_RETENTION_DAYS:
        return (
            f"retention must be {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS} days after closing, not {retention_days}"
        )
    return None


async def create_consultation(
    session: AsyncSession,
    *,
    title: str,
    country: str,
    flow_id: str,
    flow_version: int,
    languages: Sequence[str],
    default_language: str,
    organisation: str | None = None,
    contact: str | None = None,
    code: str | None = None,
    retention_days: int = 180,
    min_cell: int = 10,
    kind: str = "roadmap",
    cycle_year: int | None = None,
) -> Consultation:
    title = title.strip()
    problem = consultation_problem(title, retention_days)
    if problem is not None:
        raise StorageError(problem)
    chosen = (code or new_code()).upper()
    if await consultation_by_code(session, chosen) is not None:
        raise StorageError(f"a consultation with code {chosen!r} already exists")
    if (await session.exec(select(Invite).where(Invite.code == chosen))).first() is not None:
        raise StorageError(f"an invite with code {chosen!r} already exists")
    consultation = Consultation(
        code=chosen,
        title=title,
        country=country.upper(),
        flow_id=flow_id,
        flow_version=flow_version,
        languages=",".join(languages),
        default_language=default_language,
        organisation=organisation,
        contact=contact,
        retention_days=retention_days,
        min_cell=min_cell,
        kind=kind,
        cycle_year=cycle_year,
        created_at=now(),
    )
    session.add(consultation)
    await session.flush()
    if consultation.id is None:
        raise StorageError("the database gave the new consultation no id")
    # its own code is its first invite (the channel "default"); more can be added per channel
    first = Invite(consultation_id=consultation.id, code=chosen, label="default", created_at=consultation.created_at)
    session.add(first)
    await session.flush()
    return consultation


async def consultation_by_code(session: AsyncSession, code: str) -> Consultation | None:
    """A consultation by its own code (case-insensitive). Participants' /start goes through
    `storage.invites.consultation_for_invite` instead, which also knows the channel and revocation."""
    result = await session.exec(select(Consultation).where(Consultation.code == code.strip().upper()))
    return result.first()


async def consultation_by_id(session: AsyncSession, consultation_id: int) -> Consultation | None:
    return await session.get(Consultation, consultation_id)


async def list_consultations(session: AsyncSession) -> list[tuple[Consultation, int]]:
    """Every consultation with its number of respondents (people who consented), newest first."""
    respondents = (
        select(ConversationSession.consultation_id, func.count().label("n"))
        .group_by(col(ConversationSession.consultation_id))
        .subquery()
    )
    rows = await session.exec(
        select(Consultation, func.coalesce(respondents.c.n, 0))
        .outerjoin(respondents, respondents.c.consultation_id == Consultation.id)
        .order_by(col(Consultation.created_at).desc(), col(Consultation.id).desc())
    )
    return [(consultation, int(n)) for consultation, n in rows.all()]


async def close_consultation(session: AsyncSession, consultation: Consultation) -> None:
    consultation.status = "closed"
    consultation.closed_at = now()
    session.add(consultation)


async def set_flow_version(session: AsyncSession, consultation: Consultation, version: int) -> None:
    """New participants get this version of the consultation's flow; sessions keep the version they started."""
    consultation.flow_version = version
    session.add(consultation)
    await session.flush()


# ---- participants and sessions ----


async def participant_by_pseudonym(session: AsyncSession, pseudonym: str) -> Participant | None:
    result = await session.exec(select(Participant).where(Participant.pseudonym == pseudonym))
    return result.first()


async def get_or_create_participant(session: AsyncSession, pseudonym: str, language: str) -> Participant:
    participant = await participant_by_pseudonym(session, pseudonym)
    if participant is None:
        participant = Participant(pseudonym=pseudonym, language=language, created_on=today())
        session.add(participant)
        await session.flush()
    return participant


async def session_for(session: AsyncSession, participant_id: int, consultation_id: int) -> ConversationSession | None:
    result = await session.exec(
        select(ConversationSession).where(
            ConversationSession.participant_id == participant_id,
            ConversationSession.consultation_id == consultation_id,
        )
    )
    return result.first()


async def current_session(
    session: AsyncSession, participant_id: int, statuses: Sequence[str] = LIVE_STATUSES
) -> ConversationSession | None:
    """The participant's most recently used session in one of `statuses`."""
    result = await session.exec(
        select(ConversationSession)
        .where(
            ConversationSession.participant_id == participant_id,
            col(ConversationSession.status).in_(statuses),
        )
        .order_by(col(ConversationSession.updated_at).desc(), col(ConversationSession.id).desc())
        .limit(1)
    )
    return result.first()


async def save_session(session: AsyncSession, row: ConversationSession) -> ConversationSession:
    row.updated_at = now()
    session.add(row)
    await session.flush()
    return row


# ---- answers and consent ----


async def record_consent(
    session: AsyncSession, participant_id: int, consultation_id: int, version: str
) -> ConsentRecord:
    record = ConsentRecord(
        participant_id=participant_id,
        consultation_id=consultation_id,
        consent_version=version,
        given_on=today(),
    )
    session.add(record)
    await session.flush()
    return record


async def has_consent(session: AsyncSession, participant_id: int, consultation_id: int) -> bool:
    result = await session.exec(
        select(func.count())
        .select_from(ConsentRecord)
        .where(ConsentRecord.participant_id == participant_id, ConsentRecord.consultation_id == consultation_id)
    )
    return bool(result.one())


@dataclass(frozen=True)
class AnswerValue:
    """What to store for one question: codes, or an already redacted and encrypted text, or a skip."""

    question_id: str
    codes: tuple[str, ...] | None = None
    text_cipher: bytes | None = None
    key_id: str | None = None
    skipped: bool = False


async def upsert_answer(session: AsyncSession, row: ConversationSession, value: AnswerValue) -> None:
    """Store (or replace) the answer to one question of a session, in one statement, written with the
    transaction's other writes (`storage.gather`). Refused without a consent record (the transaction fails): the
    answer is only written where the participant's consent for the consultation exists."""
    if row.id is None:
        raise StorageError("the session must be saved before it takes answers")
    values = {
        "session_id": row.id,
        "consultation_id": row.consultation_id,
        "question_id": value.question_id,
        "choice_codes": " ".join(value.codes) if value.codes else None,
        "skipped": value.skipped,
        "text_cipher": value.text_cipher,
        "key_id": value.key_id,
        "answered_on": today(),
        "participant_id": row.participant_id,
    }
    gather(session, AnswerWrite(values))


class AnswerWrite(Part):
    """One answer's upsert (`upsert_answer`); refused, and the transaction with it, without a consent record."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def shape(self) -> tuple[()]:
        return ()

    def params(self) -> dict[str, Any]:
        return {f"a_{name}": value for name, value in self.values.items()}

    def run(self, session: Session) -> None:
        result = session.execute(_upsert_answer_statement(session.get_bind().dialect.name), self.values)
        self.done(result.rowcount)  # type: ignore[attr-defined]

    @classmethod
    def query(cls, shape: tuple[()]) -> tuple[Any, Callable[[Any], Any]]:
        table = Answer.__table__  # type: ignore[attr-defined]
        written = _upsert_answer_statement("postgresql", "a_").returning(table.c.id)
        return written, lambda cte: sa_select(func.count()).select_from(cte).scalar_subquery()

    def done(self, value: Any) -> None:
        if not value:
            raise StorageError("refusing to store an answer without a consent record")


ANSWER_COLUMNS = (
    "session_id",
    "consultation_id",
    "question_id",
    "choice_codes",
    "skipped",
    "text_cipher",
    "key_id",
    "answered_on",
)


def dialect_of(session: AsyncSession) -> str:
    """The session's database dialect ("sqlite" or "postgresql")."""
    return session.bind.dialect.name if session.bind is not None else "sqlite"


@functools.cache
def _upsert_answer_statement(dialect: str, prefix: str = "") -> Any:
    """`upsert_answer`'s statement, made once per dialect with its values as bound parameters (building it, its
    `excluded` columns and its cache key on every answer cost more CPU than the database running it), named
    `prefix` + the column's name."""
    table = Answer.__table__  # type: ignore[attr-defined]
    consented = exists().where(
        col(ConsentRecord.participant_id) == bindparam(f"{prefix}participant_id"),
        col(ConsentRecord.consultation_id) == bindparam(f"{prefix}consultation_id"),
    )
    source = sa_select(
        *(bindparam(f"{prefix}{name}", type_=table.c[name].type).label(name) for name in ANSWER_COLUMNS)
    ).where(consented)
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(table).from_select(list(ANSWER_COLUMNS), source)
    replaced = ("choice_codes", "skipped", "text_cipher", "key_id", "answered_on")
    return statement.on_conflict_do_update(
        index_elements=["session_id", "question_id"], set_={name: statement.excluded[name] for name in replaced}
    )


async def delete_answers(session: AsyncSession, session_id: int, question_ids: Sequence[str]) -> None:
    """Remove answers that no longer apply (their question is now skipped by a condition)."""
    if question_ids:
        await session.exec(
            delete(Answer).where(col(Answer.session_id) == session_id, col(Answer.question_id).in_(question_ids))
        )


async def answers_of_session(session: AsyncSession, session_id: int) -> list[Answer]:
    result = await session.exec(select(Answer).where(Answer.session_id == session_id).order_by(col(Answer.id)))
    return list(result.all())


# ---- idempotency ----


async def claim_update(session: AsyncSession, update_id: int) -> bool:
    """Record an update id; False when it was already processed (a retry or a replay)."""
    statement = _claim_statement(dialect_of(session))
    result = await session.exec(statement, params={"update_id": update_id, "processed_at": now()})
    return bool(result.rowcount)


@functools.cache
def _claim_statement(dialect: str) -> Any:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = ProcessedUpdate.__table__  # type: ignore[attr-defined]
    return insert(table).on_conflict_do_nothing(index_elements=["update_id"])


async def purge_processed_updates(session: AsyncSession, older_than: timedelta = timedelta(days=2)) -> int:
    """Telegram keeps an update at most 24 h, so ids older than that can never come back."""
    result = await session.exec(delete(ProcessedUpdate).where(col(ProcessedUpdate.processed_at) < now() - older_than))
    return int(result.rowcount)


# ---- aggregates for summaries ----


@dataclass(frozen=True)
class AnswerGroup:
    question_id: str
    choice_codes: str | None
    skipped: bool
    has_text: bool
    count: int


async def answer_groups(session: AsyncSession, consultation_id: int) -> list[AnswerGroup]:
    """Counts of identical answers per question (SQL aggregate; no row-level data leaves here)."""
    has_text = col(Answer.text_cipher).is_not(None)
    connection = await session.connection()
    rows = await connection.execute(
        sa_select(col(Answer.question_id), col(Answer.choice_codes), col(Answer.skipped), has_text, func.count())
        .where(col(Answer.consultation_id) == consultation_id)
        .group_by(col(Answer.question_id), col(Answer.choice_codes), col(Answer.skipped), has_text)
    )
    return [AnswerGroup(q, codes, bool(skipped), bool(text), int(n)) for q, codes, skipped, text, n in rows.all()]


async def respondent_count(session: AsyncSession, consultation_id: int) -> int:
    result = await session.exec(
        select(func.count())
        .select_from(ConversationSession)
        .where(ConversationSession.consultation_id == consultation_id)
    )
    return int(result.one())
