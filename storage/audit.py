"""The audit log: append an entry, read entries. Nothing here (or anywhere) updates or deletes one; the database
refuses it too (triggers of migration 0005)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditEntry
from storage.repository import now


async def append(
    session: AsyncSession, *, actor_id: int | None, actor: str, action: str, target: str = "", detail: str = ""
) -> AuditEntry:
    """One entry, in the caller's transaction (so the action and its record commit together)."""
    entry = AuditEntry(
        at=now(), actor_id=actor_id, actor=actor[:64], action=action[:40], target=target[:80], detail=detail[:300]
    )
    session.add(entry)
    await session.flush()
    return entry


async def entries(
    session: AsyncSession, *, limit: int = 100, before_id: int | None = None, action: str | None = None
) -> list[AuditEntry]:
    """Newest first; `before_id` pages back."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if before_id is not None:
        query = query.where(col(AuditEntry.id) < before_id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list((await session.exec(query)).all())


async def entry_count(session: AsyncSession) -> int:
    return int((await session.exec(select(func.count()).select_from(AuditEntry))).one())
