"""The web chat page and its JSON API under /sandbox/api/."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from sandbox import Emulator


async def test_index_and_static_assets(client: TestClient[web.Request, web.Application]) -> None:
    resp = await client.get("/")
    assert resp.status == 200
    html = await resp.text()
    assert "<!doctype html>" in html.lower()
    assert "/sandbox/static/chat.js" in html
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    js = await client.get("/sandbox/static/chat.js")
    assert js.status == 200
    body = await js.text()
    assert "innerHTML" not in body  # message text is only ever inserted as text
    assert (await client.get("/sandbox/static/chat.css")).status == 200
    assert (await client.get("/sandbox/static/../emulator.py")).status == 404
    assert (await client.get("/sandbox/static/nope.js")).status == 404


async def test_page_flow(client: TestClient[web.Request, web.Application], bot: Bot, emulator: Emulator) -> None:
    resp = await client.post("/sandbox/api/users", json={"first_name": "Layla", "language_code": "ar"})
    user = (await resp.json())["user"]
    assert user["language_code"] == "ar" and user["id"] > 0
    # re-registering the same id is idempotent
    again = await client.post(
        "/sandbox/api/users", json={"id": user["id"], "first_name": "Layla", "language_code": "ar"}
    )
    assert (await again.json())["user"]["id"] == user["id"]
    assert len((await (await client.get("/sandbox/api/users")).json())["users"]) == 1

    resp = await client.post("/sandbox/api/send", json={"user_id": user["id"], "text": "/start CODE1"})
    assert resp.status == 200
    (update,) = await bot.get_updates()
    assert update.message is not None and update.message.text == "/start CODE1"
    assert update.message.from_user is not None and update.message.from_user.language_code == "ar"

    chat = await (await client.get("/sandbox/api/chat", params={"user_id": user["id"], "since": 0})).json()
    assert [m["text"] for m in chat["messages"]] == ["/start CODE1"]
    cursor = chat["cursor"]

    markup = InlineKeyboardMarkup([[InlineKeyboardButton("مرحبا", callback_data="hello")]])
    sent = await bot.send_message(user["id"], "أهلا", reply_markup=markup, protect_content=True)
    chat = await (await client.get("/sandbox/api/chat", params={"user_id": user["id"], "since": cursor})).json()
    (bot_msg,) = chat["messages"]
    assert bot_msg["from_bot"] and bot_msg["protect_content"]
    assert bot_msg["text"] == "أهلا"
    assert bot_msg["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "hello"
    cursor = chat["cursor"]

    resp = await client.post(
        "/sandbox/api/press", json={"user_id": user["id"], "message_id": sent.message_id, "callback_data": "hello"}
    )
    pressed = await resp.json()
    updates = await bot.get_updates(offset=update.update_id + 1)
    assert updates[-1].callback_query is not None and updates[-1].callback_query.data == "hello"
    await bot.answer_callback_query(pressed["callback_query_id"], text="noted")

    resp = await client.post("/sandbox/api/send_media", json={"user_id": user["id"], "kind": "voice"})
    assert resp.status == 200
    await bot.delete_message(user["id"], sent.message_id)
    chat = await (await client.get("/sandbox/api/chat", params={"user_id": user["id"], "since": cursor})).json()
    assert chat["deleted"] == [sent.message_id]
    assert [m["kind"] for m in chat["messages"]] == ["voice"]
    assert chat["answers"][0]["text"] == "noted"


async def test_chat_long_poll_wakes(client: TestClient[web.Request, web.Application], emulator: Emulator) -> None:
    user = emulator.new_user("Poll")
    cursor = emulator.seq
    poll = asyncio.create_task(client.get("/sandbox/api/chat", params={"user_id": user.id, "since": cursor, "wait": 5}))
    await emulator.wait_until(lambda: emulator.waiting("page") == 1)
    emulator.user_sends_text(user, "hi")
    resp = await poll
    assert [m["text"] for m in (await resp.json())["messages"]] == ["hi"]


async def test_page_api_validation(client: TestClient[web.Request, web.Application], emulator: Emulator) -> None:
    assert (await client.post("/sandbox/api/send", json={"user_id": 1, "text": "x"})).status == 404
    user = emulator.new_user("V")
    assert (await client.post("/sandbox/api/send", json={"user_id": user.id, "text": "  "})).status == 400
    assert (await client.post("/sandbox/api/send_media", json={"user_id": user.id, "kind": "hologram"})).status == 400
    # form posts (possible cross-site) are refused: JSON only
    assert (await client.post("/sandbox/api/send", data={"user_id": str(user.id), "text": "x"})).status == 415
    info = await (await client.get("/sandbox/api/info")).json()
    assert info["bot"]["username"] == "voices87_sandbox_bot"
    assert "sw" in info["languages"]
