"""The emulator as a real python-telegram-bot Bot sees it: methods, limits, errors, updates."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken

from sandbox import Emulator, FakeClock, SandboxError, SandboxUser
from sandbox.users import MEDIA_KINDS

from .conftest import TOKEN, telegram_error


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data)] for text, data in pairs])


async def test_get_me(bot: Bot, emulator: Emulator) -> None:
    me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot
    assert me.username == "voices87_sandbox_bot"
    assert emulator.calls("getMe")


async def test_wrong_token_is_unauthorized(server: TestServer) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("123456:WRONG", base_url=str(server.make_url("/bot"))):
            pass


async def test_unknown_method_404_and_case_insensitive(server: TestServer) -> None:
    async with aiohttp.ClientSession() as http:
        # methods the bot never calls are not emulated: they answer like an unknown method
        for method in ("getNothing", "sendPhoto", "editMessageReplyMarkup", "getMyCommands", "getWebhookInfo"):
            async with http.get(server.make_url(f"/bot{TOKEN}/{method}")) as resp:
                assert resp.status == 404
                assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with http.get(server.make_url(f"/bot{TOKEN}/GETME")) as resp:
            assert resp.status == 200
            assert (await resp.json())["result"]["id"] == 123456
        async with http.get(server.make_url("/bot1:nope/getMe")) as resp:
            assert resp.status == 401
            assert (await resp.json())["description"] == "Unauthorized"


async def test_send_message_json_body_and_query_string(
    server: TestServer, emulator: Emulator, started_alice: SandboxUser
) -> None:
    async with aiohttp.ClientSession() as http:
        markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "y"}]]}
        async with http.post(
            server.make_url(f"/bot{TOKEN}/sendMessage"),
            json={"chat_id": started_alice.id, "text": "via json", "reply_markup": markup, "protect_content": True},
        ) as resp:
            body = await resp.json()
            assert body["ok"], body
            assert body["result"]["reply_markup"] == markup
            assert body["result"]["has_protected_content"] is True
        async with http.get(
            server.make_url(f"/bot{TOKEN}/sendMessage"), params={"chat_id": str(started_alice.id), "text": "via qs"}
        ) as resp:
            assert (await resp.json())["result"]["text"] == "via qs"
    assert [m.text for m in emulator.chat(started_alice.id)] == ["/start", "via json", "via qs"]


async def test_send_edit_delete_with_inline_keyboard(bot: Bot, emulator: Emulator, started_alice: SandboxUser) -> None:
    chat_id = started_alice.id
    msg = await bot.send_message(
        chat_id,
        "Do you agree?",
        reply_markup=keyboard(("Yes", "consent:yes"), ("No", "consent:no")),
        protect_content=True,
    )
    assert isinstance(msg, Message)
    assert msg.message_id == 2  # the user's /start was message 1 in this private chat
    assert msg.chat.id == chat_id and msg.chat.type == "private"
    assert msg.has_protected_content
    stored = emulator.message(chat_id, msg.message_id)
    assert stored is not None and stored.from_bot and stored.protect_content
    assert stored.callback_data == ["consent:yes", "consent:no"]

    edited = await bot.edit_message_text("Thanks!", chat_id=chat_id, message_id=msg.message_id)
    assert isinstance(edited, Message) and edited.text == "Thanks!"
    assert edited.reply_markup is None  # editMessageText without reply_markup removes the keyboard
    assert stored.edit_date is not None

    with telegram_error(BadRequest, "not modified"):
        await bot.edit_message_text("Thanks!", chat_id=chat_id, message_id=msg.message_id)
    markup = keyboard(("Again", "again"))
    await bot.edit_message_text("Thanks!", chat_id=chat_id, message_id=msg.message_id, reply_markup=markup)
    assert stored.callback_data == ["again"]
    with telegram_error(BadRequest, "not modified"):
        await bot.edit_message_text("Thanks!", chat_id=chat_id, message_id=msg.message_id, reply_markup=markup)
    with telegram_error(BadRequest, "Message can't be edited"):
        await bot.edit_message_text("Mine?", chat_id=chat_id, message_id=1)  # the user's /start

    assert await bot.delete_message(chat_id, msg.message_id)
    assert stored.deleted
    assert [m.message_id for m in emulator.chat(chat_id)] == [1]
    assert [m.message_id for m in emulator.history(chat_id)] == [1, 2]
    with telegram_error(BadRequest, "Message to delete not found"):
        await bot.delete_message(chat_id, msg.message_id)
    with telegram_error(BadRequest, "Message to edit not found"):
        await bot.edit_message_text("x", chat_id=chat_id, message_id=99)
    # the user's own message can be deleted too (private chat, < 48 h)
    assert await bot.delete_message(chat_id, 1)
    assert emulator.chat(chat_id) == []


async def test_delete_messages_deletes_what_it_can(bot: Bot, emulator: Emulator, started_alice: SandboxUser) -> None:
    ids = [(await bot.send_message(started_alice.id, f"m{i}")).message_id for i in range(3)]
    assert await bot.delete_messages(started_alice.id, [*ids, 999])
    assert [m.text for m in emulator.chat(started_alice.id)] == ["/start"]
    with pytest.raises(BadRequest):
        await bot.delete_messages(started_alice.id, list(range(1, 102)))


async def test_48_hour_delete_window(
    bot: Bot, emulator: Emulator, started_alice: SandboxUser, clock: FakeClock
) -> None:
    msg = await bot.send_message(started_alice.id, "old news")
    clock.advance(47 * 3600)
    young = await bot.send_message(started_alice.id, "fresh")
    assert young.date.timestamp() == msg.date.timestamp() + 47 * 3600  # dates come from the emulator's clock
    clock.advance(2 * 3600)  # "old news" is now 49 h old, "fresh" 2 h
    with telegram_error(BadRequest, "can't be deleted for everyone"):
        await bot.delete_message(started_alice.id, msg.message_id)
    assert await bot.delete_messages(started_alice.id, [msg.message_id, young.message_id])  # skips what it can't
    assert [m.text for m in emulator.chat(started_alice.id)] == ["/start", "old news"]


async def test_callback_queries_expire_after_15_minutes(
    bot: Bot, emulator: Emulator, started_alice: SandboxUser, clock: FakeClock
) -> None:
    msg = await bot.send_message(started_alice.id, "pick", reply_markup=keyboard(("A", "a")))
    fresh = emulator.callback_query_id(emulator.user_presses(started_alice, msg.message_id, "a"))
    old = emulator.callback_query_id(emulator.user_presses(started_alice, msg.message_id, "a"))
    clock.advance(14 * 60)
    assert await bot.answer_callback_query(fresh)
    clock.advance(2 * 60)
    with telegram_error(BadRequest, "query is too old"):
        await bot.answer_callback_query(old)


async def test_text_limits(bot: Bot, started_alice: SandboxUser) -> None:
    with telegram_error(BadRequest, "Message text is empty"):
        await bot.send_message(started_alice.id, "   \n ")
    with telegram_error(BadRequest, "Message is too long"):
        await bot.send_message(started_alice.id, "x" * 4097)
    assert (await bot.send_message(started_alice.id, "é" * 4096)).text == "é" * 4096
    assert (await bot.send_message(started_alice.id, "  trimmed \n")).text == "trimmed"
    sent = await bot.send_message(started_alice.id, "short")
    with telegram_error(BadRequest, "Message is too long"):
        await bot.edit_message_text("x" * 4097, chat_id=started_alice.id, message_id=sent.message_id)


async def test_parse_mode_is_refused_not_faked(bot: Bot, emulator: Emulator, started_alice: SandboxUser) -> None:
    """The bot sends plain text; markup would be stored as text, so the emulator says it does not emulate it."""
    with telegram_error(BadRequest, "not emulated"):
        await bot.send_message(started_alice.id, "<b>bold</b>", parse_mode="HTML")
    assert emulator.api_errors[-1].description.startswith("Bad Request: parse_mode 'HTML' is not emulated")
    assert [m.text for m in emulator.chat(started_alice.id)] == ["/start"]


async def test_user_captions_and_long_texts_follow_telegram_clients(emulator: Emulator, alice: SandboxUser) -> None:
    emulator.user_sends(alice, "photo", caption="c" * 1024)
    with pytest.raises(SandboxError, match="captions over 1024"):
        emulator.user_sends(alice, "photo", caption="c" * 1025)
    emulator.user_sends_text(alice, "x" * 4096 + "y" * 10)  # a client splits it in two messages
    assert [len(m.text or "") for m in emulator.chat(alice.id)[1:]] == [4096, 10]


async def test_callback_data_limits(bot: Bot, started_alice: SandboxUser) -> None:
    ok = "é" * 32  # 64 bytes in UTF-8
    assert await bot.send_message(started_alice.id, "ok", reply_markup=keyboard(("A", ok)))
    with telegram_error(BadRequest, "BUTTON_DATA_INVALID"):
        await bot.send_message(started_alice.id, "no", reply_markup=keyboard(("A", "x" * 65)))
    with telegram_error(BadRequest, "BUTTON_DATA_INVALID"):
        await bot.send_message(started_alice.id, "no", reply_markup=keyboard(("A", "é" * 33)))
    with telegram_error(BadRequest, "BUTTON_DATA_INVALID"):
        await bot.send_message(started_alice.id, "no", reply_markup=keyboard(("A", "")))


async def test_inline_button_needs_exactly_one_action(server: TestServer, started_alice: SandboxUser) -> None:
    cases = {
        "no action": [[{"text": "A"}]],
        "two actions": [[{"text": "A", "callback_data": "a", "url": "https://example.org"}]],
        "no text": [[{"callback_data": "a"}]],
        "bad url": [[{"text": "A", "url": "javascript:alert(1)"}]],
    }
    async with aiohttp.ClientSession() as http:
        for name, rows in cases.items():
            async with http.post(
                server.make_url(f"/bot{TOKEN}/sendMessage"),
                data={
                    "chat_id": str(started_alice.id),
                    "text": "x",
                    "reply_markup": json.dumps({"inline_keyboard": rows}),
                },
            ) as resp:
                body = await resp.json()
                assert resp.status == 400, name
                assert body["description"].startswith("Bad Request: "), body


async def test_chat_not_found_and_cannot_initiate(bot: Bot, emulator: Emulator) -> None:
    with telegram_error(BadRequest, "Chat not found"):
        await bot.send_message(424242, "hello")
    silent = emulator.new_user("Silent")
    with telegram_error(Forbidden, "can't initiate conversation"):
        await bot.send_message(silent.id, "unprompted")
    emulator.user_sends_text(silent, "/start")
    emulator.block_bot(silent)
    with telegram_error(Forbidden, "blocked by the user"):
        await bot.send_message(silent.id, "hello?")


async def test_get_updates_offset_semantics(bot: Bot, emulator: Emulator, alice: SandboxUser) -> None:
    ids = [emulator.user_sends_text(alice, f"msg {i}") for i in range(3)]
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == ids
    assert updates[0].message is not None and updates[0].message.text == "msg 0"
    # without a higher offset nothing is confirmed
    assert [u.update_id for u in await bot.get_updates()] == ids
    assert [u.update_id for u in await bot.get_updates(offset=ids[1])] == ids[1:]
    assert [u.update_id for u in await bot.get_updates(limit=1)] == ids[1:2]
    assert [u.update_id for u in await bot.get_updates(offset=-1)] == ids[2:]
    assert await bot.get_updates(offset=ids[2] + 1) == ()
    assert emulator.pending_updates() == []


async def test_long_poll_wakes_on_user_message(bot: Bot, emulator: Emulator, alice: SandboxUser) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await emulator.wait_until(lambda: emulator.waiting("getUpdates") == 1)
    assert not poll.done()
    update_id = emulator.user_sends_text(alice, "/start ABC")
    updates = await poll  # the fake clock never moved: the update, not the timeout, ended the poll
    assert [u.update_id for u in updates] == [update_id]
    message = updates[0].message
    assert message is not None and message.text == "/start ABC"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bot_command", 0, 6)]
    assert message.from_user is not None and message.from_user.language_code == "en"


async def test_long_poll_ends_when_its_timeout_passes_on_the_clock(
    bot: Bot, emulator: Emulator, clock: FakeClock
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await clock.until_sleeping()
    clock.advance(29)
    await emulator.wait_until(lambda: emulator.waiting("getUpdates") == 1)
    assert not poll.done()
    clock.advance(1)
    assert await poll == ()


async def test_second_get_updates_terminates_first(bot: Bot, emulator: Emulator, server: TestServer) -> None:
    # PTB serialises its own getUpdates calls, so the "other instance" is a plain HTTP client here
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await emulator.wait_until(lambda: emulator.waiting("getUpdates") == 1)
    async with (
        aiohttp.ClientSession() as http,
        http.post(server.make_url(f"/bot{TOKEN}/getUpdates"), json={"timeout": 0}) as resp,
    ):
        assert await resp.json() == {"ok": True, "result": []}
    with telegram_error(Conflict, "terminated by other getUpdates request"):
        await first


async def test_allowed_updates_filters(bot: Bot, emulator: Emulator, alice: SandboxUser) -> None:
    emulator.user_sends_text(alice, "hello")
    msg_id = (await bot.send_message(alice.id, "pick", reply_markup=keyboard(("A", "a")))).message_id
    press = emulator.user_presses(alice, msg_id, "a")
    updates = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.update_id for u in updates] == [press]


async def test_user_presses_and_answer_callback(bot: Bot, emulator: Emulator, started_alice: SandboxUser) -> None:
    msg = await bot.send_message(started_alice.id, "pick", reply_markup=keyboard(("A", "a"), ("B", "b")))
    with pytest.raises(SandboxError, match="no button"):
        emulator.user_presses(started_alice, msg.message_id, "zzz")
    update_id = emulator.user_presses(started_alice, msg.message_id, "b")
    cq_id = emulator.callback_query_id(update_id)
    updates = await bot.get_updates()
    query = updates[-1].callback_query
    assert query is not None and query.data == "b" and query.id == cq_id
    assert query.message is not None and query.message.message_id == msg.message_id

    waiter = asyncio.create_task(emulator.wait_callback_answered(cq_id, timeout=2))
    assert await query.answer("Saved", show_alert=True)
    answer = await waiter
    assert (answer.text, answer.show_alert, answer.data) == ("Saved", True, "b")
    with telegram_error(BadRequest, "query is too old"):
        await bot.answer_callback_query(cq_id)
    with telegram_error(BadRequest, "query is too old"):
        await bot.answer_callback_query("12345")


async def test_stale_button_press_on_deleted_message(bot: Bot, emulator: Emulator, started_alice: SandboxUser) -> None:
    msg = await bot.send_message(started_alice.id, "pick", reply_markup=keyboard(("A", "a")))
    await bot.delete_message(started_alice.id, msg.message_id)
    with pytest.raises(SandboxError):
        emulator.user_presses(started_alice, msg.message_id, "a")
    emulator.user_presses_raw(started_alice, msg.message_id, "a")
    update = (await bot.get_updates())[-1]
    assert update.callback_query is not None
    assert update.callback_query.message is not None
    assert not update.callback_query.message.is_accessible


async def test_user_media_payloads_parse(bot: Bot, emulator: Emulator, alice: SandboxUser) -> None:
    for kind in MEDIA_KINDS:
        update_id = emulator.user_sends(alice, kind, caption="a caption" if kind == "photo" else None)
        (update,) = await bot.get_updates(offset=update_id)
        message = update.message
        assert message is not None, kind
        assert getattr(message, kind), kind
        assert message.text is None
        assert emulator.chat(alice.id)[-1].kind == kind
        if kind == "photo":
            assert message.caption == "a caption" and len(message.photo) == 3


async def test_inject_update_and_duplicate_update_id(bot: Bot, emulator: Emulator, alice: SandboxUser) -> None:
    first = emulator.user_sends_text(alice, "hello")
    updates = await bot.get_updates()
    raw = updates[0].to_dict()
    assert await bot.get_updates(offset=first + 1) == ()
    # replay the very same update (same update_id): delivered once more, as after a redelivery
    assert emulator.inject_update(raw) == first
    again = await bot.get_updates(offset=first + 1)
    assert [u.update_id for u in again] == [first]
    assert await bot.get_updates(offset=first + 1) == ()
    # an update with no id gets the next one; its private-chat message is recorded in the transcript
    payload = {
        "message": {
            "message_id": 50,
            "date": int(emulator.now()),
            "text": "from corpus",
            "chat": {"id": 777, "type": "private", "first_name": "Corp"},
            "from": {"id": 777, "is_bot": False, "first_name": "Corp", "language_code": "sw"},
        }
    }
    new_id = emulator.inject_update(payload)
    assert new_id == first + 1
    parsed = Update.de_json(emulator.pending_updates()[0], bot)
    assert parsed.message is not None and parsed.message.text == "from corpus"
    assert await bot.delete_message(777, 50)


async def test_wait_for_bot_messages_and_timeout_description(
    bot: Bot, emulator: Emulator, started_alice: SandboxUser
) -> None:
    async def reply() -> None:
        await bot.send_message(started_alice.id, "one")
        await bot.send_message(started_alice.id, "two")

    waiter = asyncio.create_task(emulator.wait_for_bot_messages(started_alice.id, count=2, timeout=3))
    await reply()
    msgs = await waiter
    assert [m.text for m in msgs] == ["one", "two"]
    with pytest.raises(TimeoutError, match="'two'"):
        await emulator.wait_for_bot_messages(started_alice.id, timeout=0.2)
    await bot.send_message(started_alice.id, "three")
    emulator.mark(started_alice.id)
    with pytest.raises(TimeoutError):
        await emulator.wait_for_bot_messages(started_alice.id, timeout=0.1)


async def test_commands(bot: Bot, emulator: Emulator) -> None:
    await bot.set_my_commands([BotCommand("start", "Begin"), BotCommand("stop", "Stop and leave")])
    await bot.set_my_commands([BotCommand("start", "Commencer")], language_code="fr")
    assert [c["command"] for c in emulator.commands()] == ["start", "stop"]
    assert [c["description"] for c in emulator.commands(language_code="fr")] == ["Commencer"]
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Bad-Command", "x")])
    await bot.set_my_commands([], language_code="fr")
    assert emulator.commands(language_code="fr") == []


async def test_ptb_application_end_to_end(server: TestServer, emulator: Emulator, alice: SandboxUser) -> None:
    """A real PTB Application polling the emulator: deep link, keyboard, callback answer, edit."""
    from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            f"code={context.args[0] if context.args else '-'}",
            reply_markup=keyboard(("Yes", "yes")),
            protect_content=True,
        )

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("ok")
        await query.edit_message_text(f"chose {query.data}")

    application = Application.builder().token(TOKEN).base_url(str(server.make_url("/bot"))).build()
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(on_button))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        try:
            emulator.user_sends_text(alice, "/start ABC")
            (reply,) = await emulator.wait_for_bot_messages(alice.id, timeout=5)
            assert reply.text == "code=ABC" and reply.protect_content
            update_id = emulator.user_presses(alice, reply.message_id, reply.button_data("Yes"))
            answer = await emulator.wait_callback_answered(emulator.callback_query_id(update_id), timeout=5)
            assert answer.text == "ok"
            await emulator.wait_until(lambda: reply.text == "chose yes", timeout=5, chat_id=alice.id)
            assert reply.buttons == []
        finally:
            await application.updater.stop()
            await application.stop()
    # start-up, polling, replies and shutdown use only emulated methods, and none was refused
    called = {call.method for call in emulator.api_calls}
    assert called == {"getMe", "deleteWebhook", "getUpdates", "sendMessage", "answerCallbackQuery", "editMessageText"}
    assert emulator.api_errors == []
