"""The database going away while a person answers (issue 12): the update is not claimed and not lost. Polling keeps
it unacknowledged and tries it again; the webhook answers 503 so Telegram delivers it again; no apology is sent;
once the database is back the answer is recorded exactly once and the next question is sent once. Real PTB, real
HTTP through the emulator, a real PostgreSQL server behind a relay that is switched off and on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from sqlmodel import select

from bot.runners import WEBHOOK_PATH, create_webhook_app
from bot.telegram import build_application
from config.settings import SANDBOX_TOKEN, Secrets
from consultations.service import ConversationService
from flows.loader import shipped_library
from sandbox import Emulator, SandboxUser, create_sandbox_app
from storage import outbox
from storage.database import Database
from storage.models import Answer
from tests.e2e.conftest import CODE, Harness, open_harness
from tests.e2e.database_switch import DatabaseSwitch, switched_postgres
from tests.e2e.test_run_command import free_port
from tests.e2e.test_run_dashboard import TOKEN as RUN_TOKEN
from tests.e2e.test_run_dashboard import read, start, stop

SECRET = "webhook-secret-for-outage-tests"
APOLOGY = "Sorry, something went wrong"
OUTAGE_SECONDS = 1.5


@pytest.fixture
async def outage(secrets: Secrets) -> AsyncIterator[tuple[Harness, DatabaseSwitch]]:
    """The polling bot on PostgreSQL behind a switch."""
    async with switched_postgres() as (database, switch):
        async for harness in open_harness(database, secrets):
            yield harness, switch


async def at_group_question(h: Harness) -> SandboxUser:
    user = h.user()
    [consent] = await h.send(user, f"/start {CODE}")
    group = await h.agree(user, consent)
    assert group.text and group.text.startswith("Which group")
    # the bot is done with that update (it was acknowledged, or answered 200 to the webhook)
    await h.emulator.wait_until(lambda: h.emulator.pending_update_count == 0, description="all updates handled")
    # and its replies were delivered and recorded: the outage below starts after that (a delivery whose record
    # the outage interrupts is recorded when the database is back, or sent again after its lease: README)
    await outbox_empty(h.database)
    return user


async def outbox_empty(database: Database, within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while True:
            async with database.reader() as session:
                if not await outbox.backlog(session):
                    return
            await asyncio.sleep(0.05)


async def answers(database: Database) -> list[tuple[str, str | None]]:
    async with database.reader() as session:
        rows = (await session.exec(select(Answer).order_by(Answer.question_id))).all()
    return [(a.question_id, a.choice_codes) for a in rows]


def texts(h: Harness, user: SandboxUser) -> list[str]:
    return [m.text or "" for m in h.emulator.bot_messages(user.id, include_deleted=True)]


async def test_polling_keeps_the_update_until_the_database_is_back(
    outage: tuple[Harness, DatabaseSwitch],
) -> None:
    h, switch = outage
    user = await at_group_question(h)
    sent_before = len(texts(h, user))
    await switch.off()
    h.emulator.user_sends_text(user, "2")
    await asyncio.sleep(OUTAGE_SECONDS)  # several retries fail meanwhile
    assert len(texts(h, user)) == sent_before, "nothing is sent while the database is away (no apology)"
    assert h.emulator.pending_update_count == 1, [sorted(u) for u in h.emulator.pending_updates()]
    await switch.on()
    [awareness] = await h.emulator.wait_for_bot_messages(user.id, 1)
    assert awareness.text and awareness.text.startswith("Have you heard")
    await asyncio.sleep(0.3)
    assert not any(APOLOGY in text for text in texts(h, user))
    assert sum(text.startswith("Have you heard") for text in texts(h, user)) == 1
    assert await answers(h.database) == [("age", "25_34"), ("consent", "agree"), ("group", "family_member")]
    await h.emulator.wait_until(lambda: h.emulator.pending_update_count == 0, description="acknowledged")


async def test_a_database_that_stops_answering_is_an_outage_not_a_hang(
    secrets: Secrets, caplog: pytest.LogCaptureFixture
) -> None:
    """A network that drops everything instead of refusing it (no error, no answer, ever), in the middle of a
    conversation: each statement fails after the query timeout, so the update is kept and tried again as in an
    outage, instead of waiting forever with the participant's lock and a slot of the updates in flight."""
    timeout = 1.0
    async with switched_postgres(connect_timeout=timeout, query_timeout=timeout) as (database, switch):
        async for h in open_harness(database, secrets):
            user = await at_group_question(h)
            sent_before = len(texts(h, user))
            switch.hang()
            h.emulator.user_sends_text(user, "2")
            await asyncio.sleep(5 * timeout)
            deferred = [r for r in caplog.records if "database unavailable" in r.getMessage()]
            assert deferred, "the update failed after the timeout and was kept, while the network was still quiet"
            assert len(texts(h, user)) == sent_before, "nothing is sent while the database is away (no apology)"
            assert h.emulator.pending_update_count == 1
            await switch.on()  # the network is back (the connections it held are cut)
            [awareness] = await h.emulator.wait_for_bot_messages(user.id, 1, timeout=20)
            assert awareness.text and awareness.text.startswith("Have you heard")
            await asyncio.sleep(0.3)
            assert not any(APOLOGY in text for text in texts(h, user))
            assert await answers(h.database) == [("age", "25_34"), ("consent", "agree"), ("group", "family_member")]


async def test_a_worker_stopped_during_the_outage_gets_the_update_again(
    outage: tuple[Harness, DatabaseSwitch],
) -> None:
    h, switch = outage
    user = await at_group_question(h)
    await switch.off()
    h.emulator.user_sends_text(user, "2")
    await asyncio.sleep(0.5)
    await h.stop_bot()  # e.g. a deployment while the database is down: the update was never acknowledged
    assert h.emulator.pending_update_count == 1
    await switch.on()
    await h.start_bot()
    [awareness] = await h.emulator.wait_for_bot_messages(user.id, 1)
    assert awareness.text and awareness.text.startswith("Have you heard")
    assert not any(APOLOGY in text for text in texts(h, user))
    assert await answers(h.database) == [("age", "25_34"), ("consent", "agree"), ("group", "family_member")]


async def test_other_updates_wait_in_order_behind_the_outage(outage: tuple[Harness, DatabaseSwitch]) -> None:
    h, switch = outage
    user = await at_group_question(h)
    await switch.off()
    h.emulator.user_sends_text(user, "2")
    h.emulator.user_sends_text(user, "/skip")
    await asyncio.sleep(0.8)
    await switch.on()
    awareness, following = await h.emulator.wait_for_bot_messages(user.id, 2)
    assert awareness.text and awareness.text.startswith("Have you heard")
    assert not any(APOLOGY in text for text in texts(h, user))
    recorded = dict(await answers(h.database))
    assert recorded["group"] == "family_member"
    # The /skip applies to the question on screen: the awareness question if it was delivered by then (it is
    # skipped), else the group question it was typed under (the awareness question comes again, nothing skipped).
    if following.text and following.text.startswith("Have you heard"):
        assert "awareness" not in recorded
    else:
        assert "awareness" in recorded and recorded["awareness"] is None


@pytest.fixture
async def webhook_outage(secrets: Secrets) -> AsyncIterator[tuple[Harness, DatabaseSwitch, str]]:
    """The bot behind its webhook server, on PostgreSQL behind a switch; Telegram (the emulator) retries a
    failed delivery every 0.2 s, 40 times."""
    async with switched_postgres() as (database, switch):
        emulator = Emulator(token=SANDBOX_TOKEN, webhook_retry_delays=(0.2,) * 40)
        sandbox = TestServer(create_sandbox_app(emulator), host="127.0.0.1")
        await sandbox.start_server()
        harness = Harness(emulator, sandbox, database, secrets)
        await harness.create_consultation()
        service = ConversationService(database, shipped_library(), secrets)
        application = build_application(service, token=SANDBOX_TOKEN, base_url=harness.base_url)
        harness.application = application
        receiver = TestServer(create_webhook_app(application, SECRET, database), host="127.0.0.1")
        await receiver.start_server()
        base = f"http://127.0.0.1:{receiver.port}"
        async with application:
            await application.start()
            await application.bot.set_webhook(f"{base}{WEBHOOK_PATH}", secret_token=SECRET)
            try:
                yield harness, switch, base
            finally:
                await application.bot.delete_webhook()
                await application.stop()
        await receiver.close()
        await sandbox.close()


async def test_the_webhook_answers_503_until_the_database_is_back(
    webhook_outage: tuple[Harness, DatabaseSwitch, str],
) -> None:
    h, switch, base = webhook_outage
    user = await at_group_question(h)
    sent_before = len(texts(h, user))
    await switch.off()
    update_id = h.emulator.user_sends_text(user, "2")
    async with ClientSession() as client:
        await h.emulator.wait_until(
            lambda: sum(d.update_id == update_id and d.status == 503 for d in h.emulator.webhook_deliveries) >= 2,
            description="two deliveries refused with 503",
        )
        async with client.get(f"{base}/healthz") as response:
            assert response.status == 503
            assert (await response.json())["database"] == "unreachable"
        assert len(texts(h, user)) == sent_before, "no apology for an update Telegram will deliver again"
        await switch.on()
        [awareness] = await h.emulator.wait_for_bot_messages(user.id, 1)
        assert awareness.text and awareness.text.startswith("Have you heard")
        async with client.get(f"{base}/healthz") as response:
            assert response.status == 200
            assert (await response.json())["database"] == "reachable"

    def statuses() -> list[int | None]:
        return [d.status for d in h.emulator.webhook_deliveries if d.update_id == update_id]

    await h.emulator.wait_until(lambda: statuses()[-1] == 200, description="the delivery accepted")
    assert statuses()[-1] == 200 and set(statuses()[:-1]) == {503}
    assert h.emulator.dropped_updates == []
    assert not any(APOLOGY in text for text in texts(h, user))
    assert sum(text.startswith("Have you heard") for text in texts(h, user)) == 1
    assert await answers(h.database) == [("age", "25_34"), ("consent", "agree"), ("group", "family_member")]


async def test_a_real_bug_still_gets_the_apology_and_is_acknowledged(
    webhook_outage: tuple[Harness, DatabaseSwitch, str],
) -> None:
    """The line between the two: a failure that is not the database being away is a bug: apology, 200."""
    h, _, _ = webhook_outage
    user = await at_group_question(h)
    assert h.application is not None
    service: ConversationService = h.application.bot_data["voices_service"]

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    original = service.handle
    service.handle = broken  # type: ignore[method-assign,assignment]
    try:
        update_id = h.emulator.user_sends_text(user, "2")
        [apology] = await h.emulator.wait_for_bot_messages(user.id, 1)
    finally:
        service.handle = original  # type: ignore[method-assign]
    assert apology.text and apology.text.startswith(APOLOGY)
    await h.emulator.wait_until(lambda: any(d.update_id == update_id for d in h.emulator.webhook_deliveries))
    assert [d.status for d in h.emulator.webhook_deliveries if d.update_id == update_id] == [200]


@pytest.mark.parametrize("mode", ["--webhook", "polling"])
async def test_python_m_bot_run_keeps_the_update_while_the_database_is_away(tmp_path: Path, mode: str) -> None:
    """The real `python -m bot run` (a subprocess, as deployed) on PostgreSQL, Telegram emulated over HTTP."""
    emulator = Emulator(token=RUN_TOKEN, webhook_retry_delays=(0.3,) * 30)
    telegram = TestServer(create_sandbox_app(emulator), host="127.0.0.1")
    await telegram.start_server()
    port = free_port()
    env = {
        "TELEGRAM_BOT_TOKEN": RUN_TOKEN,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{telegram.port}/bot",
        "VOICES_DASHBOARD_PORT": str(port),
    }
    if mode == "--webhook":
        env |= {
            "VOICES_WEBHOOK_PORT": str(port),
            "VOICES_WEBHOOK_HOST": "127.0.0.1",
            "VOICES_WEBHOOK_SECRET": "a-webhook-secret",
            "VOICES_WEBHOOK_URL": f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
        }
    try:
        async with switched_postgres() as (database, switch):
            h = Harness(emulator, telegram, database, Secrets(b"unused", [("k1", bytes(32))]))
            await h.create_consultation()
            env["DATABASE_URL"] = database.url
            args = ("--webhook",) if mode == "--webhook" else ()
            process, log = await start(tmp_path, *args, env=env, ready="webhook set" if args else "polling for updates")
            try:
                user = await at_group_question(h)
                await switch.off()
                update_id = emulator.user_sends_text(user, "2")
                await asyncio.sleep(OUTAGE_SECONDS)
                async with ClientSession() as client, client.get(f"http://127.0.0.1:{port}/healthz") as response:
                    assert response.status == 503
                if args:
                    assert {d.status for d in emulator.webhook_deliveries if d.update_id == update_id} == {503}
                else:
                    assert emulator.pending_update_count == 1
                await switch.on()
                [awareness] = await emulator.wait_for_bot_messages(user.id, 1, timeout=20)
                assert awareness.text and awareness.text.startswith("Have you heard")
                await emulator.wait_until(lambda: emulator.pending_update_count == 0, timeout=20)
                assert not any(APOLOGY in text for text in texts(h, user))
                assert sum(text.startswith("Have you heard") for text in texts(h, user)) == 1
                assert await answers(database) == [("age", "25_34"), ("consent", "agree"), ("group", "family_member")]
                assert "database unavailable: cannot reach the database" in read(log)
            finally:
                await stop(process, log)
    finally:
        await emulator.aclose()
        await telegram.close()
