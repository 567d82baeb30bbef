"""Webhooks: setWebhook / deleteWebhook, and delivery as Telegram does it: the secret token in
``X-Telegram-Bot-Api-Secret-Token``, redelivery of the same update after an error (delays on the emulator's clock),
given up after a bounded number of attempts. By default one update at a time. With ``parallel`` (as Telegram's Bot
API server delivers, for load tests): up to setWebhook's ``max_connections`` (default 40) POSTs at once, each chat's
updates one at a time and in order (the server queues updates by chat; an update waiting for its redelivery holds
its chat's later updates back, not the others)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from sandbox.checks import opt_int, opt_str
from sandbox.clock import Clock
from sandbox.models import ApiError, JsonDict, bad_request
from sandbox.updates import QueuedUpdate, UpdateQueue, parse_allowed_updates

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
DEFAULT_MAX_CONNECTIONS = 40
"""setWebhook's default ``max_connections``: POSTs at once (only with parallel delivery)."""
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

CallMethod = Callable[[str, JsonDict], Awaitable[Any]]


@dataclass(frozen=True)
class Webhook:
    """The webhook the bot set."""

    url: str
    secret_token: str | None
    allowed_updates: list[str] | None
    max_connections: int = DEFAULT_MAX_CONNECTIONS


@dataclass
class WebhookDelivery:
    """One attempt to POST an update to the webhook."""

    update_id: int
    url: str
    attempt: int
    status: int | None
    error: str | None


class WebhookSender:
    """The webhook setting and the task that delivers queued updates to it."""

    def __init__(
        self,
        updates: UpdateQueue,
        clock: Clock,
        call: CallMethod,
        *,
        retry_delays: tuple[float, ...],
        timeout: float,
        allow_http: bool,
        parallel: bool = False,
    ) -> None:
        self.updates = updates
        self.clock = clock
        self.call = call
        self.retry_delays = retry_delays
        self.timeout = timeout
        self.allow_http = allow_http
        self.parallel = parallel
        self.webhook: Webhook | None = None
        self.last_error: tuple[int, str] | None = None
        self.deliveries: list[WebhookDelivery] = []
        self.dropped: list[JsonDict] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return self.webhook is not None

    def set_webhook(self, params: JsonDict) -> bool:
        """setWebhook (an empty url deletes it)."""
        url = (opt_str(params, "url") or "").strip()
        if not url:
            return self.delete_webhook(params)
        lowered = url.lower()
        if not lowered.startswith("https://") and not (self.allow_http and lowered.startswith("http://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = opt_str(params, "secret_token")
        if secret is not None and not _SECRET_RE.match(secret):
            raise bad_request("bad webhook: secret token contains unallowed characters")
        max_connections = opt_int(params, "max_connections", DEFAULT_MAX_CONNECTIONS)
        if not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        allowed = parse_allowed_updates(params.get("allowed_updates"))
        if params.get("drop_pending_updates") is True:
            self.updates.drop_all()
        previous = self.webhook
        if allowed is None and previous is not None:
            allowed = previous.allowed_updates
        self.webhook = Webhook(url, secret, allowed, max_connections)
        if previous is None or previous.url != url:
            self.last_error = None
        self.updates.feed.changed()
        if self._task is None or self._task.done():
            deliver = self._deliver_in_parallel() if self.parallel else self._deliver()
            self._task = asyncio.get_running_loop().create_task(deliver, name="sandbox-webhook-delivery")
        return True

    def delete_webhook(self, params: JsonDict) -> bool:
        """deleteWebhook (getUpdates works again)."""
        self.webhook = None
        self.last_error = None
        if params.get("drop_pending_updates") is True:
            self.updates.drop_all()
        self.updates.feed.changed()
        return True

    async def stop(self) -> None:
        """Stop delivering (the setting is kept)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _deliver(self) -> None:
        attempt, last_url = 0, ""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as session:
            while self.webhook is not None:
                webhook = self.webhook
                batch = self.updates.deliverable(1, webhook.allowed_updates)
                if not batch:
                    await self.updates.feed.next_change("webhook")
                    continue
                entry = batch[0]
                if webhook.url != last_url:
                    attempt, last_url = 0, webhook.url
                attempt += 1
                if await self._post(session, webhook, entry, attempt):
                    attempt = 0
                    self.updates.remove(entry)
                elif attempt > len(self.retry_delays):
                    log.warning("sandbox: dropping update %s after %s failed deliveries", entry.update_id, attempt)
                    attempt = 0
                    self.dropped.append(entry.payload)
                    self.updates.remove(entry)
                else:
                    await self._pause(self.retry_delays[attempt - 1], webhook)

    async def _deliver_in_parallel(self) -> None:
        """One task per chat with updates waiting (its updates one by one, redeliveries included); a POST takes
        one of the webhook's connections, which a redelivery's wait does not hold."""
        busy: set[object] = set()  # the chats (queues) whose update is on its way
        tasks: set[asyncio.Task[None]] = set()
        connections: dict[int, asyncio.Semaphore] = {}

        async def deliver(session: aiohttp.ClientSession, entry: QueuedUpdate, queue: object) -> None:
            try:
                attempt = 0
                while (webhook := self.webhook) is not None:
                    attempt += 1
                    slots = connections.setdefault(webhook.max_connections, asyncio.Semaphore(webhook.max_connections))
                    async with slots:
                        delivered = await self._post(session, webhook, entry, attempt)
                    if delivered:
                        self.updates.remove(entry)
                        return
                    if attempt > len(self.retry_delays):
                        log.warning("sandbox: dropping update %s after %s failed deliveries", entry.update_id, attempt)
                        self.dropped.append(entry.payload)
                        self.updates.remove(entry)
                        return
                    await self._pause(self.retry_delays[attempt - 1], webhook)
            finally:
                busy.discard(queue)
                self.updates.feed.changed()

        timeout = aiohttp.ClientTimeout(total=self.timeout)
        connector = aiohttp.TCPConnector(limit=100)  # setWebhook's largest max_connections
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            try:
                while (webhook := self.webhook) is not None:
                    seen: set[object] = set()
                    for entry in self.updates.deliverable(len(self.updates.entries), webhook.allowed_updates):
                        queue = queue_of(entry)
                        if queue in seen or queue in busy:
                            continue  # a chat's updates go one at a time, in order
                        seen.add(queue)
                        busy.add(queue)
                        task = asyncio.create_task(deliver(session, entry, queue))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                    await self.updates.feed.next_change("webhook")
            finally:
                for task in list(tasks):
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _pause(self, seconds: float, webhook: Webhook) -> None:
        """Wait before a redelivery; a new webhook setting ends the wait at once."""
        deadline = self.clock.now() + seconds
        while self.webhook is webhook and (remaining := deadline - self.clock.now()) > 0:
            await self.updates.feed.next_change("webhook", self.clock.sleep(remaining))

    async def _post(self, session: aiohttp.ClientSession, webhook: Webhook, entry: QueuedUpdate, attempt: int) -> bool:
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers[SECRET_HEADER] = webhook.secret_token
        status: int | None = None
        error: str | None = None
        reply: Any = None
        try:
            async with session.post(webhook.url, data=json.dumps(entry.payload), headers=headers) as response:
                status = response.status
                body = await response.read()
                if 200 <= status < 300:
                    with contextlib.suppress(ValueError, UnicodeDecodeError):
                        reply = json.loads(body) if body.strip() else None
                else:
                    error = f"Wrong response from the webhook: {status} {response.reason or ''}".rstrip()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = f"Connection failed: {type(exc).__name__}"
        self.deliveries.append(WebhookDelivery(entry.update_id, webhook.url, attempt, status, error))
        if error is not None:
            self.last_error = (int(self.clock.now()), error)
            self.updates.feed.changed()
            return False
        if isinstance(reply, dict) and isinstance(reply.get("method"), str):
            # "Making requests when getting updates": the webhook's answer may itself be a method call.
            method = reply.pop("method")
            with contextlib.suppress(ApiError):
                await self.call(method, reply)
        return True


def queue_of(entry: QueuedUpdate) -> object:
    """The queue Telegram's Bot API server puts an update in: its chat's (for a button press, the chat of the
    pressed message, else the presser's private chat), else a queue of its own."""
    body = entry.payload.get(entry.kind)
    if isinstance(body, dict):
        message = body.get("message") if entry.kind == "callback_query" else body
        chat = message.get("chat") if isinstance(message, dict) else None
        if not isinstance(chat, dict):
            chat = body.get("from")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return chat["id"]
    return ("update", entry.update_id)
