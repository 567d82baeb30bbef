"""A consultation's schedule and organisation: which are due to open or close, and an organisation's list."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Consultation

SCHEDULED = "scheduled"
OPEN = "open"
CLOSED = "closed"


async def due_to_open(session: AsyncSession, at: datetime) -> list[Consultation]:
    """Scheduled consultations whose opening time has come."""
    result = await session.exec(
        select(Consultation).where(
            Consultation.status == SCHEDULED, col(Consultation.opens_at).is_not(None), col(Consultation.opens_at) <= at
        )
    )
    return list(result.all())


async def due_to_close(session: AsyncSession, at: datetime) -> list[Consultation]:
    """Open (or still scheduled) consultations whose closing time has come."""
    result = await session.exec(
        select(Consultation).where(
            col(Consultation.status).in_((SCHEDULED, OPEN)),
            col(Consultation.closes_at).is_not(None),
            col(Consultation.closes_at) <= at,
        )
    )
    return list(result.all())


async def mark_scheduled(session: AsyncSession, consultation: Consultation) -> None:
    """Not open yet: its invites say so until `opens_at`."""
    consultation.status = SCHEDULED
    await save_consultation(session, consultation)


async def mark_open(session: AsyncSession, consultation: Consultation, at: datetime | None = None) -> None:
    """Open from now (or from `at`): its invites work."""
    consultation.status = OPEN
    if at is not None:
        consultation.opens_at = at
    await save_consultation(session, consultation)


async def save_consultation(session: AsyncSession, consultation: Consultation) -> None:
    session.add(consultation)
    await session.flush()


async def consultations_of_organisation(session: AsyncSession, organisation_id: int) -> list[Consultation]:
    """An organisation's consultations, newest first."""
    result = await session.exec(
        select(Consultation)
        .where(Consultation.organisation_id == organisation_id)
        .order_by(col(Consultation.created_at).desc(), col(Consultation.id).desc())
    )
    return list(result.all())
