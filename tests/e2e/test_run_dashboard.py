"""`python -m bot run` serves the dashboard in every mode: next to the sandbox (make run, with the first admin's
one-time password printed once), on its own host and port when polling Telegram, and on the webhook's server."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestServer

from sandbox import Emulator, create_sandbox_app
from tests.e2e.test_run_command import ROOT, free_port, running  # noqa: F401 - `running` is a fixture

TOKEN = "4242:EMULATED-telegram-for-run-tests"


async def test_make_run_serves_the_dashboard_and_prints_the_first_password_once(
    running: tuple[str, asyncio.subprocess.Process, Path],  # noqa: F811
) -> None:
    page, process, log = running
    text = log.read_text()
    assert text.count("One-time password:") == 1 and f"Dashboard (facilitators, reviewers): {page}dashboard/" in text
    password = re.search(r"One-time password: (\S+)", text)
    assert password is not None
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as client:
        async with client.get(f"{page}dashboard") as response:
            assert str(response.url).endswith("/dashboard/signin") and response.status == 200
            form = await response.text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        data = {"csrf_token": token.group(1), "username": "admin", "password": password.group(1)}
        async with client.post(f"{page}dashboard/signin", data=data) as response:
            assert str(response.url).endswith("/dashboard/password")
            assert "Choose your own password" in await response.text()
    process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(process.wait(), 15) == 0
    assert "Traceback" not in log.read_text()


async def start(tmp_path: Path, *args: str, env: dict[str, str], ready: str) -> tuple[asyncio.subprocess.Process, Path]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VOICES_", "DATABASE_"))}
    base.update({"VOICES_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT), **env})
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", *args, cwd=tmp_path, env=base, stdout=out, stderr=out
        )
    for _ in range(300):
        if ready in log.read_text(errors="replace"):
            return process, log
        if process.returncode is not None:
            pytest.fail(f"`python -m bot run` exited early:\n{log.read_text()}")
        await asyncio.sleep(0.1)
    process.kill()
    pytest.fail(f"not ready after 30 s:\n{log.read_text()}")


async def stop(process: asyncio.subprocess.Process, log: Path) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 15) == 0, read(log)
    assert "Traceback" not in read(log)


def read(log: Path) -> str:
    return log.read_text(errors="replace")


@pytest.fixture
async def telegram() -> AsyncIterator[str]:
    """A Bot API for the bot to talk to, as real Telegram would be (the emulator, over HTTP)."""
    emulator = Emulator(token=TOKEN, bot_username="voices87_run_bot")
    server = TestServer(create_sandbox_app(emulator), host="127.0.0.1")
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}/bot"
    finally:
        await emulator.aclose()
        await server.close()


async def test_polling_serves_the_dashboard_on_its_own_port(tmp_path: Path, telegram: str) -> None:
    port = free_port()
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": telegram, "VOICES_DASHBOARD_PORT": str(port)}
    process, log = await start(tmp_path, env=env, ready="polling for updates")
    try:
        async with ClientSession() as client:
            for _ in range(50):
                try:
                    async with client.get(f"http://127.0.0.1:{port}/") as response:
                        assert str(response.url).endswith("/dashboard/signin") and response.status == 200
                        break
                except OSError:
                    await asyncio.sleep(0.1)
            else:
                pytest.fail(f"no dashboard on port {port}:\n{log.read_text()}")
            async with client.get(f"http://127.0.0.1:{port}/healthz") as response:  # and the operations routes
                assert response.status == 200 and (await response.json())["database"] == "reachable"
            async with client.get(f"http://127.0.0.1:{port}/metrics") as response:
                assert response.status == 200 and "voices_updates_total" in await response.text()
    finally:
        await stop(process, log)


async def test_the_webhook_server_serves_the_dashboard(tmp_path: Path, telegram: str) -> None:
    port = free_port()
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": telegram,
        "VOICES_WEBHOOK_PORT": str(port),
        "VOICES_WEBHOOK_HOST": "127.0.0.1",
        "VOICES_WEBHOOK_SECRET": "a-webhook-secret",
        "VOICES_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
    }
    process, log = await start(tmp_path, "--webhook", env=env, ready="webhook set")
    try:
        async with ClientSession() as client:
            async with client.get(f"http://127.0.0.1:{port}/dashboard/signin") as response:
                assert response.status == 200 and "Sign in" in await response.text()
                assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
            # one server: the webhook, the dashboard, /healthz and /metrics
            async with client.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200
                assert await response.json() == {"ok": True, "database": "reachable", "outbox_backlog": 0}
            async with client.get(f"http://127.0.0.1:{port}/metrics") as response:
                assert response.status == 200
                assert "voices_bot_api_calls_total" in await response.text()
    finally:
        await stop(process, log)
