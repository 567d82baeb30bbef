"""`python -m bot run` (a real subprocess, polling the emulator as it would Telegram) killed with SIGKILL at
random moments while people write to it, and started again on the same data: no reply is lost (issue 12)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

from aiohttp.test_utils import TestServer
from sqlmodel import col, select

from config.settings import SANDBOX_TOKEN
from sandbox import Emulator, create_sandbox_app
from storage.database import Database
from storage.models import OutboxMessage, ProcessedUpdate
from tests.e2e.test_run_command import ROOT, free_port

ROUNDS = 3
PEOPLE = 3


async def start(tmp_path: Path, base_url: str, log: Path) -> asyncio.subprocess.Process:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VOICES_", "DATABASE_"))}
    environment.update(
        {
            "TELEGRAM_BOT_TOKEN": SANDBOX_TOKEN,  # not the sandbox: the bot polls the emulator of this test
            "TELEGRAM_API_BASE_URL": base_url,
            "VOICES_DATA_DIR": str(tmp_path / "data"),
            "VOICES_DASHBOARD_PORT": str(free_port()),
            "PYTHONPATH": str(ROOT),
        }
    )
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=environment, stdout=out, stderr=out
        )


async def handled(tmp_path: Path, update_ids: list[int]) -> None:
    """Until the bot has committed these updates. (Polling acknowledges an update when it fetches the next
    ones, before it is handled: a kill in between loses it, in any bot built on python-telegram-bot's
    Updater. What this test proves is the outbox's part: a committed reply is never lost.)"""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'voices.db'}")
    try:
        for _ in range(400):
            async with database.reader() as session:
                found = await session.exec(
                    select(ProcessedUpdate.update_id).where(col(ProcessedUpdate.update_id).in_(update_ids))
                )
                if len(found.all()) == len(update_ids):
                    return
            await asyncio.sleep(0.02)
        raise TimeoutError("the bot did not handle the updates")
    finally:
        await database.dispose()


async def backlog(tmp_path: Path) -> int:
    """Replies waiting in the outbox (right after a kill: the ones the killed process had not sent)."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'voices.db'}")
    try:
        async with database.reader() as session:
            return len((await session.exec(select(OutboxMessage.id))).all())
    finally:
        await database.dispose()


async def test_a_worker_killed_at_random_loses_no_reply(tmp_path: Path) -> None:
    emulator = Emulator(token=SANDBOX_TOKEN)
    server = TestServer(create_sandbox_app(emulator), host="127.0.0.1")
    await server.start_server()
    base_url = f"http://127.0.0.1:{server.port}/bot"
    log = tmp_path / "run.log"
    rng = random.Random(87)
    people = [emulator.new_user(f"Person {i}", language_code="en") for i in range(PEOPLE)]
    process = await start(tmp_path, base_url, log)
    kills = interrupted = 0
    try:
        for _ in range(ROUNDS):
            polls = len(emulator.calls("getUpdates"))
            await emulator.wait_until(lambda p=polls: len(emulator.calls("getUpdates")) > p, timeout=30)  # type: ignore[misc]
            emulator.faults.slow("sendMessage", (0.0, 0.2))
            sent = [emulator.user_sends_text(person, "/help") for person in people for _ in range(2)]
            await handled(tmp_path, sent)  # committed, with their replies in the outbox
            await asyncio.sleep(rng.uniform(0.0, 0.5))  # the sender part-way through them
            process.send_signal(signal.SIGKILL)
            await process.wait()
            interrupted += await backlog(tmp_path)
            kills += 1
            process = await start(tmp_path, base_url, log)
        expected = 4 * ROUNDS
        for person in people:  # leases of the killed processes expire (30 s), then their rows go out
            await emulator.wait_until(
                lambda p=person: len(emulator.bot_messages(p.id)) >= expected,  # type: ignore[misc]
                timeout=120,
                chat_id=person.id,
            )
        await asyncio.sleep(3)  # anything more that would come
        counts = [len(emulator.bot_messages(p.id)) for p in people]
        assert interrupted, "no kill landed while replies were waiting: the test proved nothing"
        assert min(counts) >= expected, counts  # nothing lost
        extra = sum(counts) - expected * PEOPLE
        # at-least-once: only a message Telegram accepted in the instant before a kill may come twice
        assert extra <= kills, (counts, log.read_text(errors="replace")[-3000:])
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
        await server.close()
