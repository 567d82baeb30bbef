"""The Bot API emulator: one bot, any number of private chats, in memory; what tests and the sandbox talk to.

``Emulator.call(method, params)`` runs a Bot API method (see :mod:`sandbox.methods`) after the scripted faults
(:mod:`sandbox.faults`) had their say. The ``user_*`` methods act as Telegram users; the ``wait_*`` helpers let
tests await the bot. Time comes from an injectable clock (:mod:`sandbox.clock`); update and message ids from
counters that survive restarts when given a directory (:mod:`sandbox.counters`). HTTP lives in
:mod:`sandbox.app`.
"""

from __future__ import annotations

import asyncio
import inspect
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sandbox.checks import as_int, normalize_params
from sandbox.clock import Clock, SystemClock
from sandbox.counters import COUNTERS_FILE, IdCounters
from sandbox.faults import Failure, Faults, NoResponse
from sandbox.methods import BotMethods, Handler
from sandbox.models import (
    ApiCall,
    ApiError,
    ApiErrorRecord,
    CallbackAnswer,
    JsonDict,
    SandboxError,
    SandboxMessage,
    SandboxUser,
)
from sandbox.state import HELPER, ChangeFeed, ChatStore
from sandbox.updates import UpdateQueue
from sandbox.users import UserActions
from sandbox.webhook import WebhookDelivery, WebhookSender

SANDBOX_TOKEN = "123456:SANDBOX"  # noqa: S105 - a fake token for the local emulator only


class Emulator:
    """The Telegram Bot API for one bot and its private chats."""

    def __init__(
        self,
        token: str = SANDBOX_TOKEN,
        bot_username: str = "voices87_sandbox_bot",
        bot_first_name: str = "Voices 8.7 (sandbox)",
        *,
        clock: Clock | None = None,
        state_dir: Path | None = None,
        seed: int = 0,
        webhook_retry_delays: Sequence[float] = (0.5, 1.0, 2.0, 4.0, 8.0),
        webhook_timeout: float = 10.0,
        allow_http_webhooks: bool = True,
        parallel_webhook: bool = False,
    ) -> None:
        """``state_dir``: where the id counters are kept so that a restart is invisible to the bot (``make run``
        passes the data directory); without it ids start at 1. ``seed`` seeds the faults' random choices.
        ``parallel_webhook``: deliver to the webhook as Telegram does under load (up to ``max_connections`` at
        once, each chat in order; see :mod:`sandbox.webhook`) instead of one update at a time."""
        bot_id_part = token.split(":", 1)[0]
        if ":" not in token or not bot_id_part.isdigit():
            raise ValueError("token must look like '<digits>:<secret>'")
        self.token = token
        self.bot_id = int(bot_id_part)
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.bot_user: JsonDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.instance = secrets.token_hex(8)
        """Changes with every start: the chat page notices a restart by it."""
        self.clock: Clock = clock or SystemClock()
        self.counters = IdCounters(state_dir / COUNTERS_FILE if state_dir is not None else None)
        self.feed = ChangeFeed()
        self.store = ChatStore(self.clock, self.counters, self.feed)
        self.updates = UpdateQueue(self.clock, self.counters, self.feed)
        self.webhook = WebhookSender(
            self.updates,
            self.clock,
            self.call,
            retry_delays=tuple(webhook_retry_delays),
            timeout=webhook_timeout,
            allow_http=allow_http_webhooks,
            parallel=parallel_webhook,
        )
        self.faults = Faults(self.clock, seed)
        self._acting = UserActions(self.store, self.updates, self.bot_id)
        methods = BotMethods(
            bot_user=self.bot_user, store=self.store, updates=self.updates, webhook=self.webhook, clock=self.clock
        )
        self._handlers: dict[str, Handler] = methods.handlers()
        self._method_names = {name.lower(): name for name in self._handlers}
        self._release_generation = 0
        self._cursors: dict[int, int] = {}
        self.api_calls: list[ApiCall] = []
        self.api_errors: list[ApiErrorRecord] = []

    # ------------------------------------------------------------------------------------------- the Bot API

    def canonical_method(self, method: str) -> str | None:
        """The Bot API method name in Telegram's casing, or None if the emulator does not have it."""
        return self._method_names.get(method.lower())

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Run a Bot API method: its ``result``, or ApiError (a scripted fault, or Telegram's refusal)."""
        name = self.canonical_method(method)
        if name is None:
            raise ApiError(404, "Not Found")
        raw = dict(params or {})
        try:
            normalized = normalize_params(raw)
        except ApiError as exc:
            self.api_calls.append(ApiCall(name, raw))
            self.api_errors.append(ApiErrorRecord(name, raw, exc.error_code, exc.description))
            raise
        self.api_calls.append(ApiCall(name, normalized))
        plan = self.faults.plan(name, normalized)
        if plan.delay:
            await self.clock.sleep(plan.delay)
        if plan.failure is not None and not plan.takes_effect:
            await self._fail(name, normalized, plan.failure)
        try:
            result = self._handlers[name](normalized)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as exc:
            self.api_errors.append(ApiErrorRecord(name, normalized, exc.error_code, exc.description))
            raise
        if plan.failure is not None:
            await self._fail(name, normalized, plan.failure)
        return result

    async def _fail(self, name: str, params: JsonDict, failure: Failure) -> None:
        if isinstance(failure, NoResponse):  # held until the emulator stops, or `hold` seconds on its clock
            release = self._release_generation
            deadline = None if failure.hold is None else self.clock.now() + failure.hold
            while release == self._release_generation:
                if deadline is None:
                    await self.feed.next_change("held")
                    continue
                remaining = deadline - self.clock.now()
                if remaining <= 0:
                    break
                await self.feed.next_change("held", self.clock.sleep(remaining))
        error: ApiError = failure.error()
        self.api_errors.append(ApiErrorRecord(name, params, error.error_code, error.description, injected=True))
        raise error

    # ------------------------------------------------------------------------------------------- users acting

    def now(self) -> float:
        """The emulator's time (its clock)."""
        return self.clock.now()

    def add_user(self, user: SandboxUser) -> SandboxUser:
        """Register a user (idempotent; a changed profile replaces the old one)."""
        return self.store.add_user(user).user

    def new_user(
        self,
        first_name: str = "Test",
        *,
        language_code: str | None = "en",
        username: str | None = None,
        user_id: int | None = None,
    ) -> SandboxUser:
        """Create and register a user with a fresh random id unless one is given."""
        while user_id is None or user_id in self.store.chats or user_id == self.bot_id:
            user_id = 100_000_000 + secrets.randbelow(1_900_000_000)
        return self.add_user(SandboxUser(user_id, first_name, username, language_code))

    def get_user(self, user_id: int) -> SandboxUser | None:
        """The registered user with this id, if any."""
        chat = self.store.chats.get(user_id)
        return chat.user if chat else None

    def users(self) -> list[SandboxUser]:
        """All registered users."""
        return [chat.user for chat in self.store.chats.values()]

    def user_sends_text(self, user: SandboxUser, text: str) -> int:
        """The user sends text; the update_id (texts over 4096 characters become several messages)."""
        return self._acting.sends_text(user, text)

    def user_sends(self, user: SandboxUser, kind: str, *, caption: str | None = None) -> int:
        """The user sends a sticker, photo, voice note... (see ``sandbox.users.MEDIA_KINDS``); the update_id."""
        return self._acting.sends(user, kind, caption)

    def user_presses(self, user: SandboxUser, message_id: int, callback_data: str) -> int:
        """The user presses an inline button that exists now on a bot message; the update_id."""
        return self._acting.presses(user, message_id, callback_data)

    def user_presses_button(self, user: SandboxUser, message_id: int, label: str) -> int:
        """Press a button by its label (exact, else substring)."""
        msg = self.store.message(user.id, message_id)
        if msg is None or msg.deleted:
            raise SandboxError(f"message {message_id} is not in chat {user.id}")
        return self._acting.presses(user, message_id, msg.button_data(label))

    def user_presses_raw(self, user: SandboxUser, message_id: int, callback_data: str) -> int:
        """A callback query with arbitrary data on a message (stale buttons, forged data)."""
        return self._acting.presses_raw(user, message_id, callback_data)

    def callback_query_id(self, update_id: int) -> str:
        """The callback_query id created by a user_presses* call."""
        return self._acting.query_of_update[update_id]

    def block_bot(self, user: SandboxUser | int, blocked: bool = True) -> None:
        """The user blocks (or unblocks) the bot: sending then fails with 403, like Telegram."""
        self._acting.block_bot(user, blocked)

    def inject_update(self, payload: JsonDict, *, record_messages: bool = True) -> int:
        """Queue a raw update (update_id assigned if missing; an explicit one may repeat an earlier one).
        Private-chat messages in it are recorded in the transcript so the bot can delete them."""
        return self._acting.inject_update(payload, record_messages)

    # ------------------------------------------------------------------------------------------- what happened

    @property
    def seq(self) -> int:
        """Monotonic counter of state changes (messages, edits, deletions, answers, updates)."""
        return self.feed.seq

    def waiting(self, label: str) -> int:
        """How many requests wait right now: "getUpdates" (long polls), "page" (chat page polls), "held"
        (requests a NoResponse fault holds)."""
        return self.feed.waiting(label)

    def chat(self, chat_id: int) -> list[SandboxMessage]:
        """Current (non-deleted) messages of a private chat, in order, from both sides."""
        return [m for m in self.history(chat_id) if not m.deleted]

    def history(self, chat_id: int) -> list[SandboxMessage]:
        """Every message of the chat including deleted ones (``deleted`` is set on those)."""
        chat = self.store.chats.get(chat_id)
        return list(chat.messages) if chat else []

    def message(self, chat_id: int, message_id: int) -> SandboxMessage | None:
        """A message by id, deleted or not."""
        return self.store.message(chat_id, message_id)

    def bot_messages(self, chat_id: int, include_deleted: bool = False) -> list[SandboxMessage]:
        """Messages the bot sent in this chat."""
        return [m for m in self.history(chat_id) if m.from_bot and (include_deleted or not m.deleted)]

    def last_bot_message(self, chat_id: int) -> SandboxMessage | None:
        """The newest non-deleted bot message in the chat."""
        messages = self.bot_messages(chat_id)
        return messages[-1] if messages else None

    def calls(self, method: str) -> list[JsonDict]:
        """Parameters of every call of ``method`` (case-insensitive), successful or not."""
        return [call.params for call in self.api_calls if call.method.lower() == method.lower()]

    def commands(self, scope: JsonDict | None = None, language_code: str = "") -> list[JsonDict]:
        """Commands set with setMyCommands for a scope (default scope) and language."""
        return self.store.commands_for(scope, language_code)

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        """Every answerCallbackQuery the bot made."""
        return self.store.callback_answers

    @property
    def pending_update_count(self) -> int:
        """Number of queued, unconfirmed updates."""
        return len(self.updates.entries)

    def pending_updates(self) -> list[JsonDict]:
        """Updates not yet confirmed by getUpdates (or not yet delivered to the webhook)."""
        return [dict(u.payload) for u in self.updates.entries]

    @property
    def webhook_url(self) -> str:
        """The webhook the bot set ("" when it polls)."""
        return self.webhook.webhook.url if self.webhook.webhook else ""

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every attempt to deliver an update to the webhook."""
        return self.webhook.deliveries

    @property
    def dropped_updates(self) -> list[JsonDict]:
        """Updates given up after every webhook retry failed."""
        return self.webhook.dropped

    def describe_chat(self, chat_id: int | None = None) -> str:
        """Human-readable transcript (for timeout errors)."""
        chat_ids = [chat_id] if chat_id is not None else list(self.store.chats)
        lines: list[str] = []
        for cid in chat_ids:
            chat = self.store.chats.get(cid)
            if chat is None:
                lines.append(f"chat {cid}: unknown")
                continue
            lines.append(f"chat {cid} ({chat.user.first_name}, lang={chat.user.language_code}):")
            lines.extend("  " + m.describe() for m in chat.messages[-30:])
            if not chat.messages:
                lines.append("  (no messages)")
        lines.append(f"pending updates: {self.pending_update_count}; webhook: {self.webhook_url or None}")
        errors = [e for e in self.api_errors if chat_id is None or as_int(e.params.get("chat_id")) == chat_id][-5:]
        lines.extend(f"api error: {e.method} -> {e.error_code} {e.description}" for e in errors)
        return "\n".join(lines)

    # ------------------------------------------------------------------------------------------- waiting (tests)

    def mark(self, chat_id: int) -> None:
        """From now on, wait_for_bot_messages only counts bot messages sent after this point."""
        self._cursors[chat_id] = len(self.bot_messages(chat_id, include_deleted=True))

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - a guard in real time, not the emulator's clock
        *,
        chat_id: int | None = None,
        description: str | None = None,
    ) -> None:
        """Wait until ``predicate()`` is true; TimeoutError describes the chat(s) so far."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"timed out after {timeout}s waiting for {description or 'condition'}\n"
                    + self.describe_chat(chat_id)
                )
            await self.feed.next_change(HELPER, asyncio.sleep(min(remaining, 0.1)))

    async def wait_for_bot_messages(
        self,
        chat_id: int,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - helper contract
    ) -> list[SandboxMessage]:
        """Wait for ``count`` new bot messages in the chat (since the last call or ``mark``) and return them
        (deleted ones included, flagged, so that order is kept)."""
        cursor = self._cursors.get(chat_id, 0)
        await self.wait_until(
            lambda: len(self.bot_messages(chat_id, include_deleted=True)) >= cursor + count,
            timeout,
            chat_id=chat_id,
            description=f"{count} new bot message(s) after the first {cursor} in chat {chat_id}",
        )
        self._cursors[chat_id] = cursor + count
        return self.bot_messages(chat_id, include_deleted=True)[cursor : cursor + count]

    async def wait_callback_answered(
        self,
        callback_query_id: str,
        timeout: float = 10.0,  # noqa: ASYNC109 - helper contract
    ) -> CallbackAnswer:
        """Wait until the bot answered this callback query."""

        def answer() -> CallbackAnswer | None:
            return next((a for a in self.callback_answers if a.callback_query_id == callback_query_id), None)

        query = self.store.callback_queries.get(callback_query_id)
        await self.wait_until(
            lambda: answer() is not None,
            timeout,
            chat_id=query.user_id if query else None,
            description=f"answerCallbackQuery for {callback_query_id}",
        )
        found = answer()
        if found is None:  # the predicate held a moment ago; nothing removes answers
            raise SandboxError(f"answer to {callback_query_id} vanished")
        return found

    async def wait_for_change(self, since: int, max_wait: float) -> int:
        """Wait (in real time, at most ``max_wait`` s) until ``seq`` exceeds ``since``; the current seq."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        while self.feed.seq <= since:
            remaining = deadline - loop.time()
            if remaining <= 0 or not await self.feed.next_change("page", asyncio.sleep(remaining)):
                break
        return self.feed.seq

    # ------------------------------------------------------------------------------------------- lifecycle

    async def stop_background(self) -> None:
        """Stop webhook delivery, answer waiting long polls, release held requests (state is kept)."""
        self._release_generation += 1
        self.updates.release_polls()
        await self.webhook.stop()

    async def aclose(self) -> None:
        """Alias of stop_background, for ``async with`` and fixtures."""
        await self.stop_background()

    async def __aenter__(self) -> Emulator:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
