"""`python -m bot run` with no token, as `make run` starts it: sandbox page + demo consultation + the bot."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read(log: Path) -> str:
    return log.read_text(errors="replace")


@contextlib.asynccontextmanager
async def run_bot(
    tmp_path: Path, port: int, log: Path, *args: str, env: dict[str, str] | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m bot run` with no token, its data in tmp_path/data, until the banner shows; stopped with SIGINT."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VOICES_", "DATABASE_"))}
    environment.update(
        {"VOICES_DATA_DIR": str(tmp_path / "data"), "VOICES_SANDBOX_PORT": str(port), "PYTHONPATH": str(ROOT)}
    )
    environment.update(env or {})
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", *args, cwd=tmp_path, env=environment, stdout=out, stderr=out
        )
    try:
        for _ in range(200):  # a real process starting: real time (the emulator's clock is in that process)
            if "Chat with the bot in your browser" in read(log):
                break
            if process.returncode is not None:
                pytest.fail(f"`python -m bot run` exited early:\n{read(log)}")
            await asyncio.sleep(0.1)
        else:
            pytest.fail(f"no banner after 20 s:\n{read(log)}")
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[str, asyncio.subprocess.Process, Path]]:
    port = free_port()
    log = tmp_path / "run.log"
    async with run_bot(tmp_path, port, log) as process:
        yield f"http://127.0.0.1:{port}/", process, log


async def wait_for_bot_text(client: ClientSession, page: str, user_id: int, needle: str) -> dict[str, Any]:
    since = 0
    seen: list[str] = []
    for _ in range(40):
        async with client.get(f"{page}sandbox/api/chat", params={"user_id": user_id, "since": since, "wait": 1}) as r:
            data = await r.json()
        since = data["cursor"]
        for message in data["messages"]:
            if message["from_bot"]:
                seen.append(message["text"] or "")
                if needle in (message["text"] or ""):
                    return dict(message)
    raise AssertionError(f"no bot message containing {needle!r}; saw {seen}")


async def wait_for_count(client: ClientSession, page: str, user_id: int, needle: str, count: int) -> int:
    """How many bot messages contain `needle`, once there are `count` of them (or after about 10 s)."""
    found, cursor = 0, 0
    for _ in range(10):
        if cursor:  # wait for the next change
            params = {"user_id": user_id, "since": cursor, "wait": 1}
            async with client.get(f"{page}sandbox/api/chat", params=params):
                pass
        async with client.get(f"{page}sandbox/api/chat", params={"user_id": user_id, "since": 0}) as r:
            data = await r.json()
        cursor = data["cursor"]
        found = sum(needle in (m["text"] or "") for m in data["messages"] if m["from_bot"])
        if found >= count:
            break
    return found


async def test_run_serves_the_page_seeds_the_demo_and_answers(
    running: tuple[str, asyncio.subprocess.Process, Path],
) -> None:
    page, process, log = running
    banner = log.read_text()
    assert f"{page}?start=DEMO" in banner
    async with ClientSession() as client:
        async with client.get(page) as response:
            assert response.status == 200 and "<html" in (await response.text()).lower()
        async with client.post(f"{page}sandbox/api/users", json={"first_name": "Web", "language_code": "fr"}) as r:
            user_id = (await r.json())["user"]["id"]
        async with client.post(f"{page}sandbox/api/send", json={"user_id": user_id, "text": "/start DEMO"}) as r:
            assert r.status == 200
        consent = await wait_for_bot_text(client, page, user_id, "Acceptez-vous de participer ?")
        agree = consent["reply_markup"]["inline_keyboard"][0][0]
        assert agree["text"] == "J’accepte" and consent["protect_content"]
        press = {"user_id": user_id, "message_id": consent["message_id"], "callback_data": agree["callback_data"]}
        async with client.post(f"{page}sandbox/api/press", json=press) as r:
            assert r.status == 200
        age = await wait_for_bot_text(client, page, user_id, "Quel âge avez-vous ?")
        # issue 10, item 20: the sandbox's clearly fake contacts, so /help and the under-18 screen can be tried
        assert "/help shows the fake EXAMPLE contacts" in banner
        async with client.post(f"{page}sandbox/api/send", json={"user_id": user_id, "text": "/help"}) as r:
            assert r.status == 200
        await wait_for_bot_text(client, page, user_id, "EXAMPLE – la ligne de soutien de l’organisation (fictive)")
        minor = next(b for row in age["reply_markup"]["inline_keyboard"] for b in row if b["text"] == "Moins de 18 ans")
        press = {"user_id": user_id, "message_id": age["message_id"], "callback_data": minor["callback_data"]}
        async with client.post(f"{page}sandbox/api/press", json=press) as r:
            assert r.status == 200
        await wait_for_bot_text(client, page, user_id, "réservée aux adultes")
        fake = "EXAMPLE – ce n’est pas une vraie ligne d’aide"
        assert await wait_for_count(client, page, user_id, fake, 2) == 2  # after /help, and after "under 18"
    process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(process.wait(), 15) == 0
    text = log.read_text()
    assert "Traceback" not in text
    assert str(user_id) not in text  # no Telegram id in the operator's log


async def test_run_twice_on_the_same_data_and_the_conversation_goes_on(tmp_path: Path) -> None:
    """Issue 8: `make run`, stop it, `make run` again: the bot answers (it used to drop everything as duplicates)."""
    port = free_port()
    page = f"http://127.0.0.1:{port}/"
    async with ClientSession() as client:
        async with run_bot(tmp_path, port, tmp_path / "first.log") as first:
            async with client.post(f"{page}sandbox/api/users", json={"first_name": "Web", "language_code": "en"}) as r:
                user = (await r.json())["user"]
            async with client.post(f"{page}sandbox/api/send", json={"user_id": user["id"], "text": "/start DEMO"}):
                pass
            consent = await wait_for_bot_text(client, page, user["id"], "Do you agree to take part?")
            agree = consent["reply_markup"]["inline_keyboard"][0][0]
            press = {
                "user_id": user["id"],
                "message_id": consent["message_id"],
                "callback_data": agree["callback_data"],
            }
            async with client.post(f"{page}sandbox/api/press", json=press):
                pass
            age = await wait_for_bot_text(client, page, user["id"], "How old are you?")
            first.send_signal(signal.SIGINT)
            assert await asyncio.wait_for(first.wait(), 15) == 0

        async with run_bot(tmp_path, port, tmp_path / "second.log"):
            async with client.get(f"{page}sandbox/api/info") as r:
                assert (await r.json())["instance"]
            # the page registers the same user again (it keeps its users in the browser)
            async with client.post(f"{page}sandbox/api/users", json=user) as r:
                assert (await r.json())["user"]["id"] == user["id"]
            async with client.post(f"{page}sandbox/api/send", json={"user_id": user["id"], "text": "/start"}):
                pass
            again = await wait_for_bot_text(client, page, user["id"], "How old are you?")
            assert again["message_id"] > age["message_id"]
            adult = next(b for row in again["reply_markup"]["inline_keyboard"] for b in row if b["text"] == "25 to 34")
            press = {"user_id": user["id"], "message_id": again["message_id"], "callback_data": adult["callback_data"]}
            async with client.post(f"{page}sandbox/api/press", json=press):
                pass
            await wait_for_bot_text(client, page, user["id"], "Which group are you part of?")
    second = (tmp_path / "second.log").read_text()
    assert "Traceback" not in second and "duplicate update" not in second


def listening_addresses(port: int) -> set[str]:
    """The IPv4 addresses something listens on at `port` on this machine (Linux: /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


async def test_sandbox_webhook_listens_on_loopback_with_a_secret_of_its_own(tmp_path: Path) -> None:
    """Issue 10, item 14: `run --webhook` with no token listened on 0.0.0.0 with the fixed secret
    `sandbox-webhook-secret`. Now: loopback only, even when VOICES_WEBHOOK_HOST says 0.0.0.0, and a random secret."""
    port, webhook_port = free_port(), free_port()
    page = f"http://127.0.0.1:{port}/"
    env = {"VOICES_WEBHOOK_PORT": str(webhook_port), "VOICES_WEBHOOK_HOST": "0.0.0.0"}
    async with (
        run_bot(tmp_path, port, tmp_path / "run.log", "--webhook", env=env),
        ClientSession() as client,
    ):
        for _ in range(100):  # the banner comes before the webhook server starts: real time, another process
            if listening_addresses(webhook_port):
                break
            await asyncio.sleep(0.1)
        assert listening_addresses(webhook_port) == {"127.0.0.1"}
        update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}}
        headers = {"X-Telegram-Bot-Api-Secret-Token": "sandbox-webhook-secret"}
        url = f"http://127.0.0.1:{webhook_port}/telegram/webhook"
        async with client.post(url, json=update, headers=headers) as response:
            assert response.status == 403
        # the emulator, which was given this run's secret, still delivers: the conversation works
        async with client.post(f"{page}sandbox/api/users", json={"first_name": "Web", "language_code": "en"}) as r:
            user_id = (await r.json())["user"]["id"]
        async with client.post(f"{page}sandbox/api/send", json={"user_id": user_id, "text": "/start DEMO"}):
            pass
        await wait_for_bot_text(client, page, user_id, "Do you agree to take part?")


def test_production_never_starts_the_sandbox(tmp_path: Path) -> None:
    """Issue 10, item 14: VOICES_ENV=production without a token started the sandbox and wrote a demo
    consultation into the production database. It is refused before anything is opened."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VOICES_", "DATABASE_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "VOICES_ENV": "production",
            "VOICES_DATA_DIR": str(tmp_path / "data"),
            "VOICES_PEPPER": "p" * 40,
            "VOICES_DATA_KEYS": "k1:" + "A" * 43,
        }
    )
    for args in (["run"], ["run", "--webhook"]):
        result = subprocess.run(
            [sys.executable, "-m", "bot", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 2, result.stderr
        assert "TELEGRAM_BOT_TOKEN must be set when VOICES_ENV=production" in result.stderr
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "data").exists()  # no database, no demo consultation, no secrets file
