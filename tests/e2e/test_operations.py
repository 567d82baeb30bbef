"""The webhook worker's operations (issue 12): a cap on updates in flight, so a burst queues instead of thrashing;
`/metrics` in Prometheus' format with counts only (no person's id, name or text in it); `/healthz`. Real PTB, real
HTTP through the emulator and the webhook server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.runners import SECRET_HEADER, WEBHOOK_PATH, create_webhook_app
from bot.telegram import build_application
from config.settings import SANDBOX_TOKEN, Secrets
from consultations.service import ConversationService
from flows.loader import shipped_library
from sandbox import Emulator, create_sandbox_app
from storage.database import Database
from tests.e2e.conftest import CODE, Harness

SECRET = "webhook-secret-for-operations-tests"
CAP = 3


@pytest.fixture
async def capped(sqlite_database: Database, secrets: Secrets) -> AsyncIterator[tuple[Harness, str]]:
    """The bot behind its webhook server with at most CAP updates in flight."""
    emulator = Emulator(token=SANDBOX_TOKEN)
    sandbox = TestServer(create_sandbox_app(emulator), host="127.0.0.1")
    await sandbox.start_server()
    harness = Harness(emulator, sandbox, sqlite_database, secrets)
    await harness.create_consultation()
    service = ConversationService(sqlite_database, shipped_library(), secrets)
    application = build_application(service, token=SANDBOX_TOKEN, base_url=harness.base_url, max_updates_in_flight=CAP)
    harness.application = application
    receiver = TestServer(create_webhook_app(application, SECRET, sqlite_database), host="127.0.0.1")
    await receiver.start_server()
    base = f"http://127.0.0.1:{receiver.port}"
    async with application:
        await application.start()
        await application.bot.set_webhook(f"{base}{WEBHOOK_PATH}", secret_token=SECRET)
        try:
            yield harness, base
        finally:
            await application.bot.delete_webhook()
            await application.stop()
    await receiver.close()
    await sandbox.close()


async def test_a_burst_is_handled_at_most_cap_at_a_time(capped: tuple[Harness, str]) -> None:
    h, base = capped
    url = f"{base}{WEBHOOK_PATH}"
    assert h.application is not None
    service: ConversationService = h.application.bot_data["voices_service"]
    original = service.handle
    running = 0
    most = 0

    async def slow_handle(*args: Any, **kwargs: Any) -> Any:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await asyncio.sleep(0.15)  # a slow step: without a cap every update of the burst would run at once
            return await original(*args, **kwargs)
        finally:
            running -= 1

    service.handle = slow_handle  # type: ignore[method-assign]
    users = [h.user(f"Person {n}") for n in range(12)]
    for user in users:  # they opened the chat with the bot earlier (Telegram lets a bot write only then)
        h.emulator.store.chat_of(user).started = True
    # Telegram posts to a webhook over up to 40 connections at once: a burst, as it would send it
    async with ClientSession() as client:

        async def post(n: int) -> int:
            user = users[n]
            chat = {"id": user.id, "type": "private", "first_name": "P"}
            message = {"message_id": 1, "date": 1_700_000_000, "chat": chat, "text": f"/start {CODE}"}
            message["from"] = {"id": user.id, "is_bot": False, "first_name": "P"}
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
            update = {"update_id": 900_000 + n, "message": message}
            async with client.post(url, json=update, headers={SECRET_HEADER: SECRET}) as response:
                return response.status

        statuses = await asyncio.gather(*(post(n) for n in range(len(users))))
    assert statuses == [200] * len(users)
    for user in users:
        [consent] = await h.emulator.wait_for_bot_messages(user.id, 1)
        assert consent.text
    assert most == CAP, f"{most} updates were handled at once; the cap is {CAP}"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics_count_updates_and_api_calls_and_carry_no_personal_data(capped: tuple[Harness, str]) -> None:
    h, base = capped
    async with ClientSession() as client:
        async with client.get(f"{base}/metrics") as response:
            before = samples(await response.text())
        user = h.user("Zawadi Secretname", username="zawadi_handle")
        [consent] = await h.send(user, f"/start {CODE}")
        await h.agree(user, consent)
        [reply] = await h.send(user, "my private words 0712345678")  # typed at "Which group"
        await h.emulator.wait_until(lambda: h.emulator.pending_update_count == 0, description="all delivered")
        async with client.get(f"{base}/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            body = await response.text()
    after = samples(body)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("voices_updates_total", kind="message", result="handled") == 2
    assert grew("voices_updates_total", kind="callback_query", result="handled") >= 1
    assert grew("voices_bot_api_calls_total", method="sendMessage", result="ok") >= 3
    assert grew("voices_bot_api_calls_total", method="answerCallbackQuery", result="ok") >= 1
    assert grew("voices_update_handling_seconds_count", kind="message") == 2
    for secret in (str(user.id), "Zawadi", "Secretname", "zawadi_handle", "private words", "0712345678", CODE):
        assert secret not in body
    assert SANDBOX_TOKEN not in body and SANDBOX_TOKEN.split(":")[1] not in body
    assert reply.text


async def test_health_says_the_database_is_reachable(capped: tuple[Harness, str]) -> None:
    _, base = capped
    async with ClientSession() as client, client.get(f"{base}/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"ok": True, "database": "reachable", "outbox_backlog": 0}


async def test_polling_handles_chats_side_by_side_within_the_cap_and_each_chat_in_order(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backlog fetched in one getUpdates: different people's updates run at once, at most the cap; one
    person's updates run one after the other, in the order they were sent."""
    h = harness
    await h.stop_bot()
    h.max_updates_in_flight = 2
    amina = h.user("Amina")
    others = [h.user(f"Person {n}") for n in range(6)]
    for text in (f"/start {CODE}", "/help", "/privacy"):
        h.emulator.user_sends_text(amina, text)
    for user in others:
        h.emulator.user_sends_text(user, f"/start {CODE}")
    original = ConversationService.handle
    running = 0
    most = 0
    handled: list[tuple[int, str]] = []

    async def slow_handle(self: ConversationService, update_id: int | None, sender: Any, incoming: Any) -> Any:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await asyncio.sleep(0.1)
            handled.append((sender.identity, type(incoming).__name__))
            return await original(self, update_id, sender, incoming)
        finally:
            running -= 1

    monkeypatch.setattr(ConversationService, "handle", slow_handle)
    await h.start_bot()  # the backlog arrives in one batch
    await h.emulator.wait_until(lambda: len(handled) == 9 and h.emulator.pending_update_count == 0, timeout=20)
    assert [kind for identity, kind in handled if identity == amina.id] == ["Begin", "AskHelp", "AskPrivacy"]
    assert most == 2, f"{most} updates were handled at once; the cap is 2"
    for user in others:
        [consent] = await h.emulator.wait_for_bot_messages(user.id, 1)
        assert consent.buttons
