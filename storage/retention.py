"""Retention: purge the raw data of consultations closed longer ago than their retention period, keeping their
aggregate snapshot; drop message ids past the safe-exit window, processed update ids, and orphan participants.

`python -m bot purge [--dry-run]` and the daily job of `python -m bot run` both call `purge`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.errors import StorageError
from storage import outbox, themes
from storage import repository as repo
from storage import summaries as summaries_sql
from storage.database import Database, request_scrub
from storage.models import (
    Answer,
    ConsentRecord,
    Consultation,
    ConversationSession,
    Participant,
    ProcessedUpdate,
    ResultsOptIn,
    SentMessage,
)
from storage.privacy_ops import SAFE_EXIT_WINDOW

GROUP_QUESTION = "group"
"""The question whose answer is a participant's group (survivor flows): the snapshot keeps counts per group."""
PROCESSED_UPDATE_WINDOW = timedelta(days=2)
ORPHAN_GRACE = timedelta(days=2)
"""A participant row with nothing else left is deleted only when older than this (never one being set up)."""


@dataclass(frozen=True)
class ConsultationPurge:
    """Rows of one consultation deleted (or, in a dry run, that would be) after writing its snapshot."""

    code: str
    closed_at: datetime | None
    answers: int
    sessions: int
    consent_records: int
    results_opt_ins: int


@dataclass
class PurgeReport:
    dry_run: bool
    consultations: list[ConsultationPurge] = field(default_factory=list)
    message_ids: int = 0
    processed_updates: int = 0
    participants: int = 0


def is_due(consultation: Consultation, at: datetime) -> bool:
    """Closed, not yet purged, and closed at least `retention_days` ago."""
    return (
        consultation.status == "closed"
        and consultation.closed_at is not None
        and consultation.purged_at is None
        and consultation.closed_at + timedelta(days=consultation.retention_days) <= at
    )


async def due_for_purge(session: AsyncSession, at: datetime | None = None) -> list[Consultation]:
    at = at or repo.now()
    closed = await session.exec(
        select(Consultation)
        .where(Consultation.status == "closed", col(Consultation.purged_at).is_(None))
        .order_by(col(Consultation.id))
    )
    return [c for c in closed.all() if is_due(c, at)]


async def purge_consultation(
    session: AsyncSession, consultation: Consultation, *, dry_run: bool = False
) -> ConsultationPurge:
    """Snapshot (counts per question, group, channel and theme), keep the approved quotes apart from any answer,
    then delete the raw answers, sessions, consent records and results opt-ins of one consultation."""
    if consultation.id is None:
        raise StorageError("only a saved consultation can be purged")
    cid = consultation.id
    tables = (
        (Answer, Answer.consultation_id),
        (ConversationSession, ConversationSession.consultation_id),
        (ConsentRecord, ConsentRecord.consultation_id),
        (ResultsOptIn, ResultsOptIn.consultation_id),
    )
    counts: list[int] = []
    if dry_run:
        for table, column in tables:
            counted = await session.exec(select(func.count()).select_from(table).where(column == cid))
            counts.append(int(counted.one()))
    else:
        await summaries_sql.write_snapshot(session, cid, GROUP_QUESTION)
        await themes.detach_approved_quotes(session, cid)
        for table, column in tables:
            deleted = await session.exec(delete(table).where(col(column) == cid))
            counts.append(int(deleted.rowcount))
        consultation.purged_at = repo.now()
        session.add(consultation)
        await session.flush()
        request_scrub(session)
    return ConsultationPurge(consultation.code, consultation.closed_at, *counts)


async def orphan_pseudonyms(session: AsyncSession, at: datetime | None = None) -> list[str]:
    """Participants older than the grace period with nothing left: no session, consent, message id or opt-in."""
    cutoff = ((at or repo.now()) - ORPHAN_GRACE).date()
    pid = Participant.id
    result = await session.exec(
        select(Participant.pseudonym).where(
            col(Participant.created_on) < cutoff,
            ~exists().where(col(ConversationSession.participant_id) == pid),
            ~exists().where(col(ConsentRecord.participant_id) == pid),
            ~exists().where(col(SentMessage.participant_id) == pid),
            ~exists().where(col(ResultsOptIn.participant_id) == pid),
        )
    )
    return list(result.all())


async def _delete_orphan(session: AsyncSession, pseudonym: str, at: datetime) -> int:
    """Delete one orphan participant, re-checked under its lock (it may have come back meanwhile)."""
    if pseudonym not in await orphan_pseudonyms(session, at):
        return 0
    result = await session.exec(delete(Participant).where(col(Participant.pseudonym) == pseudonym))
    request_scrub(session)
    return int(result.rowcount)


async def purge_expired_ids(database: Database, at: datetime | None = None) -> tuple[int, int]:
    """The cheap, frequent part: message ids past 48 h, processed update ids past 2 days, failed outbox rows."""
    at = at or repo.now()
    async with database.transaction() as session:
        messages = await session.exec(delete(SentMessage).where(col(SentMessage.sent_at) < at - SAFE_EXIT_WINDOW))
        updates = await session.exec(
            delete(ProcessedUpdate).where(col(ProcessedUpdate.processed_at) < at - PROCESSED_UPDATE_WINDOW)
        )
        await outbox.purge_done(session, at)  # outbox rows that failed (sent ones go as they are sent)
    return int(messages.rowcount), int(updates.rowcount)


async def purge(database: Database, *, dry_run: bool = False, at: datetime | None = None) -> PurgeReport:
    """Everything retention removes, each consultation in its own transaction; `dry_run` only counts."""
    at = at or repo.now()
    report = PurgeReport(dry_run=dry_run)
    async with database.reader() as session:
        due = await due_for_purge(session, at)
    for consultation in due:
        async with database.transaction() as session:
            # Locked (PostgreSQL): workers running the daily job at once purge, and snapshot, each consultation once.
            current = await session.get(Consultation, consultation.id, with_for_update=not dry_run)
            if current is not None and is_due(current, at):
                report.consultations.append(await purge_consultation(session, current, dry_run=dry_run))
    if dry_run:
        async with database.reader() as session:
            messages = await session.exec(
                select(func.count()).select_from(SentMessage).where(col(SentMessage.sent_at) < at - SAFE_EXIT_WINDOW)
            )
            updates = await session.exec(
                select(func.count())
                .select_from(ProcessedUpdate)
                .where(col(ProcessedUpdate.processed_at) < at - PROCESSED_UPDATE_WINDOW)
            )
            report.message_ids, report.processed_updates = int(messages.one()), int(updates.one())
            report.participants = len(await orphan_pseudonyms(session, at))
        return report
    report.message_ids, report.processed_updates = await purge_expired_ids(database, at)
    async with database.reader() as session:
        orphans = await orphan_pseudonyms(session, at)
    for pseudonym in orphans:
        async with database.transaction(lock_key=pseudonym) as session:
            report.participants += await _delete_orphan(session, pseudonym, at)
    return report
