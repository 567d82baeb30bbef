"""Publications: what leaves the system. Each is a frozen, numbered, audited summary. A new one of a running
consultation needs at least k new respondents since the previous one; the final one is made when the
consultation closes. Every publication is made safe together with the ones before it (differencing)."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from config.errors import VoicesError
from storage import publications as store
from storage import repository as repo
from storage import summaries as sql
from storage.database import Database, DbSession
from storage.models import Publication
from storage.privacy import KeyRing
from summaries.build import consultation_or_fail, publishable, true_summary
from summaries.model import Summary
from summaries.questionnaire import FlowSource
from summaries.tables import Tables

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
    dashboard's audit log entry). It is made safe against every earlier publication and live view."""
    for _ in range(ATTEMPTS):
        made = await _publish(database, code, flows, keys, final, channel_labels, record)
        if made is not None:
            return made
    raise VoicesError(f"consultation {code}: tables kept being shown while a publication was made; try again")


def _shows_all_of(tables: Tables, shown: Tables) -> bool:
    """Whether `tables` shows every count `shown` showed."""
    return all(tables.counts.get(key) is not None for key, value in shown.counts.items() if value is not None)


async def _publish(
    database: Database,
    code: str,
    flows: FlowSource,
    keys: KeyRing | None,
    final: bool,
    channel_labels: dict[int | None, str] | None,
    record: Callable[[DbSession, Summary], Awaitable[object]] | None,
) -> Summary | None:
    """One attempt at `publish`: None when a live view or publication was stored meanwhile."""
    async with database.reader() as session:
        consultation, cid = await consultation_or_fail(session, code)
        rows = await store.publications(session, cid)
        shown = await store.shown(session, cid)
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
            f"consultation {code}: fewer than {k} (k) new respondents since publication {rows[-1].number}; a new "
            "publication needs at least k, so that nobody can be found by comparing two publications (how many "
            "fewer is not said: it would count the few who came in between)",
            TOO_FEW_NEW,
        )
    previous = [Summary.from_json(row.payload) for row in rows]
    earlier = [Summary.from_json(row.payload) for row in shown]  # publications and live views, in order
    true = await true_summary(database, code, flows, keys=keys, previous=previous, channel_labels=channel_labels)
    respondents = true.respondents or 0
    base = _base(shown, earlier)
    if new is not None and new < k:
        # The final one, with fewer than k people since the last publication: any change would be theirs alone.
        made = copy.deepcopy(previous[-1])
        made.carried_from = made.number
        made.consultation = true.consultation
    elif base is not None and base[0].number < 0 and respondents - base[0].respondents < k:
        # A live view was shown fewer than k people ago: anything newer would single those people out. The
        # current counts made safe against everything shown, when they still show every figure that view did
        # (nothing changed since, but what only the publication has: the themes coded since); else the
        # publication is that view (already safe against everything shown before it), with the approved quotes.
        safe = await asyncio.to_thread(publishable, true, earlier)
        if _shows_all_of(safe.tables, base[1].tables):
            made = safe
        else:
            made = copy.deepcopy(base[1])
            made.consultation = true.consultation
            made.quotes, made.tables.quotes = true.quotes, dict(true.tables.quotes)
            respondents = base[0].respondents
    else:
        made = await asyncio.to_thread(publishable, true, earlier)
    made.number = len(rows) + 1
    made.final = final
    made.made_on = repo.today().isoformat()
    made.tables.publication = made.number
    from summaries.audit import audit  # scipy: loaded when a publication is made, not by the bot's run

    chain = [s.tables for s in earlier]
    check = await asyncio.to_thread(audit, [*chain, made.tables], only=len(chain))
    if not check.safe and made.quotes and base is not None and made.tables.counts == base[1].tables.counts:
        made.quotes, made.tables.quotes = [], {}  # the view's figures with the quotes' counts would say more
        check = await asyncio.to_thread(audit, [*chain, made.tables], only=len(chain))
    if not check.safe:  # suppression ends only when the audit is clean; this guards against a regression
        raise VoicesError("refusing to publish: " + "; ".join(f.describe() for f in check.findings))
    async with database.transaction() as session:
        await store.lock_consultation(session, cid)
        if await store.last_shown_id(session, cid) != (shown[-1].id if shown else None):
            return None  # something was shown meanwhile: made safe against it too, from the start
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


async def live_view(database: Database, code: str, flows: FlowSource, *, wait: float | None = None) -> Summary:
    """The current counts for a facilitator's screen (the dashboard's live progress, `summary CODE --live`),
    under the disclosure control of a publication and safe against every table shown before (publications and
    earlier live views, wherever they were shown), so that no two can be subtracted to find anyone.

    The view moves in whole steps: until at least k people (or a quarter of those it counted, when that is more;
    twice as many once DOUBLING_AFTER views are stored: `step`) have taken part since the latest table that
    showed its number of respondents, that table is shown again (with fewer than k in between, a new view would
    have to hide nearly everything). Each new view is stored like a publication (its numbers only: no quote,
    nothing about a person) before it is shown; a refresh that would show the same tables stores nothing. So
    however often it is viewed, a consultation stores at most one live view per step, and few steps: each new
    view is checked against all earlier ones (integer programming, in a worker thread), whose cost grows with
    their number. The view is a Summary without a number: it never leaves the system.

    `wait`: seconds to wait for a new step; when it takes longer, the latest table already shown is returned and
    the step goes on in the background (one per consultation in this process), for a later refresh."""
    if wait is None:
        return await _live_view_attempts(database, code, flows)
    key = (id(database), code)
    task = _STEPPING.get(key)
    if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
        task = asyncio.create_task(_live_view_attempts(database, code, flows))
        _STEPPING[key] = task
        task.add_done_callback(lambda done: _stepped(key, done))
    try:
        return await asyncio.wait_for(asyncio.shield(task), wait)
    except TimeoutError:
        async with database.reader() as session:
            _, cid = await consultation_or_fail(session, code)
            shown = await store.shown(session, cid)
        earlier = [Summary.from_json(row.payload) for row in shown]
        base = _base(shown, earlier)
        if base is not None:
            return _as_live(base[1])
        if earlier:
            return _as_live(earlier[-1])
        return await asyncio.shield(task)  # nothing was ever shown: wait for the first view


_STEPPING: dict[tuple[int, str], asyncio.Task[Summary]] = {}
"""The live view steps being made in the background, per database and consultation."""


def _stepped(key: tuple[int, str], task: asyncio.Task[Summary]) -> None:
    if _STEPPING.get(key) is task:
        del _STEPPING[key]
    if not task.cancelled() and task.exception() is not None:  # retrieved: a later refresh tries again
        logging.getLogger(__name__).error("a live view step failed: %s", type(task.exception()).__name__)


async def _live_view_attempts(database: Database, code: str, flows: FlowSource) -> Summary:
    for _ in range(ATTEMPTS):
        made = await _live_view(database, code, flows)
        if made is not None:
            return made
    raise VoicesError(f"consultation {code}: tables kept being shown while a live view was made; try again")


async def _live_view(database: Database, code: str, flows: FlowSource) -> Summary | None:
    """One attempt at `live_view`: None when a live view or publication was stored meanwhile."""
    async with database.reader() as session:
        consultation, cid = await consultation_or_fail(session, code)
        shown = await store.shown(session, cid)
        earlier = [Summary.from_json(row.payload) for row in shown]
        base = _base(shown, earlier)
        k = consultation.min_cell
        views = sum(1 for row in shown if row.number < 0)
        needed = step(k, base[0].respondents, views) if base is not None else 0
        if base is not None and await sql.respondents_since(session, cid, base[0].created_at) < needed:
            return _as_live(base[1])
    publications_only = [s for row, s in zip(shown, earlier, strict=True) if row.number > 0]
    true = await true_summary(database, code, flows, keys=None, previous=publications_only)
    if base is not None and (true.respondents or 0) - base[0].respondents < needed:
        return _as_live(base[1])
    true.made_on = repo.today().isoformat()
    made = await asyncio.to_thread(_safe_view, true, earlier)
    if made is None:
        return _as_live(earlier[-1])
    async with database.transaction() as session:
        await store.lock_consultation(session, cid)
        if await store.last_shown_id(session, cid) != (shown[-1].id if shown else None):
            return None  # something was shown meanwhile: made safe against it too, from the start
        await store.add_publication(
            session,
            cid,
            number=min([0, *(row.number for row in shown)]) - 1,
            final=False,
            respondents=true.respondents or 0,
            min_cell=k,
            payload=made.to_json(),
        )
    return made


ATTEMPTS = 5
STEP_SHARE = 4
"""A live view moves on after k new people, or a quarter of those counted at its previous step when more."""
DOUBLING_AFTER = 8
"""Once a consultation has this many stored live views, each further step waits until the number of people has
doubled: the cost of a step grows with the number of views it is audited against (`bench/live_views.py`), so
their number stays small (DOUBLING_AFTER + log2 of the growth after that: 12 or 13 for 3,000 people, 21 or 22 for
a million)."""


def step(k: int, respondents: int, views: int = 0) -> int:
    """How many new people a live view waits for after showing `respondents` (always at least k), when `views`
    live views of the consultation are stored."""
    if views >= DOUBLING_AFTER:
        return max(k, respondents)
    return max(k, -(-respondents // STEP_SHARE))


def _safe_view(true: Summary, earlier: list[Summary]) -> Summary | None:
    """The live view of `true`, safe against the `earlier` tables shown (audited again, as a publication is);
    None when it would show the same as the last of them. CPU-bound: runs in a worker thread."""
    made = publishable(true, earlier)
    made.number = None
    made.tables.publication = 0
    if earlier and _same(made, earlier[-1]):
        return None
    from summaries.audit import audit

    chain = [s.tables for s in earlier]
    check = audit([*chain, made.tables], only=len(chain))
    if not check.safe:  # suppression ends only when the audit is clean; this guards against a regression
        raise VoicesError("refusing to show a live view: " + "; ".join(f.describe() for f in check.findings))
    return made


def _base(shown: list[Publication], summaries: list[Summary]) -> tuple[Publication, Summary] | None:
    """The latest table shown with its number of respondents (the point the next step is counted from)."""
    for row, summary in zip(reversed(shown), reversed(summaries), strict=True):
        if summary.respondents is not None:
            return row, summary
    return None


def _as_live(summary: Summary) -> Summary:
    """A table already shown, shown again as a live view."""
    out = copy.deepcopy(summary)
    out.number = None
    out.final = False
    out.carried_from = None
    out.tables.publication = 0
    return out


def _same(a: Summary, b: Summary) -> bool:
    """Whether two summaries show the same tables (so showing `a` after `b` shows nothing new)."""
    x, y = a.tables, b.tables
    return (
        x.counts == y.counts
        and [p.key for p in x.populations] == [p.key for p in y.populations]
        and x.questions == y.questions
        and x.medians == y.medians
        and x.quotes == y.quotes
        and a.numeric_medians == b.numeric_medians
    )


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
