"""The transactional outbox: what a participant's chat must receive (replies, edits, deletions), written in the
transaction of the state change it belongs to, then claimed, sent and marked by the sender (bot/outbox.py).

Ordering: per chat (`chat_key`, the pseudonym) strictly by row id, one row in flight: only a chat's oldest
pending row (its head) can be claimed, and only while no live lease is on it. Claiming is a compare-and-set
on the lease (`UPDATE ... WHERE lease expired`), so several workers never hold the same row at once; on
PostgreSQL the candidates are read `FOR UPDATE SKIP LOCKED` so workers do not queue behind each other.
A worker that dies leaves its lease to expire; the row is then claimed again (at-least-once on a crash between
the Bot API call and `mark_sent`: Telegram has no idempotency key, see README "Reliability").
The fast lane: a handler that found no pending row of the chat but the ones its own worker holds writes the new
rows already leased to that worker (`enqueue(lease_to=...)`), which sends them without claiming; deliveries are
recorded many at a time (`mark_sent_many`).

The chat id and the text are personal data: they are only in `payload_cipher`, encrypted with the key ring and
bound to the row (chat key, update, position), and wiped when the row is sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.conversations import remember_many, remember_messages
from storage.database import SCRUB, request_scrub
from storage.gather import Part, gather, rows_source
from storage.models import ConversationSession, OutboxMessage, OutboxWorker, Participant, SentMessage
from storage.privacy import KeyRing
from storage.repository import dialect_of, now

PENDING, SENT, FAILED = "pending", "sent", "failed"
SEND, EDIT, DELETE = "send", "edit", "delete"
RESULTS = "results"
"""A results message (consultations/results.py): sent like `SEND`; dropped, unsent, when its person is erased."""
LEASE = timedelta(seconds=30)
"""How long a claimed row is reserved for its worker; longer than any Bot API call may take (PTB's timeouts)."""
FAILED_KEPT = timedelta(hours=48)
HEARTBEAT_LIVE = timedelta(seconds=15)
"""A worker not seen for this long no longer counts as live (its share of the rate goes to the others)."""
NOT_SHOWN = -1
"""`shown_step` of a session none of whose questions was delivered yet."""


def outbox_context(chat_key: str, update_id: int | None, position: int) -> str:
    """Associated data binding an outbox payload to its row (chat, update, place in the update): a ciphertext
    copied onto another person's row fails authentication there."""
    return f"outbox:v1:{chat_key}:{update_id}:{position}"


@dataclass(frozen=True)
class Item:
    """One message to enqueue: `payload` (chat id, reply, ids...) is encrypted; `step` names the question shown."""

    kind: str
    payload: dict[str, Any]
    session_id: int | None = None
    step: int | None = None


@dataclass(frozen=True)
class Delivered:
    """A row the Bot API accepted, waiting to be recorded: `message_ids` are the messages it made."""

    row_id: int
    chat_key: str
    message_ids: tuple[int, ...] = ()
    scrub: bool = False


@dataclass(frozen=True)
class Claimed:
    """A row a worker holds the lease on, its payload decrypted."""

    id: int
    chat_key: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    update_id: int | None
    leased_at: float = field(default_factory=time.monotonic)
    """When the lease was taken (monotonic clock of this process)."""


def _seal(keys: KeyRing, payload: dict[str, Any], context: str) -> tuple[bytes, str]:
    return keys.encrypt(json.dumps(payload, ensure_ascii=False, separators=(",", ":")), context)


_TABLE = OutboxMessage.__table__  # type: ignore[attr-defined]
_INSERT = _TABLE.insert()
_INSERT_RETURNING = _TABLE.insert().returning(_TABLE.c.id, _TABLE.c.position)
_COLUMNS = (
    "chat_key",
    "update_id",
    "position",
    "kind",
    "payload_cipher",
    "key_id",
    "session_id",
    "step",
    "state",
    "attempts",
    "next_attempt_at",
    "created_at",
    "lease_owner",
    "lease_until",
)
"""The columns `enqueue` writes."""
_DELETE_SENT = _TABLE.delete().where(
    _TABLE.c.id.in_(bindparam("ids", expanding=True)), _TABLE.c.state == bindparam("pending")
)


async def enqueue(
    session: AsyncSession,
    keys: KeyRing,
    chat_key: str,
    update_id: int | None,
    items: Sequence[Item],
    *,
    lease_to: str | None = None,
) -> list[Claimed]:
    """Write the items for one chat, in order, in one statement, in the caller's transaction.

    `lease_to`: the caller knows the chat has no pending row but ones this worker holds (`pending_elsewhere`
    false, read under the participant's lock): the rows are written already leased to it and returned, their
    payloads in the clear, for its sender to deliver after commit without claiming them (the fast lane). Else
    nothing is returned and the rows wait to be claimed."""
    if not items:
        return []
    at = now()
    erased = bool(session.info.get(SCRUB))  # written with an erasure: scrubbed from disk once sent
    rows = []
    payloads = []
    for position, item in enumerate(items):
        payload = {**item.payload, "scrub": True} if erased else item.payload
        payloads.append(payload)
        cipher, key_id = _seal(keys, payload, outbox_context(chat_key, update_id, position))
        rows.append(
            {
                "chat_key": chat_key,
                "update_id": update_id,
                "position": position,
                "kind": item.kind,
                "payload_cipher": cipher,
                "key_id": key_id,
                "session_id": item.session_id,
                "step": item.step,
                "state": PENDING,
                "attempts": 0,
                "next_attempt_at": at,
                "created_at": at,
                "lease_owner": lease_to,
                "lease_until": at + LEASE if lease_to else None,
            }
        )
    handed: list[Claimed] = []
    gather(session, OutboxWrite(rows, payloads, handed if lease_to else None))
    return handed


class OutboxWrite(Part):
    """One chat's rows of one update. Leased (`handed` given): their ids are learnt, and `handed` filled in order
    with the rows for the worker's sender, before the transaction commits."""

    def __init__(
        self, rows: list[dict[str, Any]], payloads: list[dict[str, Any]], handed: list[Claimed] | None
    ) -> None:
        self.rows, self.payloads, self.handed = rows, payloads, handed

    def shape(self) -> tuple[int, bool]:
        return len(self.rows), self.handed is not None

    def params(self) -> dict[str, Any]:
        return {f"o{i}_{name}": value for i, row in enumerate(self.rows) for name, value in row.items()}

    def run(self, session: Session) -> None:
        # One INSERT with a row of parameters each (executemany; with RETURNING, SQLAlchemy's "insertmanyvalues"
        # sends one multi-row INSERT): the statement is the same for any number of rows, so compiled once.
        if self.handed is None:
            session.execute(_INSERT, self.rows)
            return
        written = session.execute(_INSERT_RETURNING, self.rows)  # matched by position: in any order
        ids = {int(position): int(row_id) for row_id, position in written.all()}
        self.done([ids[position] for position in range(len(self.rows))])

    @classmethod
    def query(cls, shape: tuple[int, bool]) -> tuple[Any, Callable[[Any], Any] | None]:
        count, leased = shape
        written = _TABLE.insert().from_select(_COLUMNS, rows_source(_TABLE, _COLUMNS, count, "o"))
        if not leased:
            return written, None
        written = written.returning(_TABLE.c.id, _TABLE.c.position)
        return written, lambda cte: sa_select(
            func.array_agg(aggregate_order_by(cte.c.id, cte.c.position))
        ).scalar_subquery()

    def done(self, value: Any) -> None:
        if self.handed is None:
            return
        first = self.rows[0]
        self.handed.extend(
            Claimed(int(row_id), first["chat_key"], row["kind"], payload, 0, row["created_at"], row["update_id"])
            for row_id, row, payload in zip(value, self.rows, self.payloads, strict=True)
        )


async def resend_unsent(session: AsyncSession, update_id: int) -> int:
    """A duplicate update: whatever of it is still unsent is due now again (failed rows included)."""
    result = await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.update_id) == update_id, col(OutboxMessage.state).in_((PENDING, FAILED)))
        .where(col(OutboxMessage.payload_cipher).is_not(None))
        .values(state=PENDING, next_attempt_at=now(), attempts=0)
    )
    return int(result.rowcount)


async def claim(
    session: AsyncSession, keys: KeyRing, owner: str, limit: int, *, at: datetime | None = None
) -> list[Claimed]:
    """Lease up to `limit` due rows, each the oldest pending row of its chat, to `owner`."""
    at = at or now()
    earlier = aliased(OutboxMessage)
    head = ~exists().where(
        col(earlier.chat_key) == col(OutboxMessage.chat_key),
        col(earlier.state) == PENDING,
        col(earlier.id) < col(OutboxMessage.id),
    )
    free = or_(col(OutboxMessage.lease_until).is_(None), col(OutboxMessage.lease_until) < at)
    statement = (
        select(OutboxMessage)
        .where(col(OutboxMessage.state) == PENDING, col(OutboxMessage.next_attempt_at) <= at, free, head)
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    if dialect_of(session) == "postgresql":
        statement = statement.with_for_update(skip_locked=True, of=OutboxMessage)
    candidates = list((await session.exec(statement)).all())
    claimed: list[Claimed] = []
    for row in candidates:
        if row.id is None:
            continue
        taken = await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == row.id, col(OutboxMessage.state) == PENDING, free)
            .values(lease_owner=owner, lease_until=at + LEASE)
        )
        if not taken.rowcount:
            continue  # another worker took it meanwhile (SQLite shared by several processes)
        if row.step is not None and row.session_id is not None:
            # a question going out now counts as on screen from here (until `not_shown` says it failed), so an
            # answer typed the moment it appears is never refused for a race with `mark_sent`
            await _shown(session, row.session_id, row.step)
        payload = _open(keys, row)
        claimed.append(Claimed(row.id, row.chat_key, row.kind, payload, row.attempts, row.created_at, row.update_id))
    return claimed


def _open(keys: KeyRing, row: OutboxMessage) -> dict[str, Any]:
    if row.payload_cipher is None:
        return {}
    context = outbox_context(row.chat_key, row.update_id, row.position)
    data: dict[str, Any] = json.loads(keys.decrypt(row.payload_cipher, row.key_id, context))
    return data


async def mark_sent(
    session: AsyncSession, row_id: int, owner: str, message_ids: Sequence[int] = (), *, scrub: bool = False
) -> bool:
    """The row was delivered: deleted (nothing of a sent message stays), the new message ids kept for the safe
    exit. `scrub`: the row was written by a transaction that erased the person (its payload says so): its old
    copies are scrubbed from disk too. False when the lease had been lost meanwhile (the row goes all the same:
    it was sent)."""
    row = await session.get(OutboxMessage, row_id)
    if row is None or row.state != PENDING:
        return False
    mine = row.lease_owner == owner
    if message_ids:
        await remember_messages(session, row.chat_key, message_ids, from_bot=True)
    await session.delete(row)
    await session.flush()
    if scrub:
        request_scrub(session)
    return mine


async def mark_sent_many(session: AsyncSession, done: Sequence[Delivered]) -> None:
    """Rows delivered, recorded together (the sender's group commit): deleted, and the new message ids kept for
    the safe exit, in two statements however many rows and chats. A row no longer pending (failed meanwhile) is
    left as it is; its ids are kept all the same (the messages exist)."""
    if not done:
        return
    for start in range(0, len(done), 200):
        batch = done[start : start + 200]
        await session.exec(_DELETE_SENT, params={"ids": [d.row_id for d in batch], "pending": PENDING})
        sent = [(d.chat_key, message_id) for d in batch for message_id in d.message_ids]
        await remember_many(session, sent)
    if any(d.scrub for d in done):
        request_scrub(session)


async def renew(session: AsyncSession, row_id: int, owner: str) -> bool:
    """Extend `owner`'s lease on a row it still holds (a row queued behind slow sends); False: it was lost."""
    result = await session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == row_id,
            col(OutboxMessage.lease_owner) == owner,
            col(OutboxMessage.state) == PENDING,
        )
        .values(lease_until=now() + LEASE)
    )
    return bool(result.rowcount)


async def release(session: AsyncSession, row_ids: Sequence[int], owner: str) -> None:
    """Give back rows leased to `owner` that it will not send now (their chat's earlier row failed): due at once
    for whoever claims them, in order."""
    if row_ids:
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(list(row_ids)), col(OutboxMessage.lease_owner) == owner)
            .values(lease_owner=None, lease_until=None)
        )


async def _shown(session: AsyncSession, session_id: int, step: int) -> None:
    await session.exec(
        update(ConversationSession).where(col(ConversationSession.id) == session_id).values(shown_step=step)
    )


async def not_shown(session: AsyncSession, row_id: int) -> None:
    """A question's message could not be delivered (yet): the session no longer counts it as on screen."""
    row = await session.get(OutboxMessage, row_id)
    if row is not None and row.step is not None and row.session_id is not None:
        await session.exec(
            update(ConversationSession)
            .where(col(ConversationSession.id) == row.session_id, col(ConversationSession.shown_step) == row.step)
            .values(shown_step=NOT_SHOWN)
        )


async def retry_later(
    session: AsyncSession,
    keys: KeyRing,
    row_id: int,
    owner: str,
    *,
    after: float,
    payload: dict[str, Any] | None = None,
) -> None:
    """Not delivered this time: the row is due again after `after` seconds (and, given, with a new payload:
    what is left of a deletion)."""
    row = await session.get(OutboxMessage, row_id)
    if row is None or row.state != PENDING or row.lease_owner != owner:
        return
    row.attempts += 1
    row.next_attempt_at = now() + timedelta(seconds=after)
    row.lease_owner = row.lease_until = None
    if payload is not None:
        context = outbox_context(row.chat_key, row.update_id, row.position)
        row.payload_cipher, row.key_id = _seal(keys, payload, context)
    session.add(row)
    await session.flush()


async def mark_failed(session: AsyncSession, row_id: int, owner: str) -> None:
    """The row cannot be delivered (Telegram refuses it, or too late): failed, and the chat goes on. Its
    content (encrypted) stays until `purge_done`, so that Telegram delivering its update again resends it."""
    row = await session.get(OutboxMessage, row_id)
    if row is None or row.state != PENDING:
        return
    row.state, row.done_at = FAILED, now()
    row.attempts += 1
    row.lease_owner = row.lease_until = None
    session.add(row)
    await session.flush()


async def kept_message_ids(session: AsyncSession, chat_key: str) -> list[int]:
    """Every message id kept for the chat's participant (for the safe exit, at the moment it deletes)."""
    result = await session.exec(
        select(SentMessage.message_id)
        .join(Participant, col(Participant.id) == col(SentMessage.participant_id))
        .where(col(Participant.pseudonym) == chat_key)
    )
    return [int(i) for i in result.all()]


async def forget_deleted(session: AsyncSession, chat_key: str, message_ids: Sequence[int]) -> None:
    """Message ids deleteMessages succeeded for: no longer kept."""
    if not message_ids:
        return
    participant = select(Participant.id).where(col(Participant.pseudonym) == chat_key).scalar_subquery()
    for start in range(0, len(message_ids), 500):
        await session.exec(
            delete(SentMessage).where(
                col(SentMessage.participant_id) == participant,
                col(SentMessage.message_id).in_(list(message_ids[start : start + 500])),
            )
        )


async def backlog(session: AsyncSession) -> int:
    """How many rows wait to be sent."""
    result = await session.exec(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state == PENDING))
    return int(result.one())


async def next_due(session: AsyncSession) -> datetime | None:
    """When the earliest pending row is due (None: nothing pending)."""
    result = await session.exec(
        select(func.min(OutboxMessage.next_attempt_at)).where(col(OutboxMessage.state) == PENDING)
    )
    found: datetime | None = result.one()
    return found


async def heartbeat(
    session: AsyncSession, owner: str, paused_until: datetime | None = None
) -> tuple[int, datetime | None]:
    """Record that `owner` is alive (and, given, a 429 pause it got); return the number of live workers and the
    latest pause any of them reported."""
    at = now()
    insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    statement = insert(OutboxWorker).values(owner=owner, seen_at=at, paused_until=paused_until)
    changes: dict[str, Any] = {"seen_at": statement.excluded.seen_at}
    if paused_until is not None:
        changes["paused_until"] = statement.excluded.paused_until
    await session.exec(statement.on_conflict_do_update(index_elements=["owner"], set_=changes))
    live = await session.exec(
        select(func.count(), func.max(OutboxWorker.paused_until)).where(
            col(OutboxWorker.seen_at) >= at - HEARTBEAT_LIVE
        )
    )
    count, pause = live.one()
    await session.exec(delete(OutboxWorker).where(col(OutboxWorker.seen_at) < at - HEARTBEAT_LIVE * 20))
    return max(1, int(count)), pause


async def leave(session: AsyncSession, owner: str) -> None:
    """A worker stopping: its leases are released (its rows due at once for the others), its heartbeat gone."""
    await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.lease_owner) == owner, col(OutboxMessage.state) == PENDING)
        .values(lease_owner=None, lease_until=None)
    )
    await session.exec(delete(OutboxWorker).where(col(OutboxWorker.owner) == owner))


async def purge_done(session: AsyncSession, at: datetime | None = None) -> int:
    """Failed rows after 48 h (Telegram keeps an update 24 h: it cannot come back to resend them); sent rows are
    deleted as they are sent."""
    at = at or now()
    result = await session.exec(
        delete(OutboxMessage).where(
            col(OutboxMessage.state).in_((SENT, FAILED)), col(OutboxMessage.done_at) < at - FAILED_KEPT
        )
    )
    return int(result.rowcount)
