"""Questionnaires uploaded through the dashboard (imported XLSForms), stored as flow YAML so that every worker
loads them next to the shipped ones."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.errors import StorageError
from storage.models import StoredFlow
from storage.repository import now


async def store_flow(
    session: AsyncSession,
    *,
    flow_id: str,
    version: int,
    organisation_id: int | None,
    source_name: str,
    document: str,
    report: str,
) -> StoredFlow:
    if await stored_flow(session, flow_id, version) is not None:
        raise StorageError(f"questionnaire {flow_id!r} version {version} is already stored")
    row = StoredFlow(
        flow_id=flow_id,
        version=version,
        organisation_id=organisation_id,
        source_name=source_name[:200],
        document=document,
        report=report,
        created_at=now(),
    )
    session.add(row)
    await session.flush()
    return row


async def stored_flow(session: AsyncSession, flow_id: str, version: int) -> StoredFlow | None:
    result = await session.exec(select(StoredFlow).where(StoredFlow.flow_id == flow_id, StoredFlow.version == version))
    return result.first()


async def stored_flows(session: AsyncSession, organisation_id: int | None = None) -> list[StoredFlow]:
    """Every stored questionnaire, or those one organisation uploaded, oldest first."""
    query = select(StoredFlow).order_by(col(StoredFlow.id))
    if organisation_id is not None:
        query = query.where(StoredFlow.organisation_id == organisation_id)
    return list((await session.exec(query)).all())


async def latest_version(session: AsyncSession, flow_id: str) -> int:
    """The highest stored version of a flow id (0 when none)."""
    rows = await session.exec(select(StoredFlow.version).where(StoredFlow.flow_id == flow_id))
    return max((int(v) for v in rows.all()), default=0)
