"""A restarted emulator never repeats an update id or a message id (issue 8: the bot went silent after a restart)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from telegram import Bot

from sandbox import Emulator, FakeClock, SandboxError, SandboxUser, create_sandbox_app
from sandbox.counters import COUNTERS_FILE, IdCounters

from .conftest import TOKEN


def test_counters_continue_after_the_last_reserved_block(tmp_path: Path) -> None:
    path = tmp_path / COUNTERS_FILE
    first = IdCounters(path, block=10)
    assert [first.next_update_id() for _ in range(3)] == [1, 2, 3]
    assert first.message_floor == 1
    first.saw_message_id(4)
    # no clean shutdown: the reservation was written before any id of the block was handed out
    assert json.loads(path.read_text()) == {"version": 1, "next_update_id": 11, "next_message_id": 14}
    second = IdCounters(path, block=10)
    assert second.next_update_id() == 11 and second.message_floor == 14
    for _ in range(25):  # crossing blocks writes new reservations
        last = second.next_update_id()
    assert last == 36
    assert IdCounters(path, block=10).next_update_id() > last
    assert not list(tmp_path.glob("*.new"))  # written atomically: a temporary file, then a rename


def test_an_unreadable_counters_file_stops_the_sandbox_with_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / COUNTERS_FILE
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(SandboxError, match="cannot read its id counters") as raised:
        IdCounters(path)
    assert "\n" not in str(raised.value)
    path.write_text('{"next_update_id": 0, "next_message_id": "7"}', encoding="utf-8")
    with pytest.raises(SandboxError, match="not positive integers"):
        IdCounters(path)


def test_without_a_directory_ids_start_at_one_and_nothing_is_written(tmp_path: Path) -> None:
    emulator = Emulator(token=TOKEN, clock=FakeClock())
    user = emulator.new_user("Ana")
    assert emulator.user_sends_text(user, "/start") == 1
    assert emulator.chat(user.id)[0].message_id == 1
    assert emulator.counters.path is None


async def test_a_restarted_emulator_repeats_no_update_id_and_no_message_id(tmp_path: Path) -> None:
    ana = SandboxUser(424_242, "Ana", None, "pt")
    before = Emulator(token=TOKEN, clock=FakeClock(), state_dir=tmp_path)
    old_updates = [before.user_sends_text(ana, f"message {i}") for i in range(5)]
    server = TestServer(create_sandbox_app(before), host="127.0.0.1")
    await server.start_server()
    async with Bot(TOKEN, base_url=str(server.make_url("/bot"))) as bot:
        await bot.get_updates(offset=old_updates[-1] + 1)
        old_messages = [(await bot.send_message(ana.id, f"reply {i}")).message_id for i in range(3)]
    await server.close()
    old_ids = {m.message_id for m in before.history(ana.id)}

    after = Emulator(token=TOKEN, clock=FakeClock(), state_dir=tmp_path)
    assert after.instance != before.instance  # the page tells a restart by this
    after.add_user(ana)  # the chat page registers its user again
    new_update = after.user_sends_text(ana, "/start")
    assert new_update > max(old_updates)
    server = TestServer(create_sandbox_app(after), host="127.0.0.1")
    await server.start_server()
    async with Bot(TOKEN, base_url=str(server.make_url("/bot"))) as bot:
        [update] = await bot.get_updates()
        assert update.update_id == new_update
        reply = await bot.send_message(ana.id, "still here")
        # the old messages are gone from the restarted emulator: deleting them changes nothing and fails nothing
        assert await bot.delete_messages(ana.id, old_messages)
    await server.close()
    new_ids = {m.message_id for m in after.history(ana.id)}
    assert min(new_ids) > max(old_ids) and reply.message_id in new_ids
    # a chat opened after the restart starts beyond every earlier id too
    kofi = after.new_user("Kofi")
    after.user_sends(kofi, "sticker")
    assert after.chat(kofi.id)[0].message_id > max(old_ids)


async def test_the_page_sees_the_instance_change(tmp_path: Path) -> None:
    instances = []
    for _ in range(2):
        emulator = Emulator(token=TOKEN, clock=FakeClock(), state_dir=tmp_path)
        client: TestClient[web.Request, web.Application] = TestClient(TestServer(create_sandbox_app(emulator)))
        await client.start_server()
        user = (await (await client.post("/sandbox/api/users", json={"id": 77_000_001})).json())["user"]
        chat = await (await client.get("/sandbox/api/chat", params={"user_id": user["id"], "since": 0})).json()
        info = await (await client.get("/sandbox/api/info")).json()
        assert chat["instance"] == info["instance"] == emulator.instance
        instances.append(chat["instance"])
        await client.close()
    assert instances[0] != instances[1]
