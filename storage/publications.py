"""SQL for publications: the frozen, numbered summaries of a consultation; and the live views shown to its
facilitators, kept in the same table (negative numbers: -1, -2, ...) so that every table ever shown about a
consultation is one chain, in the order it was made (ids grow), that the disclosure control checks against."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Consultation, Publication
from storage.repository import now


async def publications(session: AsyncSession, consultation_id: int) -> list[Publication]:
    """Every publication of a consultation, oldest first (never a live view)."""
    rows = await session.exec(
        select(Publication)
        .where(Publication.consultation_id == consultation_id, col(Publication.number) > 0)
        .order_by(col(Publication.number))
    )
    return list(rows.all())


async def shown(session: AsyncSession, consultation_id: int) -> list[Publication]:
    """Every table shown about a consultation, publications and live views (number < 0), in the order made."""
    rows = await session.exec(
        select(Publication).where(Publication.consultation_id == consultation_id).order_by(col(Publication.id))
    )
    return list(rows.all())


async def last_shown_id(session: AsyncSession, consultation_id: int) -> int | None:
    """The id of the newest publication or live view (None: nothing shown yet)."""
    rows = await session.exec(
        select(Publication.id)
        .where(Publication.consultation_id == consultation_id)
        .order_by(col(Publication.id).desc())
        .limit(1)
    )
    return rows.first()


async def lock_consultation(session: AsyncSession, consultation_id: int) -> None:
    """Hold the consultation's row until the transaction ends (PostgreSQL; SQLite has one writer): a new
    publication or live view is stored by one process at a time, after checking nothing was shown meanwhile."""
    await session.exec(select(Consultation.id).where(Consultation.id == consultation_id).with_for_update())


async def add_publication(
    session: AsyncSession,
    consultation_id: int,
    *,
    number: int,
    final: bool,
    respondents: int,
    min_cell: int,
    payload: str,
    at: datetime | None = None,
) -> Publication:
    """A publication (number >= 1) or a live view (number <= -1)."""
    publication = Publication(
        consultation_id=consultation_id,
        number=number,
        final=final,
        respondents=respondents,
        min_cell=min_cell,
        created_at=at or now(),
        payload=payload,
    )
    session.add(publication)
    await session.flush()
    return publication
