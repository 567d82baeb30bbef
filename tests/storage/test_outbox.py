"""The outbox's claiming (storage/outbox.py), under random interleavings of several workers (hypothesis): a row
is never held by two workers at once, nor sent twice; per chat one row at a time, sent in order; a crashed
worker's rows come back once its lease expires; in the end every row is sent once or failed."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import SQLModel, select

from storage import conversations, outbox
from storage.database import Database
from storage.models import OutboxMessage
from storage.privacy import KeyRing
from storage.repository import now

CHATS = ("a", "b", "c")
WORKERS = ("w0", "w1", "w2")
KEYS = KeyRing([("k1", bytes(range(32)))])

enqueue = st.tuples(st.just("enqueue"), st.sampled_from(CHATS), st.just(0))
claim = st.tuples(st.just("claim"), st.sampled_from(WORKERS), st.integers(1, 3))
finish = st.tuples(st.sampled_from(["sent", "retry", "failed"]), st.sampled_from(WORKERS), st.integers(0, 5))
crash = st.tuples(st.just("crash"), st.sampled_from(WORKERS), st.just(0))
operations = st.lists(st.one_of(enqueue, claim, finish, crash), min_size=5, max_size=40)


@dataclass
class Model:
    """What the workers hold and what was sent, as Telegram would see it."""

    clock: datetime = field(default_factory=now)
    held: dict[str, list[outbox.Claimed]] = field(default_factory=lambda: {w: [] for w in WORKERS})
    sent: dict[str, list[int]] = field(default_factory=lambda: {c: [] for c in CHATS})
    failed: set[int] = field(default_factory=set)
    enqueued: dict[str, list[int]] = field(default_factory=lambda: {c: [] for c in CHATS})

    def holding(self) -> list[outbox.Claimed]:
        return [row for rows in self.held.values() for row in rows]


async def scenario(steps: list[tuple[str, str, int]], path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{path}")
    async with database.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all)
    model = Model()
    serial = 0
    try:
        for op, who, n in steps:
            if op == "enqueue":
                serial += 1
                async with database.transaction() as session:
                    await outbox.enqueue(session, KEYS, who, serial, [outbox.Item(outbox.SEND, {"n": serial})])
            elif op == "claim":
                await take(database, model, who, n)
            elif op == "crash":
                await crashed(database, model, who)
            else:
                await settle(database, model, who, n, op)
        for worker in WORKERS:  # the survivors finish what they hold
            while model.held[worker]:
                await settle(database, model, worker, 0, "sent")
        for _ in range(500):  # one worker drains the rest
            if not await take(database, model, "w0", 3):
                break
            while model.held["w0"]:
                await settle(database, model, "w0", 0, "sent")
        async with database.reader() as session:
            rows = (await session.exec(select(OutboxMessage))).all()
        assert all(row.state == outbox.FAILED for row in rows), "rows left unsent"
        assert {row.id for row in rows} == model.failed
        for chat in CHATS:
            assert model.sent[chat] == sorted(model.sent[chat]), f"chat {chat} out of order"
            assert len(model.sent[chat]) == len(set(model.sent[chat])), f"chat {chat}: a row sent twice"
    finally:
        await database.dispose()


async def take(database: Database, model: Model, worker: str, limit: int) -> int:
    async with database.transaction() as session:
        claimed = await outbox.claim(session, KEYS, worker, limit, at=max(model.clock, now()))
    for row in claimed:
        assert all(row.id != other.id for other in model.holding()), "a row held by two workers"
        assert all(row.chat_key != other.chat_key for other in model.holding()), "two rows of a chat in flight"
        assert row.payload["n"] == row.update_id  # decrypted, and bound to its row
        model.held[worker].append(row)
    return len(claimed)


async def settle(database: Database, model: Model, worker: str, index: int, outcome: str) -> None:
    rows = model.held[worker]
    if not rows:
        return
    row = rows.pop(index % len(rows))
    async with database.transaction() as session:
        if outcome == "sent":
            model.sent[row.chat_key].append(row.id)  # Telegram shows it, then it is marked
            await outbox.mark_sent(session, row.id, worker)
        elif outcome == "retry":
            await outbox.retry_later(session, KEYS, row.id, worker, after=0)
        else:
            model.failed.add(row.id)
            await outbox.mark_failed(session, row.id, worker)


async def crashed(database: Database, model: Model, worker: str) -> None:
    """The worker dies holding its rows (nothing sent); the others finish theirs; the lease runs out."""
    model.held[worker] = []
    for other in WORKERS:
        while model.held[other]:
            await settle(database, model, other, 0, "sent")
    model.clock = max(model.clock, now()) + outbox.LEASE + timedelta(seconds=1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_workers_never_send_a_row_twice_and_keep_each_chat_in_order(steps: list[tuple[str, str, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(scenario(steps, Path(folder) / "outbox.db"))


async def test_a_duplicate_update_makes_its_unsent_rows_due_again(sqlite_database: Database) -> None:
    database = sqlite_database
    async with database.transaction() as session:
        items = [outbox.Item(outbox.SEND, {"n": n}) for n in (1, 2)]
        await outbox.enqueue(session, KEYS, "chat", 77, items)
    async with database.transaction() as session:
        [first] = await outbox.claim(session, KEYS, "w", 5)
    async with database.transaction() as session:  # Telegram refused the first: failed, the chat goes on
        await outbox.mark_failed(session, first.id, "w")
    async with database.transaction() as session:
        [second] = await outbox.claim(session, KEYS, "w", 5)
        await outbox.retry_later(session, KEYS, second.id, "w", after=3600)  # backing off for an hour
    async with database.transaction() as session:
        assert await outbox.claim(session, KEYS, "w", 5) == []
        assert await outbox.resend_unsent(session, 77) == 2  # the same update, delivered again
    async with database.transaction() as session:
        [again] = await outbox.claim(session, KEYS, "w", 5)
    assert again.payload == {"n": 1}  # in order: the refused one first, its content kept for this


async def test_rows_written_leased_go_to_their_worker_and_to_others_only_when_given_back(
    sqlite_database: Database,
) -> None:
    """The fast lane: rows written leased to a worker are handed to it (payloads in the clear, in order) and
    cannot be claimed by another until it gives them back (or their lease runs out); then in order, head first."""
    database = sqlite_database
    async with database.transaction() as session:
        items = [outbox.Item(outbox.SEND, {"n": n}) for n in (1, 2)]
        handed = await outbox.enqueue(session, KEYS, "chat", 5, items, lease_to="w0")
    assert [row.payload for row in handed] == [{"n": 1}, {"n": 2}]
    assert handed[0].id < handed[1].id
    async with database.transaction() as session:
        assert await outbox.claim(session, KEYS, "w1", 5) == []
        await outbox.release(session, [row.id for row in handed], "w1")  # not w1's to give back: nothing
        assert await outbox.claim(session, KEYS, "w1", 5) == []
        await outbox.release(session, [handed[1].id], "w0")  # the second given back: still behind the first
        assert await outbox.claim(session, KEYS, "w1", 5) == []
        await outbox.release(session, [handed[0].id], "w0")
    async with database.transaction() as session:
        [first] = await outbox.claim(session, KEYS, "w1", 5)
    assert first.id == handed[0].id and first.payload == {"n": 1}


async def test_a_lease_is_renewed_only_while_it_is_still_held(sqlite_database: Database) -> None:
    database = sqlite_database
    async with database.transaction() as session:
        handed = await outbox.enqueue(session, KEYS, "chat", 6, [outbox.Item(outbox.SEND, {"n": 1})], lease_to="w0")
    [row] = handed  # filled when the transaction's writes ran (storage.gather)
    async with database.transaction() as session:
        assert await outbox.renew(session, row.id, "w0")
        assert not await outbox.renew(session, row.id, "w1")
    later = now() + outbox.LEASE * 3  # w0 stalled: its lease ran out and w1 took the row
    async with database.transaction() as session:
        [taken] = await outbox.claim(session, KEYS, "w1", 5, at=later)
        assert taken.id == row.id
        assert not await outbox.renew(session, row.id, "w0")  # w0 must not send it now


async def test_deliveries_of_several_chats_are_recorded_in_one_go(sqlite_database: Database) -> None:
    database = sqlite_database
    async with database.transaction() as session:
        for chat in ("a", "b"):
            await conversations.create_participant(session, chat, "en")
        handed = [
            await outbox.enqueue(session, KEYS, "a", 7, [outbox.Item(outbox.SEND, {"n": 1})], lease_to="w0"),
            await outbox.enqueue(session, KEYS, "b", 8, [outbox.Item(outbox.SEND, {"n": 2})], lease_to="w0"),
        ]
    rows = [row for rows in handed for row in rows]  # filled when the transaction's writes ran
    async with database.transaction() as session:
        await outbox.mark_sent_many(
            session,
            [outbox.Delivered(rows[0].id, "a", (101,)), outbox.Delivered(rows[1].id, "b", (201, 202))],
        )
    async with database.reader() as session:
        assert (await session.exec(select(OutboxMessage))).all() == []
        assert sorted(await outbox.kept_message_ids(session, "a")) == [101]
        assert sorted(await outbox.kept_message_ids(session, "b")) == [201, 202]
