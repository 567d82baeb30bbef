"""Webhooks: setWebhook / deleteWebhook, and delivery as Telegram does it: one update at a time, the secret token
in ``X-Telegram-Bot-Api-Secret-Token``, redelivery of the same update after an error (delays on the emulator's
clock), given up after a bounded number of attempts."""

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
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

CallMethod = Callable[[str, JsonDict], Awaitable[Any]]


@dataclass(frozen=True)
class Webhook:
    """The webhook the bot set."""

    url: str
    secret_token: str | None
    allowed_updates: list[str] | None


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
    ) -> None:
        self.updates = updates
        self.clock = clock
        self.call = call
        self.retry_delays = retry_delays
        self.timeout = timeout
        self.allow_http = allow_http
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
        if not 1 <= opt_int(params, "max_connections", 40) <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        allowed = parse_allowed_updates(params.get("allowed_updates"))
        if params.get("drop_pending_updates") is True:
            self.updates.drop_all()
        previous = self.webhook
        if allowed is None and previous is not None:
            allowed = previous.allowed_updates
        self.webhook = Webhook(url, secret, allowed)
        if previous is None or previous.url != url:
            self.last_error = None
        self.updates.feed.changed()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._deliver(), name="sandbox-webhook-delivery")
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
