"""The webhook runner: Telegram's secret header is checked, updates are processed once, even when retried."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from sqlmodel import select

from bot.runners import SECRET_HEADER, WEBHOOK_PATH, create_webhook_app
from bot.telegram import build_application
from config.settings import SANDBOX_TOKEN, Secrets
from consultations.service import ConversationService
from flows.loader import shipped_library
from sandbox import Emulator, create_sandbox_app
from storage.database import Database
from storage.models import Answer
from tests.e2e.conftest import CODE, Harness, labels

SECRET = "s3cret-webhook-token_ABC"


@pytest.fixture
async def webhook_harness(sqlite_database: Database, secrets: Secrets) -> AsyncIterator[tuple[Harness, str]]:
    emulator = Emulator(token=SANDBOX_TOKEN, webhook_retry_delays=(0.05, 0.1))
    sandbox = TestServer(create_sandbox_app(emulator), host="127.0.0.1")
    await sandbox.start_server()
    harness = Harness(emulator, sandbox, sqlite_database, secrets)
    await harness.create_consultation()
    service = ConversationService(sqlite_database, shipped_library(), secrets)
    application = build_application(service, token=SANDBOX_TOKEN, base_url=harness.base_url)
    harness.application = application
    receiver = TestServer(create_webhook_app(application, SECRET, sqlite_database), host="127.0.0.1")
    await receiver.start_server()
    url = f"http://127.0.0.1:{receiver.port}{WEBHOOK_PATH}"
    async with application:
        await application.start()
        await application.bot.set_webhook(url, secret_token=SECRET)
        try:
            yield harness, url
        finally:
            await application.bot.delete_webhook()
            await application.stop()
    await receiver.close()
    await sandbox.close()


async def test_a_participant_answers_through_the_webhook(webhook_harness: tuple[Harness, str]) -> None:
    h, _ = webhook_harness
    user = h.user()
    [consent] = await h.send(user, f"/start {CODE}")
    assert labels(consent)[:2] == ["I agree", "Not now"]
    group = await h.agree(user, consent)
    assert group.text and group.text.startswith("Which group")
    assert all(d.status == 200 for d in h.emulator.webhook_deliveries)


async def test_wrong_or_missing_secret_is_refused_with_403(webhook_harness: tuple[Harness, str]) -> None:
    _, url = webhook_harness
    update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}}
    async with ClientSession() as client:
        for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"}):
            async with client.post(url, json=update, headers=headers) as response:
                assert response.status == 403


async def test_a_retried_delivery_is_processed_once(webhook_harness: tuple[Harness, str]) -> None:
    h, url = webhook_harness
    user = h.user()
    [consent] = await h.send(user, f"/start {CODE}")
    await h.agree(user, consent)
    payload = {
        "update_id": 777_001,
        "message": {
            "message_id": 50,
            "date": 1_700_000_000,
            "chat": {"id": user.id, "type": "private", "first_name": "A"},
            "from": {"id": user.id, "is_bot": False, "first_name": "A"},
            "text": "2",
        },
    }
    async with ClientSession() as client:
        for _ in range(3):  # Telegram retries until it gets a 2xx
            async with client.post(url, json=payload, headers={SECRET_HEADER: SECRET}) as response:
                assert response.status == 200
    [awareness] = await h.emulator.wait_for_bot_messages(user.id, 1)
    assert awareness.text and awareness.text.startswith("Have you heard")
    [help_reply] = await h.send(user, "/help")
    assert help_reply.text and "/skip" in help_reply.text
    async with h.database.reader() as session:
        answers = {a.question_id: a.choice_codes for a in (await session.exec(select(Answer))).all()}
    assert answers == {"consent": "agree", "age": "25_34", "group": "family_member"}


async def test_an_unparseable_update_is_acknowledged(webhook_harness: tuple[Harness, str]) -> None:
    _, url = webhook_harness
    async with (
        ClientSession() as client,
        client.post(url, data=b"{not json", headers={SECRET_HEADER: SECRET}) as response,
    ):
        assert response.status == 200
