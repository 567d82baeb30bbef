"""Consultations open and close by themselves at the times their facilitators set: a periodic task of the running
process (`run_schedule`), idempotent, so several workers may run it at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from consultations.questionnaires import Questionnaires
from storage import audit, schedule
from storage import repository as repo
from storage.database import Database

log = logging.getLogger(__name__)

EVERY_SECONDS = 60.0


@dataclass
class ScheduleRun:
    opened: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)


async def apply_schedule(database: Database, at: datetime | None = None) -> ScheduleRun:
    """Open the scheduled consultations whose time has come, close those past their closing time."""
    at = at or repo.now()
    done = ScheduleRun()
    async with database.transaction() as session:
        for consultation in await schedule.due_to_open(session, at):
            if consultation.closes_at is not None and consultation.closes_at <= at:
                continue  # closes below without ever opening
            await schedule.mark_open(session, consultation)
            await audit.append(
                session,
                actor_id=None,
                actor="schedule",
                action="consultation opened",
                target=f"consultation:{consultation.id}",
            )
            done.opened.append(consultation.code)
        for consultation in await schedule.due_to_close(session, at):
            await repo.close_consultation(session, consultation)
            await schedule.save_consultation(session, consultation)
            await audit.append(
                session,
                actor_id=None,
                actor="schedule",
                action="consultation closed",
                target=f"consultation:{consultation.id}",
            )
            done.closed.append(consultation.code)
    return done


async def run_schedule(
    database: Database,
    questionnaires: Questionnaires | None = None,
    every_seconds: float = EVERY_SECONDS,
    *,
    after_close: Callable[[list[str]], Awaitable[object]] | None = None,
) -> None:
    """Forever: apply the schedule, and load questionnaires other workers stored; a failure is logged (its kind
    only) and tried again next time. `after_close` gets the codes of the consultations just closed (the
    dashboard makes their final publications)."""
    while True:
        try:
            done = await apply_schedule(database)
            if done.closed and after_close is not None:
                await after_close(done.closed)
            if done.opened or done.closed:
                log.info(
                    "consultations opened %d, closed %d",
                    len(done.opened),
                    len(done.closed),
                    extra={"event": "schedule.applied"},
                )
            if questionnaires is not None:
                await questionnaires.refresh()
        except Exception as exc:
            log.error(
                "consultation schedule failed: %s",
                type(exc).__name__,
                extra={"event": "schedule.failed", "error": type(exc).__name__},
            )
        await asyncio.sleep(every_seconds)
