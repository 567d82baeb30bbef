"""What the emulated Telegram remembers: users and their private chats with the bot, the bot's commands, open
callback queries; and the change feed everything waits on (long polls, the chat page, test helpers)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from collections import Counter
from collections.abc import Awaitable
from typing import Any

from sandbox.clock import Clock
from sandbox.counters import IdCounters
from sandbox.models import (
    CallbackAnswer,
    CallbackQuery,
    JsonDict,
    PrivateChat,
    SandboxError,
    SandboxMessage,
    SandboxUser,
    bad_request,
)

HELPER = "helper"
"""Label of the waits of test helpers: they are also woken when anything else starts waiting."""


class ChangeFeed:
    """A counter of state changes (``seq``) and the tasks waiting for the next one, by label."""

    def __init__(self) -> None:
        self.seq = 0
        self._waiters: list[tuple[str, asyncio.Future[None]]] = []

    def changed(self) -> int:
        """Record a change, wake every waiter; the new seq."""
        self.seq += 1
        self._wake(None)
        return self.seq

    def waiting(self, label: str) -> int:
        """How many tasks with this label wait for a change (e.g. "getUpdates": long polls in progress)."""
        return Counter(name for name, _ in self._waiters)[label]

    def _wake(self, label: str | None) -> None:
        keep: list[tuple[str, asyncio.Future[None]]] = []
        for name, fut in self._waiters:
            if label is None or name == label:
                if not fut.done():
                    fut.set_result(None)
            else:
                keep.append((name, fut))
        self._waiters = keep

    async def next_change(self, label: str, deadline: Awaitable[None] | None = None) -> bool:
        """Wait for the next change; False if ``deadline`` (e.g. ``clock.sleep(5)``) completes first."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (label, fut)
        self._waiters.append(entry)
        if label != HELPER:
            self._wake(HELPER)  # a helper may be waiting for this very wait to begin
        timer = asyncio.ensure_future(deadline) if deadline is not None else None
        try:
            if timer is None:
                await fut
                return True
            await asyncio.wait({fut, timer}, return_when=asyncio.FIRST_COMPLETED)
            return fut.done()
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)
            if timer is not None and not timer.done():
                timer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await timer


class ChatStore:
    """Users, their private chats and messages, the bot's commands and the callback queries in flight."""

    def __init__(self, clock: Clock, counters: IdCounters, feed: ChangeFeed) -> None:
        self.clock = clock
        self.counters = counters
        self.feed = feed
        self.chats: dict[int, PrivateChat] = {}
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        self.callback_queries: dict[str, CallbackQuery] = {}
        self.callback_answers: list[CallbackAnswer] = []
        self._callback_counter = 0

    # ------------------------------------------------------------------------------------------- users and chats

    def add_user(self, user: SandboxUser) -> PrivateChat:
        """Register a user (idempotent; a changed profile replaces the old one); their chat."""
        chat = self.chats.get(user.id)
        if chat is None:
            chat = self.chats[user.id] = PrivateChat(user=user, next_message_id=self.counters.message_floor)
        else:
            chat.user = user
        return chat

    def chat_of(self, user: SandboxUser | int) -> PrivateChat:
        """The chat of a user object (registered on the way) or of a known chat id."""
        if isinstance(user, SandboxUser):
            return self.add_user(user)
        chat = self.chats.get(user)
        if chat is None:
            raise SandboxError(f"unknown user/chat {user}")
        return chat

    def message(self, chat_id: int, message_id: int) -> SandboxMessage | None:
        """A message by id, deleted or not."""
        chat = self.chats.get(chat_id)
        return chat.message(message_id) if chat else None

    def add_message(
        self,
        chat: PrivateChat,
        *,
        from_bot: bool,
        sender: JsonDict,
        text: str | None,
        kind: str = "text",
        entities: list[JsonDict] | None = None,
        reply_markup: JsonDict | None = None,
        protect_content: bool = False,
        media: JsonDict | None = None,
        reply_to_message_id: int | None = None,
        message_id: int | None = None,
        date: int | None = None,
    ) -> SandboxMessage:
        """Append a message to the chat with the next message id (or an explicit one, from an injected update)."""
        if message_id is None:
            message_id = chat.next_message_id
        chat.next_message_id = max(chat.next_message_id, message_id + 1)
        self.counters.saw_message_id(message_id)
        msg = SandboxMessage(
            chat_id=chat.user.id,
            message_id=message_id,
            from_bot=from_bot,
            date=int(self.clock.now()) if date is None else date,
            sender=sender,
            chat_json=chat.user.to_chat_json(),
            text=text,
            kind=kind,
            entities=entities or [],
            reply_markup=reply_markup,
            protect_content=protect_content,
            media=media or {},
            reply_to_message_id=reply_to_message_id,
        )
        chat.messages.append(msg)
        msg.seq = self.feed.changed()
        return msg

    def touch(self, msg: SandboxMessage) -> None:
        """A message changed (edited or deleted): the page and waiters see it."""
        msg.seq = self.feed.changed()

    # ------------------------------------------------------------------------------------------- callback queries

    def open_callback_query(self, bot_id: int, user_id: int, message_id: int, data: str) -> str:
        """A new button press; its callback_query id."""
        self._callback_counter += 1
        query_id = str(4_000_000_000_000_000_000 + bot_id * 1000 + self._callback_counter)
        self.callback_queries[query_id] = CallbackQuery(user_id, message_id, data, self.clock.now())
        return query_id

    def changes_since(self, chat_id: int, since: int) -> tuple[list[SandboxMessage], list[CallbackAnswer]]:
        """Messages (deletions included) and callback answers of a chat changed after ``since``."""
        chat = self.chats.get(chat_id)
        messages = [m for m in chat.messages if m.seq > since] if chat else []
        answers = [a for a in self.callback_answers if a.user_id == chat_id and a.seq > since]
        return messages, answers

    # ------------------------------------------------------------------------------------------- commands

    @staticmethod
    def scope_key(scope: Any) -> str:
        """The key of a BotCommandScope (the default scope when none is given)."""
        if scope is None or scope == "":
            scope = {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise bad_request("can't parse BotCommandScope JSON object")
        return json.dumps(scope, sort_keys=True)

    def commands_for(self, scope: JsonDict | None = None, language_code: str = "") -> list[JsonDict]:
        """Commands set with setMyCommands for a scope (default scope) and language."""
        return copy.deepcopy(self.commands.get((self.scope_key(scope), language_code), []))
