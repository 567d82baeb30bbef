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
from storage.models import OutboxMessage, SentMessage
from tests.e2e.conftest import CODE, Harness
from tests.e2e.test_outbox import settle


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
        assert len(update) <= 5, "\n".join(update)  # claim, load, the skip, state (and question shown), replies
        assert sum(s.startswith("INSERT INTO outbox") for s in update) == 1, update  # the replies, one statement
        assert sum(s.startswith("UPDATE session") for s in update) == 1, update  # state and question shown
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
    h = harness
    users = [h.user(f"P{i}") for i in range(12)]
    questions = await asyncio.gather(*(to_group_question(h, u) for u in users))
    await settle(h)
    with transactions_seen(h.database) as found:
        await asyncio.gather(*(h.press(u, q, "Skip") for u, q in zip(users, questions, strict=True)))
        await settle(h)
    statements = [s for t in found for s in t]
    updates = [t for t in found if t[0].startswith("INSERT INTO processed_update")]
    recorded = [t for t in found if any(s.startswith("DELETE FROM outbox") for s in t)]
    assert len(updates) == 12
    # 24 messages (the answered question edited, the next one sent) for 12 chats: fewer record transactions
    assert 1 <= len(recorded) < 24, len(recorded)
    assert not claims(statements)
