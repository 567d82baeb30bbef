"""Webhook mode of the emulator: secret header, redelivery after errors, 409 for getUpdates."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from telegram import Bot
from telegram.error import BadRequest, Conflict

from sandbox import ApiError, Emulator, FakeClock, SandboxUser

from .conftest import TOKEN, telegram_error


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


@dataclass
class HeldReceiver:
    """Holds every POST until the test answers it with a status."""

    held: dict[int, asyncio.Future[int]] = field(default_factory=dict)

    async def handle(self, request: web.Request) -> web.Response:
        update_id = int((await request.json())["update_id"])
        answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.held[update_id] = answer
        return web.Response(status=await answer, text="")


async def test_parallel_delivery_takes_chats_at_once_each_in_order(clock: FakeClock) -> None:
    """As Telegram's Bot API server: up to max_connections POSTs at once, one chat's updates one at a time and in
    order, and a chat waiting for a redelivery holds back only its own updates."""
    emulator = Emulator(token=TOKEN, clock=clock, webhook_retry_delays=(1,), parallel_webhook=True)
    rec = HeldReceiver()
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    try:
        alice, bob, carol = (emulator.new_user(name) for name in ("Alice", "Bob", "Carol"))
        a1, a2 = emulator.user_sends_text(alice, "a1"), emulator.user_sends_text(alice, "a2")
        b1, c1 = emulator.user_sends_text(bob, "b1"), emulator.user_sends_text(carol, "c1")
        await emulator.call("setWebhook", {"url": str(srv.make_url("/hook")), "max_connections": 2})
        await emulator.wait_until(lambda: len(rec.held) == 2, timeout=3)
        assert set(rec.held) == {a1, b1}  # two connections; Alice's second waits for her first
        rec.held[b1].set_result(500)  # Bob's fails: his chat waits 1 s for the redelivery, the connection is free
        await emulator.wait_until(lambda: c1 in rec.held, timeout=3)
        assert a2 not in rec.held
        rec.held[a1].set_result(200)
        rec.held[c1].set_result(200)
        await emulator.wait_until(lambda: a2 in rec.held, timeout=3)
        rec.held[a2].set_result(200)
        await clock.until_sleeping()
        del rec.held[b1]
        clock.advance(1)
        await emulator.wait_until(lambda: b1 in rec.held, timeout=3)
        rec.held[b1].set_result(200)
        await emulator.wait_until(lambda: emulator.pending_update_count == 0, timeout=3)
        assert [(d.update_id, d.status) for d in emulator.webhook_deliveries] == [
            (b1, 500),
            (a1, 200),
            (c1, 200),
            (a2, 200),
            (b1, 200),
        ]
    finally:
        await emulator.aclose()
        await srv.close()
