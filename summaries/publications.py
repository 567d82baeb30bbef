"""Publications: what leaves the system. Each is a frozen, numbered, audited summary. A new one of a running
consultation needs at least k new respondents since the previous one; the final one is made when the
consultation closes. Every publication is made safe together with the ones before it (differencing)."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from config.errors import VoicesError
from storage import publications as store
from storage import repository as repo
from storage import summaries as sql
from storage.database import Database, DbSession
from storage.privacy import KeyRing
from summaries.build import consultation_or_fail, publishable, true_summary
from summaries.model import Summary
from summaries.questionnaire import FlowSource

NO_PUBLICATION = "none"
TOO_FEW_NEW = "too few new"
ALREADY_FINAL = "already final"


class PublicationRefused(VoicesError):
    """A publication cannot be made now (too few new respondents, already final, ...): the message says why (in
    English, for the command line); `reason` (NO_PUBLICATION, TOO_FEW_NEW, ALREADY_FINAL) lets an adapter word it
    in the reader's language."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class PublicationInfo:
    number: int
    final: bool
    made_on: str
    respondents_shown: int | None


async def list_publications(database: Database, code: str) -> list[Summary]:
    """The consultation's publications, oldest first."""
    async with database.reader() as session:
        _, cid = await consultation_or_fail(session, code)
        rows = await store.publications(session, cid)
    return [Summary.from_json(row.payload) for row in rows]


async def latest_publication(database: Database, code: str) -> Summary | None:
    found = await list_publications(database, code)
    return found[-1] if found else None


async def publication(database: Database, code: str, number: int | None = None) -> Summary:
    """Publication `number` of a consultation (default: the latest); PublicationRefused when there is none."""
    found = await list_publications(database, code)
    if not found:
        raise PublicationRefused(
            f"consultation {code} has no publication yet (make one with: python -m bot summary publish {code})",
            NO_PUBLICATION,
        )
    if number is None:
        return found[-1]
    for summary in found:
        if summary.number == number:
            return summary
    raise PublicationRefused(
        f"consultation {code} has no publication {number} (it has 1 to {len(found)})", NO_PUBLICATION
    )


async def publish(
    database: Database,
    code: str,
    flows: FlowSource,
    *,
    keys: KeyRing | None = None,
    final: bool = False,
    channel_labels: dict[int | None, str] | None = None,
    record: Callable[[DbSession, Summary], Awaitable[object]] | None = None,
) -> Summary:
    """Make and store the next publication. Refused when the consultation already has its final one, or when a
    running consultation has fewer than k new respondents since the previous publication. A closed
    consultation's publication is its final one. `record` runs in the transaction that stores it (the
    dashboard's audit log entry)."""
    async with database.reader() as session:
        consultation, cid = await consultation_or_fail(session, code)
        rows = await store.publications(session, cid)
        new = await sql.respondents_since(session, cid, rows[-1].created_at) if rows else None
    closed = consultation.status == "closed"
    final = final or closed
    if rows and rows[-1].final:
        raise PublicationRefused(
            f"consultation {code} already has its final publication ({rows[-1].number})", ALREADY_FINAL
        )
    k = consultation.min_cell
    if new is not None and new < k and not final:
        raise PublicationRefused(
            f"consultation {code}: {new} new respondent(s) since publication {rows[-1].number}; a new publication "
            f"needs at least {k} (k), so that nobody can be found by comparing two publications",
            TOO_FEW_NEW,
        )
    previous = [Summary.from_json(row.payload) for row in rows]
    true = await true_summary(database, code, flows, keys=keys, previous=previous, channel_labels=channel_labels)
    if new is not None and new < k:
        # The final one, with fewer than k people since the last publication: any change would be theirs alone.
        made = copy.deepcopy(previous[-1])
        made.carried_from = made.number
        made.consultation = true.consultation
    else:
        made = publishable(true, previous)
    made.number = len(rows) + 1
    made.final = final
    made.made_on = repo.today().isoformat()
    made.tables.publication = made.number
    from summaries.audit import audit  # scipy: loaded when a publication is made, not by the bot's run

    check = audit([*(p.tables for p in previous), made.tables], only=len(previous))
    if not check.safe:  # suppression ends only when the audit is clean; this guards against a regression
        raise VoicesError("refusing to publish: " + "; ".join(f.describe() for f in check.findings))
    respondents = true.respondents or 0
    async with database.transaction() as session:
        await store.add_publication(
            session,
            cid,
            number=made.number or 0,
            final=final,
            respondents=respondents,
            min_cell=k,
            payload=made.to_json(),
        )
        if record is not None:
            await record(session, made)
    return made


async def close_and_publish(
    database: Database,
    code: str,
    flows: FlowSource,
    *,
    keys: KeyRing | None = None,
    channel_labels: dict[int | None, str] | None = None,
) -> Summary | None:
    """Close a consultation and make its final publication (None when it already had one)."""
    async with database.transaction() as session:
        consultation, cid = await consultation_or_fail(session, code)
        if consultation.status != "closed":
            await repo.close_consultation(session, consultation)
        rows = await store.publications(session, cid)
    if rows and rows[-1].final:
        return None
    return await publish(database, code, flows, keys=keys, final=True, channel_labels=channel_labels)
