"""Fixtures for sandbox tests: an emulator on a fake clock, its aiohttp server on 127.0.0.1 and a real PTB Bot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from telegram import Bot

from sandbox import Emulator, FakeClock, SandboxUser, create_sandbox_app

TOKEN = "123456:SANDBOX-TEST"


@contextmanager
def telegram_error(kind: type[Exception], fragment: str) -> Iterator[None]:
    """Like pytest.raises, matching a fragment case-insensitively (PTB re-capitalises descriptions)."""
    with pytest.raises(kind) as info:
        yield
    assert fragment.lower() in str(info.value).lower(), str(info.value)


@pytest.fixture
def clock() -> FakeClock:
    """The emulator's clock: time passes only when a test advances it."""
    return FakeClock()


@pytest.fixture
async def emulator(clock: FakeClock) -> AsyncIterator[Emulator]:
    emu = Emulator(token=TOKEN, bot_username="voices87_sandbox_bot", clock=clock, webhook_retry_delays=(1, 2, 4))
    yield emu
    await emu.aclose()


@pytest.fixture
async def server(emulator: Emulator) -> AsyncIterator[TestServer]:
    srv = TestServer(create_sandbox_app(emulator), host="127.0.0.1")
    await srv.start_server()
    yield srv
    await srv.close()


@pytest.fixture
async def client(server: TestServer) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    cli: TestClient[web.Request, web.Application] = TestClient(server)
    await cli.start_server()
    yield cli
    await cli.close()


@pytest.fixture
async def bot(server: TestServer) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=str(server.make_url("/bot"))) as b:
        yield b


@pytest.fixture
def alice(emulator: Emulator) -> SandboxUser:
    return emulator.add_user(SandboxUser(111_222_333, "Alice", "alice_t", "en"))


@pytest.fixture
def started_alice(emulator: Emulator, alice: SandboxUser) -> SandboxUser:
    """Alice after she sent /start (so the bot may write to her); her update is left queued."""
    emulator.user_sends_text(alice, "/start")
    return alice
