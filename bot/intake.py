"""How updates enter the bot, in both modes: at most VOICES_MAX_UPDATES_IN_FLIGHT handled at once per worker (a
burst waits its turn instead of thrashing), and an update the database could not take (it was unavailable) is
never acknowledged: the webhook answers 503 so Telegram redelivers it, and polling tries the same update again
until the database is back, without asking Telegram for the next ones."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from telegram import Update
from telegram.error import Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.http import api_call
from bot.metrics import HANDLING_SECONDS, IN_FLIGHT, UPDATES, WAITING, update_kind

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
HANDLED = "handled"
FAILED = "failed"
DEFERRED = "deferred"
OUTCOMES_KEY = "voices_update_outcomes"
RETRY_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
"""Polling: the waits before trying a deferred update again (the last one repeats while the database is away)."""
START_ATTEMPTS = 8
"""Start-up calls to the Bot API (getMe, deleteWebhook, setWebhook): how many tries through 429s and outages."""
T = TypeVar("T")


def record_outcome(application: AnyApplication, update: object, result: str) -> None:
    """Called by the error handler: this update failed (a bug: the person was told) or was deferred (the database
    was unavailable: nothing was done, the update must be delivered again)."""
    if isinstance(update, Update):
        outcomes: dict[int, str] = application.bot_data.setdefault(OUTCOMES_KEY, {})
        outcomes[update.update_id] = result


class Intake:
    """Hands updates to the PTB Application through its update processor (which holds the in-flight cap) and
    reports what became of each: handled, failed or deferred."""

    def __init__(self, application: AnyApplication) -> None:
        self.application = application

    async def handle(self, update: Update) -> str:
        """Handle one update once a slot is free; what became of it: HANDLED, FAILED or DEFERRED."""
        started = False

        async def process() -> None:
            nonlocal started
            started = True
            WAITING.dec()
            IN_FLIGHT.inc()
            began = time.perf_counter()
            try:
                await self.application.process_update(update)
            finally:
                IN_FLIGHT.dec()
                HANDLING_SECONDS.labels(update_kind(update)).observe(time.perf_counter() - began)

        WAITING.inc()
        coroutine = process()
        try:
            await self.application.update_processor.process_update(update, coroutine)
        finally:
            if not started:  # cancelled while waiting for a slot
                WAITING.dec()
                coroutine.close()
        outcomes: dict[int, str] = self.application.bot_data.get(OUTCOMES_KEY, {})
        result = outcomes.pop(update.update_id, HANDLED)
        UPDATES.labels(update_kind(update), result).inc()
        return result


class Poller:
    """Long polling that acknowledges an update only once it was handled. Telegram takes an update as delivered
    when getUpdates is next called with a higher offset; this loop asks for the next batch only after every
    update of the current one was handled (or failed as a bug), so an update deferred by an unavailable database
    is retried here, and is redelivered by Telegram if the worker stops meanwhile. Within a batch, one chat's
    updates are handled in order and different chats' updates concurrently (within the in-flight cap)."""

    def __init__(
        self,
        application: AnyApplication,
        *,
        allowed_updates: Sequence[str] | None = None,
        timeout: int = 30,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        limit: int = 100,
    ) -> None:
        self.application = application
        self.intake = Intake(application)
        self.allowed_updates = list(allowed_updates) if allowed_updates is not None else None
        self.timeout = timeout
        self.retry_delays = tuple(retry_delays)
        self.limit = limit
        self.offset: int | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; the batch in hand is finished first unless it waits for the database."""
        failures = 0
        while not stop.is_set():
            try:
                updates = await self._next_batch(stop)
            except (InvalidToken, Forbidden):
                raise
            except TelegramError as exc:
                delay = _seconds(exc.retry_after) if isinstance(exc, RetryAfter) else self._delay(failures)
                failures += 1
                log.warning("getUpdates failed; polling again in %.1f s", delay, extra={"error": type(exc).__name__})
                if await _stopped(stop, delay):
                    break
                continue
            failures = 0
            if updates is None:
                break
            if not updates:
                continue
            if not await self._handle_batch(updates, stop):
                break  # stopped while the database was unavailable: Telegram will deliver these again
            self.offset = updates[-1].update_id + 1
        await self._acknowledge()

    async def _next_batch(self, stop: asyncio.Event) -> tuple[Update, ...] | None:
        """The next updates, or None when `stop` was set while waiting for them."""
        fetch = asyncio.ensure_future(self._get_updates())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not fetch.done():
                fetch.cancel()
                with contextlib.suppress(asyncio.CancelledError, TelegramError):
                    await fetch
        if fetch.cancelled():
            return None
        updates: tuple[Update, ...] = fetch.result()
        return updates

    async def _get_updates(self) -> tuple[Update, ...]:
        """getUpdates, long polling; each update read once, on its own (`read_update`): PTB's `get_updates` reads
        the batch as a whole, and one update it cannot read would fail the batch, again and again."""
        bot = self.application.bot
        params: dict[str, object] = {"offset": self.offset, "timeout": self.timeout, "limit": self.limit}
        if self.allowed_updates is not None:
            params["allowed_updates"] = self.allowed_updates
        # as PTB's get_updates: the connection waits for the long poll on top of its read timeout
        read_timeout = (bot.request.read_timeout or 0) + self.timeout
        result = await api_call(bot, "getUpdates", params, read_timeout=read_timeout)
        if not isinstance(result, list):
            raise TelegramError("Invalid server response")
        return tuple(update for raw in result if (update := read_update(raw, bot)) is not None)

    async def _acknowledge(self) -> None:
        """Tell Telegram the handled updates were delivered (an offset past them), as PTB's Updater does on stop."""
        if self.offset is None:
            return
        try:
            await self.application.bot.get_updates(offset=self.offset, timeout=0, limit=1)
        except TelegramError as exc:
            log.warning("could not acknowledge the last updates", extra={"error": type(exc).__name__})

    async def _handle_batch(self, updates: Sequence[Update], stop: asyncio.Event) -> bool:
        chains: dict[object, list[Update]] = {}
        for update in updates:
            chat = update.effective_chat
            chains.setdefault(chat.id if chat is not None else ("update", update.update_id), []).append(update)
        done = await asyncio.gather(*(self._handle_chain(chain, stop) for chain in chains.values()))
        return all(done)

    async def _handle_chain(self, chain: list[Update], stop: asyncio.Event) -> bool:
        for update in chain:
            attempt = 0
            while await self.intake.handle(update) == DEFERRED:
                delay = self._delay(attempt)
                attempt += 1
                log.warning(
                    "database unavailable: the update is kept and tried again in %.1f s",
                    delay,
                    extra={"event": "update.deferred", "attempt": attempt},
                )
                if await _stopped(stop, delay):
                    return False
        return True

    def _delay(self, attempt: int) -> float:
        return self.retry_delays[min(attempt, len(self.retry_delays) - 1)]


def slim(raw: dict[str, Any]) -> dict[str, Any]:
    """The update without what is never read: a button press carries the message it was on, keyboard included
    (a question's dozen buttons, each made an object by python-telegram-bot); only the press's own data and the
    message's chat and id are used. The keyboard is left out before the update is read."""
    update = dict(raw)
    query = update.get("callback_query")
    if isinstance(query, dict) and isinstance(message := query.get("message"), dict) and "reply_markup" in message:
        update["callback_query"] = {**query, "message": {k: v for k, v in message.items() if k != "reply_markup"}}
    return update


def read_update(raw: Any, bot: Any) -> Update | None:
    """A polled update (`slim`) as python-telegram-bot's object. One it cannot read (an old or odd client, a
    newer Bot API) is handed on as an empty update with the same id, which nothing handles and polling
    acknowledges, instead of stalling polling forever; without an id, it is dropped. Nothing of it is logged."""
    try:
        return Update.de_json(slim(raw), bot)
    except Exception as exc:
        log.warning("unreadable update acknowledged and dropped", extra={"error": type(exc).__name__})
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        return Update(update_id) if isinstance(update_id, int) else None


async def _stopped(stop: asyncio.Event, delay: float) -> bool:
    """Wait `delay` seconds; True if `stop` was set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), delay)
    return stop.is_set()


async def patiently(call: Callable[[], Awaitable[T]], retry_delays: Sequence[float] = RETRY_DELAYS) -> T:
    """A start-up call to the Bot API, tried again while Telegram asks to wait (429: its retry_after) or cannot
    be reached (5xx, timeouts): a worker restarted during flood control waits its turn instead of exiting.
    Anything else (a refused token) is raised at once; the last failure after START_ATTEMPTS tries."""
    attempt = 0
    while True:
        try:
            return await call()
        except RetryAfter as exc:
            if attempt + 1 >= START_ATTEMPTS:
                raise
            delay, failure = _seconds(exc.retry_after), type(exc).__name__
        except NetworkError as exc:
            if attempt + 1 >= START_ATTEMPTS:
                raise
            delay, failure = retry_delays[min(attempt, len(retry_delays) - 1)], type(exc).__name__
        attempt += 1
        log.warning("Telegram is not ready; trying again in %.1f s", delay, extra={"error": failure})
        await asyncio.sleep(delay)


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]
