"""The outbox's fast lane (issue 11, and issue 12's "the outbox must not cost more than it saves"): an ordinary
answer's replies are written already leased to the worker that handled it and handed to its sender after commit,
so no claim is needed, and the deliveries of many chats are recorded together. Counted here with the real PTB
Application and sender against the emulator, on SQLite and PostgreSQL, so the cost cannot grow back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlmodel import select

from sandbox import SandboxMessage, SandboxUser
from storage.database import Database
from storage.models import OutboxMessage, ProcessedUpdate, SentMessage
from tests.e2e.conftest import CODE, Harness
from tests.e2e.test_outbox import settle, wait_for


async def handled(h: Harness) -> int:
    """How many updates were handled (committed)."""
    async with h.database.reader() as session:
        return len((await session.exec(select(ProcessedUpdate))).all())


async def _at_least(h: Harness, count: int) -> bool:
    return await handled(h) >= count


async def to_group_question(h: Harness, user: SandboxUser) -> SandboxMessage:
    [consent] = await h.send(user, f"/start {CODE}")
    return await h.agree(user, consent)


@contextmanager
def transactions_seen(database: Database) -> Iterator[list[list[str]]]:
    """Every transaction run meanwhile, each as its statements, told apart by connection (the sender's and the
    handlers' run at once); PostgreSQL's per-participant lock left out."""
    done: list[list[str]] = []
    open_: dict[int, list[str]] = {}

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "pg_advisory_xact_lock" not in statement:
            open_.setdefault(id(conn), []).append(" ".join(statement.split()))

    def end(conn: Any) -> None:
        if open_.get(id(conn)):
            done.append(open_.pop(id(conn)))

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "commit", end)
    event.listen(engine, "rollback", end)
    try:
        yield done
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "commit", end)
        event.remove(engine, "rollback", end)


def claims(statements: list[str]) -> list[str]:
    """Rows taken by the claim loop (its idle look, a SELECT finding nothing, runs every half second anyway)."""
    return [s for s in statements if s.startswith("UPDATE outbox SET lease_owner") and "outbox.id = " in s]


async def test_an_answer_is_one_transaction_and_its_replies_need_no_claim(any_harness: Harness) -> None:
    h = any_harness
    user = h.user()
    question = await to_group_question(h, user)
    await settle(h)
    for _ in range(3):
        with transactions_seen(h.database) as found:
            [question] = await h.press(user, question, "Skip")
            await settle(h)
        statements = [s for t in found for s in t]
        update = next(t for t in found if t[0].startswith("INSERT INTO processed_update"))
        # claim, load, then the writes: the skip, state (and question shown), replies; on PostgreSQL one statement
        assert len(update) <= (3 if h.database.dialect == "postgresql" else 5), "\n".join(update)
        assert sum("INSERT INTO outbox" in s for s in update) == 1, update  # the replies, one statement
        assert sum("UPDATE session" in s for s in update) == 1, update  # state and question shown
        assert not claims(statements), "\n".join(claims(statements))  # handed over, not claimed
        recorded = [t for t in found if any(s.startswith("DELETE FROM outbox") for s in t)]
        assert recorded and all(len(t) <= 2 for t in recorded), recorded  # delete + the new ids, per batch
        others = [t for t in found if t is not update and t not in recorded]
        assert all(all(s.startswith("SELECT") for s in t) for t in others), others  # settle()'s and idle looks
    async with h.database.reader() as session:
        assert (await session.exec(select(OutboxMessage))).all() == []
        kept = {m.message_id for m in (await session.exec(select(SentMessage))).all()}
    sent = {m.message_id for m in h.emulator.chat(user.id) if m.from_bot}
    assert sent and sent <= kept  # every message the bot sent, recorded (batched) for the safe exit


async def test_deliveries_to_many_chats_are_recorded_together(harness: Harness) -> None:
    """Deliveries that finish while the record before them is being written are recorded together (group
    commit). Made certain, whatever the machine's speed: the Bot API takes 2 s a call, and the test holds the
    database's write lock for 4 s, so the 12 chats' edits (at 30 a second) finish before the first of them can
    be recorded."""
    h = harness
    users = [h.user(f"P{i}") for i in range(12)]
    questions = await asyncio.gather(*(to_group_question(h, u) for u in users))
    await settle(h)
    before = await handled(h)
    h.emulator.faults.slow(["editMessageText", "sendMessage"], 2.0)
    with transactions_seen(h.database) as found:
        for user, question in zip(users, questions, strict=True):
            h.emulator.user_presses_button(user, question.message_id, "Skip")
        await wait_for(lambda: _at_least(h, before + 12), within=30)
        async with h.database.transaction():  # nothing is recorded meanwhile; the edits go out
            await asyncio.sleep(4.0)
        await settle(h)
    statements = [s for t in found for s in t]
    updates = [t for t in found if t[0].startswith("INSERT INTO processed_update")]
    recorded = [t for t in found if any(s.startswith("DELETE FROM outbox WHERE outbox.id IN") for s in t)]
    assert len(updates) == 12
    # 24 messages (the answered question edited, the next one sent) for 12 chats: the edits that went out while
    # the lock was held recorded together (the first may have been taken alone before the lock), far fewer in all
    batches = [t[0].split(")")[0].count("?") for t in recorded]
    assert max(batches) >= 11 and len(recorded) < 24, batches
    assert not claims(statements)
