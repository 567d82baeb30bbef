"""The bot's Bot API connection on aiohttp (bot/http.py), through python-telegram-bot's own Bot: bodies as PTB
sends them (form fields, multipart with a file), PTB's errors for timeouts and refused connections, and the
proxy from the environment."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.http import AiohttpRequest

TOKEN = "123:abc"
ME = {"id": 123, "is_bot": True, "first_name": "Bot", "username": "voices_bot"}


def message(chat: int, text: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"message_id": 9, "date": 1, "chat": {"id": chat, "type": "private"}, "from": ME}
    if text is not None:
        found["text"] = text
    return found


class FakeApi:
    """The edge of the world: a stand-in for Telegram's servers that keeps what it was sent."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self.delay = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        form = await request.post()
        fields: dict[str, Any] = {}
        for name, value in form.items():
            fields[name] = value.file.read() if isinstance(value, web.FileField) else value
        self.seen.append((method, fields))
        await asyncio.sleep(self.delay)
        if method == "getMe":
            return web.json_response({"ok": True, "result": ME})
        if method == "sendMessage" and fields.get("text") == "":
            refused = {"ok": False, "error_code": 400, "description": "Bad Request: text is empty"}
            return web.json_response(refused, status=400)
        return web.json_response({"ok": True, "result": message(int(str(fields.get("chat_id", 1))), "ok")})


@pytest.fixture
async def api(aiohttp_server: Any) -> AsyncIterator[tuple[FakeApi, str]]:
    fake = FakeApi()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", fake.handle)
    server = await aiohttp_server(app)
    yield fake, f"http://127.0.0.1:{server.port}/bot"


async def test_a_message_with_its_keyboard_goes_as_ptb_sends_it(api: tuple[FakeApi, str]) -> None:
    fake, base = api
    async with Bot(TOKEN, base_url=base, request=AiohttpRequest(4)) as bot:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="C.1")]])
        sent = await bot.send_message(42, "Ünïcode ✅", reply_markup=keyboard, protect_content=True)
    assert sent.message_id == 9
    method, fields = fake.seen[-1]
    assert method == "sendMessage"
    assert fields["chat_id"] == "42" and fields["text"] == "Ünïcode ✅" and fields["protect_content"] == "true"
    assert json.loads(fields["reply_markup"]) == {"inline_keyboard": [[{"text": "Yes", "callback_data": "C.1"}]]}


async def test_telegram_refusing_is_ptbs_error(api: tuple[FakeApi, str]) -> None:
    _, base = api
    async with Bot(TOKEN, base_url=base, request=AiohttpRequest(4)) as bot:
        with pytest.raises(BadRequest, match="(?i)text is empty"):
            await bot.send_message(42, "")


async def test_a_file_goes_as_multipart(api: tuple[FakeApi, str]) -> None:
    fake, base = api
    async with Bot(TOKEN, base_url=base, request=AiohttpRequest(4)) as bot:
        await bot.send_document(42, document=b"col1,col2\n1,2\n", filename="summary.csv", caption="The summary")
    method, fields = fake.seen[-1]
    assert method == "sendDocument"
    assert fields["document"] == b"col1,col2\n1,2\n" and fields["caption"] == "The summary"


async def test_no_answer_in_time_is_timed_out(api: tuple[FakeApi, str]) -> None:
    fake, base = api
    async with Bot(TOKEN, base_url=base, request=AiohttpRequest(4)) as bot:
        fake.delay = 2.0
        with pytest.raises(TimedOut):
            await bot.send_message(42, "slow", read_timeout=0.2, write_timeout=0.1)


async def test_no_server_is_a_network_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # a port nobody listens on once closed
    request = AiohttpRequest(2)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
        assert not isinstance(raised.value, TimedOut)
    finally:
        await request.shutdown()


async def test_the_proxy_comes_from_the_environment(
    api: tuple[FakeApi, str], aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, base = api
    proxied: list[str] = []

    async def proxy(request: web.Request) -> web.Response:  # answers in Telegram's place, as a proxy would forward
        proxied.append(str(request.url))
        return web.json_response({"ok": True, "result": ME})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy)
    proxy_server = await aiohttp_server(app)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy_server.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with Bot(TOKEN, base_url=base.replace("127.0.0.1", "telegram.invalid"), request=AiohttpRequest(2)):
        pass  # initialize calls getMe
    assert proxied and proxied[0].startswith("http://telegram.invalid")
    assert fake.seen == []

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with Bot(TOKEN, base_url=base, request=AiohttpRequest(2)):
        pass
    assert len(proxied) == 1 and [m for m, _ in fake.seen] == ["getMe"]  # straight to the server, not the proxy
