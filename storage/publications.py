"""SQL for publications: the frozen, numbered summaries of a consultation."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Publication
from storage.repository import now


async def publications(session: AsyncSession, consultation_id: int) -> list[Publication]:
    """Every publication of a consultation, oldest first."""
    rows = await session.exec(
        select(Publication).where(Publication.consultation_id == consultation_id).order_by(col(Publication.number))
    )
    return list(rows.all())


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
