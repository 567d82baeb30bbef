"""Webhook mode of the emulator: secret header, redelivery after errors, 409 for getUpdates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from telegram import Bot
from telegram.error import BadRequest, Conflict

from sandbox import ApiError, Emulator, FakeClock, SandboxUser

from .conftest import telegram_error


@dataclass
class Receiver:
    statuses: list[int] = field(default_factory=list)  # answers to give, in order (then 200)
    seen: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)
    reply: dict[str, Any] | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200 and self.reply is not None:
            return web.json_response(self.reply)
        return web.Response(status=status, text="")


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, TestServer]]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    yield rec, srv
    await srv.close()


async def test_webhook_delivery_secret_and_redelivery(
    bot: Bot, emulator: Emulator, alice: SandboxUser, receiver: tuple[Receiver, TestServer], clock: FakeClock
) -> None:
    rec, srv = receiver
    rec.statuses = [500]
    url = str(srv.make_url("/hook"))
    assert await bot.set_webhook(url, secret_token="s3cret_token-1")
    update_id = emulator.user_sends_text(alice, "/start")
    await clock.until_sleeping()  # the first retry waits 1 s on the emulator's clock
    assert len(rec.seen) == 1 and emulator.pending_update_count == 1
    clock.advance(1)
    await emulator.wait_until(lambda: len(rec.seen) >= 2 and emulator.pending_update_count == 0, timeout=3)
    assert [(secret, body["update_id"]) for secret, body in rec.seen] == [
        ("s3cret_token-1", update_id),
        ("s3cret_token-1", update_id),
    ]
    assert rec.seen[0][1]["message"]["text"] == "/start"
    assert [d.status for d in emulator.webhook_deliveries] == [500, 200]
    assert emulator.webhook_url == url and emulator.pending_update_count == 0
    assert emulator.webhook.last_error == (
        int(clock.now()) - 1,
        "Wrong response from the webhook: 500 Internal Server Error",
    )

    with telegram_error(Conflict, "webhook is active"):
        await bot.get_updates()

    assert await bot.delete_webhook()
    assert emulator.webhook_url == ""
    emulator.user_sends_text(alice, "polling again")
    assert [u.message.text for u in await bot.get_updates() if u.message] == ["polling again"]


async def test_webhook_gives_up_after_bounded_retries(
    bot: Bot, emulator: Emulator, alice: SandboxUser, receiver: tuple[Receiver, TestServer], clock: FakeClock
) -> None:
    rec, srv = receiver
    rec.statuses = [502] * 10
    await bot.set_webhook(str(srv.make_url("/hook")))
    emulator.user_sends_text(alice, "lost")
    for delay in emulator.webhook.retry_delays:  # 1, 2 and 4 s on the emulator's clock
        await clock.until_sleeping()
        clock.advance(delay)
    await emulator.wait_until(lambda: bool(emulator.dropped_updates), timeout=3)
    assert len(rec.seen) == 1 + len(emulator.webhook.retry_delays)
    assert [d.attempt for d in emulator.webhook_deliveries] == [1, 2, 3, 4]
    assert emulator.pending_update_count == 0


async def test_webhook_connection_refused_then_reply_method(
    bot: Bot, emulator: Emulator, started_alice: SandboxUser, receiver: tuple[Receiver, TestServer]
) -> None:
    rec, srv = receiver
    # a port nobody listens on: connection errors count as failed deliveries
    await bot.set_webhook("http://127.0.0.1:9/hook")
    await emulator.wait_until(lambda: len(emulator.webhook_deliveries) >= 1, timeout=3)
    assert emulator.webhook.last_error is not None and emulator.webhook.last_error[1].startswith("Connection failed")
    assert emulator.webhook_deliveries[0].error is not None
    # the webhook answer may itself be a Bot API call, as Telegram allows
    rec.reply = {"method": "sendMessage", "chat_id": started_alice.id, "text": "answered in the webhook reply"}
    await bot.set_webhook(str(srv.make_url("/hook")))
    await emulator.wait_until(lambda: emulator.last_bot_message(started_alice.id) is not None, timeout=3)
    last = emulator.last_bot_message(started_alice.id)
    assert last is not None and last.text == "answered in the webhook reply"


async def test_set_webhook_validation(bot: Bot, emulator: Emulator) -> None:
    with telegram_error(BadRequest, "unallowed characters"):
        await bot.set_webhook("https://example.org/hook", secret_token="no spaces allowed")
    strict = Emulator(token="1:X", allow_http_webhooks=False)
    with pytest.raises(ApiError, match="HTTPS URL must be provided"):
        await strict.call("setWebhook", {"url": "http://example.org/hook"})
    await strict.aclose()


async def test_drop_pending_updates(bot: Bot, emulator: Emulator, alice: SandboxUser) -> None:
    emulator.user_sends_text(alice, "old")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert emulator.pending_updates() == []
