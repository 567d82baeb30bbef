"""The update queue and getUpdates: offsets confirm updates, long polls wait on the emulator's clock, a second
consumer ends the first with 409, allowed_updates filters, updates a webhook may not take are never handed out."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.checks import opt_int
from sandbox.clock import Clock
from sandbox.counters import IdCounters
from sandbox.models import ApiError, JsonDict, bad_request
from sandbox.state import ChangeFeed

UPDATE_TYPES = ("message", "edited_message", "callback_query", "my_chat_member", "chat_member", "message_reaction")
_DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction"})
MAX_UPDATES_PER_CALL = 100


@dataclass
class QueuedUpdate:
    """An update waiting to be confirmed (getUpdates offset) or delivered (webhook)."""

    update_id: int
    payload: JsonDict
    delivered: bool = False
    duplicate: bool = False

    @property
    def kind(self) -> str:
        return next((key for key in self.payload if key != "update_id"), "unknown")


def parse_allowed_updates(raw: object) -> list[str] | None:
    """The ``allowed_updates`` parameter: None when not given."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise bad_request("can't parse allowed_updates JSON array")
    return list(raw)


class UpdateQueue:
    """Updates for the bot, in order, until confirmed."""

    def __init__(self, clock: Clock, counters: IdCounters, feed: ChangeFeed) -> None:
        self.clock = clock
        self.counters = counters
        self.feed = feed
        self.entries: list[QueuedUpdate] = []
        self.allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self._release_generation = 0

    def queue(self, body: JsonDict, *, update_id: int | None = None) -> int:
        """Queue an update (a fresh id, or an explicit one: a repeat of an earlier id is a redelivery)."""
        duplicate = False
        if update_id is None:
            update_id = self.counters.next_update_id()
        else:
            duplicate = update_id < self.counters.upcoming_update_id or any(
                u.update_id == update_id for u in self.entries
            )
            self.counters.saw_update_id(update_id)
        self.entries.append(QueuedUpdate(update_id, {"update_id": update_id, **body}, duplicate=duplicate))
        self.feed.changed()
        return update_id

    def deliverable(self, limit: int, allowed: list[str] | None) -> list[QueuedUpdate]:
        """The first ``limit`` updates of the allowed types (others are dropped, as Telegram never sends them)."""
        kinds = frozenset(allowed) if allowed else frozenset(UPDATE_TYPES) - _DEFAULT_EXCLUDED
        result: list[QueuedUpdate] = []
        for entry in list(self.entries):
            if entry.kind not in kinds:
                self.entries.remove(entry)
                continue
            result.append(entry)
            if len(result) >= limit:
                break
        return result

    def confirm(self, offset: int) -> None:
        """getUpdates ``offset``: updates below it are confirmed (a negative offset keeps the last -offset)."""
        if offset > 0:
            self.entries = [u for u in self.entries if u.update_id >= offset or (u.duplicate and not u.delivered)]
        elif offset < 0:
            self.entries = self.entries[offset:]

    def remove(self, entry: QueuedUpdate) -> None:
        if entry in self.entries:
            self.entries.remove(entry)
        self.feed.changed()

    def drop_all(self) -> None:
        self.entries.clear()

    def release_polls(self) -> None:
        """End every long poll now (an empty answer): the server is stopping."""
        self._release_generation += 1
        self.feed.changed()

    async def get_updates(self, params: JsonDict, webhook_active: Callable[[], bool]) -> list[JsonDict]:
        """getUpdates: confirm ``offset``, then answer at once or long-poll up to ``timeout`` s on the clock."""
        if webhook_active():
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = opt_int(params, "offset", 0)
        limit = min(max(opt_int(params, "limit", MAX_UPDATES_PER_CALL), 1), MAX_UPDATES_PER_CALL)
        timeout = max(opt_int(params, "timeout", 0), 0)
        allowed = parse_allowed_updates(params.get("allowed_updates"))
        if allowed is not None:
            self.allowed_updates = allowed
        self._poll_generation += 1
        generation, release = self._poll_generation, self._release_generation
        self.feed.changed()  # wakes an older long poll, which then answers 409 like Telegram
        self.confirm(offset)
        deadline = self.clock.now() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            if webhook_active():
                raise ApiError(409, "Conflict: terminated by setWebhook request")
            if release != self._release_generation:
                return []
            batch = self.deliverable(limit, self.allowed_updates)
            remaining = deadline - self.clock.now()
            if batch or remaining <= 0:
                for entry in batch:
                    entry.delivered = True
                return [copy.deepcopy(entry.payload) for entry in batch]
            await self.feed.next_change("getUpdates", self.clock.sleep(remaining))
