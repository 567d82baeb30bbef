"""The outbox sender: delivers what the core wrote to the outbox (storage/outbox.py), after commit, through the
bot. It runs as a task next to the python-telegram-bot Application, started and stopped with it.

- Per chat strictly in order, one message in flight (only a chat's oldest pending row can be claimed).
- Several workers (webhook processes on one PostgreSQL) never send the same row twice at once: a row is leased
  by one worker; a worker that dies leaves its lease to expire (`storage.outbox.LEASE`) and the row is taken up
  again by whoever runs (a restarted worker included).
- Telegram's global limit (~30 messages a second for the bot as a whole): each worker sends at 30/N a second,
  N the workers whose heartbeat is fresh (`outbox_worker`). A 429's `retry_after` pauses this worker and,
  through its heartbeat, every other one.
- 5xx, timeouts and network errors: the row is retried with exponential backoff (with jitter). Telegram
  refusing a message (400/403) fails that row and the chat goes on.
- The fast lane: an update's rows, when nothing else of the chat waits but what this worker holds, are written
  already leased to it and handed to it after commit (`written`), so they go out at once without a claim
  transaction. Otherwise it claims: kicked after commit, then every `POLL_SECONDS` for rows that became due
  (retries, rows of a worker that stopped, rows waiting behind another worker's).
- Per chat, the rows this worker holds go out one after the other (one task per chat); one not delivered now
  gives back the rows after it, to be claimed in order once it went.
- Deliveries are recorded together: every row that went out meanwhile, of whatever chat, in one transaction
  (group commit); a chat's next row goes out once its previous one is recorded (a record lost would otherwise
  have the row sent again, after newer ones, when its lease ran out).

A reply is stored channel-neutral (the core's `Reply`) and rendered here (bot/keyboard.py) when it is sent:
the core needs no hook from the adapter, and the stored row says nothing Telegram-specific.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import secrets
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.http import api_call
from bot.keyboard import Rendered, render
from config.errors import DatabaseUnavailable
from config.i18n import t
from consultations.interactions import Reply, reply_data, reply_from_data
from storage import outbox
from storage.database import Database, DbSession
from storage.privacy import KeyRing
from storage.repository import now

log = logging.getLogger(__name__)

GLOBAL_RATE = 30.0
"""Messages a second for the bot as a whole (Telegram's broadcast limit), shared by the live workers."""
CONCURRENCY = 16
"""Rows one worker has in flight at most (each of a different chat)."""
POLL_SECONDS = 0.5
WAITING_POLL_SECONDS = 0.025
"""How often to look while rows are known to wait behind others (written unleased, or given back): briefly."""
WAITING_FOR = 1.0
HEARTBEAT_SECONDS = 2.0
DELETE_BATCH = 100
"""deleteMessages takes at most 100 ids."""
BACKOFF_BASE, BACKOFF_MAX = 0.5, 30.0
SAFE_EXIT_WINDOW = timedelta(hours=48)
"""Telegram lets a bot delete a private chat's messages for 48 h: a deletion not done by then never will be."""
GIVE_UP = timedelta(hours=48)
"""A reply not delivered after this long is dropped (failed): the conversation has moved on."""
STOP_WAIT = 10.0
"""On stop, how long the sends in flight may take to finish (then their leases are released)."""
RECORD_RETRY_MAX = 2.0
"""The longest pause between two tries to record a delivery while the database is away (seconds)."""


def message_params(chat: int, shown: Rendered) -> dict[str, object]:
    """sendMessage's (and editMessageText's) parameters, the keyboard as the Bot API's JSON (a message without
    one has none: an edit then removes the keyboard the message had)."""
    params: dict[str, object] = {"chat_id": chat, "text": shown.text}
    if shown.keyboard:
        rows = [[{"text": label, "callback_data": data} for label, data in row] for row in shown.keyboard]
        params["reply_markup"] = {"inline_keyboard": rows}
    return params


def message_id(result: object) -> int:
    if not isinstance(result, dict) or not isinstance(result.get("message_id"), int):
        raise TelegramError("the Bot API answered without a message id")
    return int(result["message_id"])


def by_hand(language: str) -> str:
    """The one line a person gets when the safe exit could not delete everything."""
    return t(
        language,
        "Some messages could not be deleted. Please delete this chat yourself: press and hold it in your chat "
        "list, then choose Delete.",
    )


def backoff(attempts: int) -> float:
    """Seconds before the next try after `attempts` failed ones: doubling, capped, with jitter."""
    return float(min(BACKOFF_MAX, BACKOFF_BASE * 2.0**attempts) * random.uniform(0.8, 1.2))


class LeaseLost(Exception):
    """The row's lease ran out and another worker holds it now: not sent here."""


class RateShare:
    """A token bucket at this worker's share of the global rate, and the global pause after a 429."""

    def __init__(self, rate: float = GLOBAL_RATE) -> None:
        self.total = rate
        self.rate = rate
        self.tokens = 1.0
        self.stamp = time.monotonic()
        self.paused_until: datetime | None = None
        self._lock = asyncio.Lock()

    def share(self, workers: int) -> None:
        self.rate = self.total / max(1, workers)

    def pause_left(self) -> float:
        """Seconds the global pause still lasts (0 when there is none)."""
        if self.paused_until is None:
            return 0.0
        return max(0.0, (self.paused_until - now()).total_seconds())

    def pause(self, until: datetime) -> None:
        if self.paused_until is None or until > self.paused_until:
            self.paused_until = until

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                wait = (self.paused_until - now()).total_seconds() if self.paused_until is not None else 0.0
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                at = time.monotonic()
                burst = max(1.0, self.rate / 6)
                self.tokens = min(burst, self.tokens + (at - self.stamp) * self.rate)
                self.stamp = at
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


class OutboxSender:
    """One worker of the outbox: claims due rows, sends them with `bot`, records the outcome."""

    def __init__(
        self,
        database: Database,
        keys: KeyRing,
        bot: Bot,
        *,
        owner: str | None = None,
        rate: float = GLOBAL_RATE,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.db = database
        self.keys = keys
        self.bot = bot
        self.owner = owner or f"{socket.gethostname()[:16]}-{os.getpid()}-{secrets.token_hex(4)}"
        self.rate = RateShare(rate)
        self.concurrency = concurrency
        self._wake = asyncio.Event()
        self._chains: dict[str, deque[outbox.Claimed]] = {}
        """Per chat, the rows this worker holds, in order; one task per chat sends them one after the other."""
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._held: dict[str, float] = {}
        """Chats whose earlier row failed here (monotonic time until which): rows handed meanwhile are given back."""
        self._records: list[tuple[outbox.Delivered, asyncio.Future[None]]] = []
        self._record_wake = asyncio.Event()
        self._recorder: asyncio.Task[None] | None = None
        self._waiting_until = 0.0
        self._starved = False
        """The last claim had no room, or found rows: more may wait (a chat's sends ending then looks again)."""
        self._tasks: list[asyncio.Task[None]] = []
        self._chores: set[asyncio.Task[None]] = set()
        self._started = False
        self._stopping = False
        self._stopped = asyncio.Event()
        self._reported_pause: datetime | None = None
        self.delivered = 0
        """Rows this worker delivered (a count only)."""

    def kick(self) -> None:
        """Something was just committed to the outbox: look now (and for a moment, often)."""
        self._waiting_until = time.monotonic() + WAITING_FOR
        self._wake.set()

    def lease_owner(self) -> str | None:
        """Who takes an update's rows at once (the fast lane): this worker while what it holds goes out within a
        quarter of a lease at its share of the rate; None when busy, so that the rows are left to whichever
        worker claims them (every worker's share of the rate works, and no row waits long on a lease here)."""
        if not self._started or self._stopping:
            return None
        held = sum(len(queue) for queue in self._chains.values())
        if held >= self.rate.rate * outbox.LEASE.total_seconds() / 4:
            return None
        return self.owner

    def written(self, leased: list[outbox.Claimed]) -> None:
        """Rows were just committed for a chat (bot.telegram hands this to the core, ConversationService.
        attach_sender): those leased to this worker are sent now, in order after what it holds of the chat;
        none leased (the chat had rows waiting elsewhere, or a duplicate update's rows are due again): look."""
        if not leased:
            self.kick()
            return
        if not self._started or self._stopping:
            self._chore(self._give_back(leased))
            return
        for row in leased:
            self._push(row, handed=True)

    async def start(self) -> None:
        self._stopping = False
        self._stopped = asyncio.Event()
        await self._heartbeat()
        self._tasks = [asyncio.create_task(self._loop()), asyncio.create_task(self._beat())]
        self._recorder = asyncio.create_task(self._record_loop())
        self._started = True

    async def stop(self) -> None:
        """Stop claiming; let the loops end between transactions (never cancelled inside one) and the sends in
        flight finish (up to STOP_WAIT each), then release what is left."""
        self._stopping = True
        self._stopped.set()
        self._wake.set()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=STOP_WAIT)
            for task in late:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._tasks = []
        if self._inflight:
            _, late = await asyncio.wait(set(self._inflight.values()), timeout=STOP_WAIT)
            for task in late:
                task.cancel()
        if self._recorder is not None:  # what was delivered is recorded before the leases go
            self._record_wake.set()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._recorder, STOP_WAIT)
            self._recorder = None
        self._started = False
        self._chains.clear()
        self._held.clear()
        try:
            async with self.db.transaction() as session:
                await outbox.leave(session, self.owner)
        except Exception as exc:  # the leases expire anyway
            log.warning("outbox: could not release leases", extra={"error": type(exc).__name__})

    async def drain(self, within: float = 30.0) -> None:
        """Wait until nothing is pending (tests, and a clean stop of a one-off command)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            async with self.db.reader() as session:
                if not await outbox.backlog(session):
                    return
            self.kick()
            await asyncio.sleep(0.05)
        raise TimeoutError("the outbox did not drain")

    # ---- the loops ----

    async def _loop(self) -> None:
        while not self._stopping:
            paused = self.rate.pause_left()
            if paused:  # Telegram asked every worker to wait: claim nothing meanwhile (no lease runs out waiting)
                await asyncio.sleep(min(paused, POLL_SECONDS))
                continue
            self._wake.clear()
            claimed = 0
            try:
                claimed = await self._claim()
            except Exception as exc:  # the database away for a moment: try again shortly
                log.warning("outbox: claiming failed", extra={"event": "outbox.claim", "error": type(exc).__name__})
            if claimed and len(self._inflight) < self.concurrency:
                continue
            waiting = time.monotonic() < self._waiting_until
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), WAITING_POLL_SECONDS if waiting else POLL_SECONDS)

    async def _claim(self) -> int:
        free = self.concurrency - len(self._inflight)
        self._starved = free <= 0
        if free <= 0:
            return 0
        async with self.db.transaction() as session:
            rows = await outbox.claim(session, self.keys, self.owner, free)
        self._starved = bool(rows)  # rows were due: more may be (others' given back, retries), so look again soon
        for row in rows:
            self._held.pop(row.chat_key, None)  # the chat's oldest row is this worker's again: in order from here
            self._push(row, handed=False)
        return len(rows)

    def _push(self, row: outbox.Claimed, *, handed: bool) -> None:
        """Queue a row this worker holds behind what it holds of the chat; start the chat's task if none runs.
        A row handed while an earlier row of its chat failed here is given back (it must wait for that one)."""
        chat = row.chat_key
        if handed and self._held.get(chat, 0.0) > time.monotonic():
            self._chore(self._give_back([row]))
            return
        self._chains.setdefault(chat, deque()).append(row)
        if chat not in self._inflight:
            self._inflight[chat] = asyncio.create_task(self._chain(chat))

    async def _chain(self, chat: str) -> None:
        """Send the chat's rows one after the other. One not delivered now (it is due again later): the rows
        after it are given back, to be claimed in order once it went."""
        queue = self._chains[chat]
        try:
            while queue and not self._stopping:  # stopping: what is left is released with the leases
                delivered = await self._deliver(queue[0])
                queue.popleft()
                if not delivered:
                    self._held[chat] = time.monotonic() + outbox.LEASE.total_seconds()
                    rest = list(queue)
                    queue.clear()
                    await self._give_back(rest)
                    break
        finally:
            if not queue:
                self._chains.pop(chat, None)
            self._inflight.pop(chat, None)
            if self._starved or time.monotonic() < self._waiting_until:
                self._wake.set()  # room for rows that may wait to be claimed (not on every send: a claim costs)

    async def _still_mine(self, row: outbox.Claimed) -> None:
        """Right before a Bot API call: a row held for half its lease (queued behind others, waiting for the rate)
        has its lease renewed, so that no other worker takes it meanwhile and sends it a second time after
        newer ones. Raises LeaseLost when it is no longer this worker's."""
        if time.monotonic() - row.leased_at < outbox.LEASE.total_seconds() / 2:
            return
        async with self.db.transaction() as session:
            if await outbox.renew(session, row.id, self.owner):
                return
        raise LeaseLost(row.id)

    def _chore(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    async def _give_back(self, rows: Sequence[outbox.Claimed]) -> None:
        if not rows:
            return
        try:
            async with self.db.transaction() as session:
                await outbox.release(session, [r.id for r in rows], self.owner)
        except Exception as exc:  # their leases run out instead
            log.warning(
                "outbox: could not give rows back", extra={"event": "outbox.release", "error": type(exc).__name__}
            )
        self.kick()

    # ---- recording deliveries, together ----

    async def _delivered(self, done: outbox.Delivered) -> None:
        """A row went out: recorded with the others that went meanwhile, in one transaction (group commit);
        returns once recorded (raises if it could not be)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._records.append((done, future))
        self._record_wake.set()
        await future

    async def _record_loop(self) -> None:
        while True:
            if not self._records:
                if self._stopping and not self._inflight:
                    return
                self._record_wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._record_wake.wait(), POLL_SECONDS)
                continue
            batch, self._records = self._records, []
            done = [d for d, _ in batch]
            try:
                await self._record(functools.partial(outbox.mark_sent_many, done=done))
            except Exception as exc:  # the leases decide: sent again once they run out (their chats wait)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                self.delivered += len(batch)
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
            if time.monotonic() < self._waiting_until:
                self._wake.set()  # rows waiting behind the ones just recorded may be claimed now

    async def _beat(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), HEARTBEAT_SECONDS)
            if self._stopping:
                return
            try:
                await self._heartbeat()
            except Exception as exc:
                log.warning("outbox: heartbeat failed", extra={"error": type(exc).__name__})

    async def _heartbeat(self) -> None:
        pause = self.rate.paused_until
        report = pause if pause is not None and pause != self._reported_pause else None
        async with self.db.transaction() as session:
            workers, shared = await outbox.heartbeat(session, self.owner, report)
        self._reported_pause = pause
        self.rate.share(workers)
        if shared is not None:
            self.rate.pause(shared if shared.tzinfo else shared.replace(tzinfo=now().tzinfo))

    # ---- one row ----

    async def _deliver(self, row: outbox.Claimed) -> bool:
        """Whether the chat may go on to its next row (this one went, or can never go)."""
        try:
            return await self._attempt(row)
        except Exception as exc:  # the database away while recording: the lease expires, the row comes back
            log.error(
                "outbox: could not record a delivery", extra={"event": "outbox.record", "error": type(exc).__name__}
            )
            return False

    async def _attempt(self, row: outbox.Claimed) -> bool:
        paused = self.rate.pause_left()
        if paused > 1:  # a 429 came after this row was claimed: give it back rather than hold its lease
            return await self._later(row, paused)
        try:
            if row.kind == outbox.DELETE:
                return await self._delete(row)
            await self._send(row)
            return True
        except LeaseLost:  # another worker has it now: the chat's next rows wait for it there
            log.warning("outbox: a lease ran out before its row was sent", extra={"event": "outbox.lease_lost"})
            return False
        except RetryAfter as exc:
            seconds = exc.retry_after if isinstance(exc.retry_after, int | float) else exc.retry_after.total_seconds()
            self.rate.pause(now() + timedelta(seconds=seconds))
            log.warning("outbox: flood control", extra={"event": "outbox.429", "retry_after": seconds})
            return await self._later(row, seconds)
        except (BadRequest, Forbidden) as exc:
            log.warning(
                "outbox: Telegram refused a message", extra={"event": "outbox.refused", "error": type(exc).__name__}
            )
            await self._refused(row)
            return True
        except Exception as exc:  # 5xx, timeouts, network: again later
            log.warning(
                "outbox: sending failed, will retry", extra={"event": "outbox.retry", "error": type(exc).__name__}
            )
            return await self._later(row, backoff(row.attempts))

    async def _send(self, row: outbox.Claimed) -> None:
        chat = int(row.payload["chat"])
        reply = reply_from_data(row.payload["reply"])
        params = message_params(chat, render(reply))
        new = {**params, "protect_content": True}  # as the application's Defaults do for PTB's methods
        sent: list[int] = []
        if row.kind == outbox.EDIT:
            await self.rate.acquire()
            await self._still_mine(row)
            try:
                await api_call(self.bot, "editMessageText", {**params, "message_id": int(row.payload["message_id"])})
            except BadRequest as exc:
                if "not modified" not in str(exc):
                    log.warning("could not edit a message; sending a new one", extra={"error": type(exc).__name__})
                    await self.rate.acquire()
                    sent.append(message_id(await api_call(self.bot, "sendMessage", new)))
        else:
            await self.rate.acquire()
            await self._still_mine(row)
            sent.append(message_id(await api_call(self.bot, "sendMessage", new)))
        # recorded with the deliveries of other chats; the chat's next row waits for it: were this record lost,
        # the row would be sent again when its lease ran out, after the newer ones
        await self._delivered(outbox.Delivered(row.id, row.chat_key, tuple(sent), bool(row.payload.get("scrub"))))

    async def _record(self, work: Callable[[DbSession], Awaitable[object]]) -> None:
        """Record what Telegram did. It happened: were the database away now, letting the lease run out would
        send the message again (a person would see a question twice, and a newer reply wait 30 s behind it), so
        the record is tried again until the database is back (or the worker stops: then the lease decides)."""
        delay = 0.1
        while True:
            try:
                async with self.db.transaction() as session:
                    await work(session)
                return
            except DatabaseUnavailable:
                if self._stopping:
                    raise
                log.warning("outbox: database away; recording a delivery again shortly", extra={"event": "outbox.away"})
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECORD_RETRY_MAX)

    async def _delete(self, row: outbox.Claimed) -> bool:
        """The safe exit: every id of the row and every id kept for the chat now (replies sent since it was
        written), newest first, 100 a call; each batch deleted is forgotten at once, what is left retried."""
        chat = int(row.payload["chat"])
        async with self.db.reader() as session:
            kept = await outbox.kept_message_ids(session, row.chat_key)
        ids = sorted({*(int(i) for i in row.payload["ids"]), *kept}, reverse=True)
        while ids:
            batch = ids[:DELETE_BATCH]
            await self.rate.acquire()
            await self._still_mine(row)
            try:
                await self.bot.delete_messages(chat, batch)
            except (BadRequest, Forbidden, RetryAfter):
                raise
            except TelegramError:
                return await self._later(row, backoff(row.attempts), {**row.payload, "ids": ids})
            ids = ids[DELETE_BATCH:]
            await self._record(functools.partial(outbox.forget_deleted, chat_key=row.chat_key, message_ids=batch))
        scrub = bool(row.payload.get("scrub"))
        await self._record(lambda session: outbox.mark_sent(session, row.id, self.owner, scrub=scrub))
        self.delivered += 1
        return True

    async def _later(self, row: outbox.Claimed, seconds: float, payload: dict[str, object] | None = None) -> bool:
        """Not delivered now: due again later (False: the chat waits for it), unless it is too late (then it
        fails, see `_refused`, and the chat goes on)."""
        if now() - row.created_at >= (SAFE_EXIT_WINDOW if row.kind == outbox.DELETE else GIVE_UP):
            await self._refused(row)
            return True
        async with self.db.transaction() as session:
            await outbox.retry_later(session, self.keys, row.id, self.owner, after=seconds, payload=payload)
            await outbox.not_shown(session, row.id)
            if self.rate.paused_until is not None and self.rate.paused_until > now():
                await outbox.heartbeat(session, self.owner, self.rate.paused_until)
        return False

    async def _refused(self, row: outbox.Claimed) -> None:
        """The row can never be delivered. A deletion that cannot finish: the person is told, in one line, to
        delete the chat by hand (the message ids are kept until they are too old to matter). Under the person's
        lock: the note is not written in between an update of theirs reading the outbox and writing its reply."""
        async with self.db.transaction(lock_key=row.chat_key) as session:
            await outbox.mark_failed(session, row.id, self.owner)
            await outbox.not_shown(session, row.id)
            if row.kind == outbox.DELETE:
                language = str(row.payload.get("language") or "en")
                note = Reply(by_hand(language), language)
                item = outbox.Item(outbox.SEND, {"chat": row.payload["chat"], "reply": reply_data(note)})
                await outbox.enqueue(session, self.keys, row.chat_key, None, [item])
        self.kick()
