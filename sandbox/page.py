"""The chat page's JSON API under /sandbox/api/: users, sending, pressing, and a long-polled feed of changes.

JSON bodies only (a cross-site form cannot post them without a CORS preflight). Every answer carries the
emulator's ``instance``: when it changes, the sandbox restarted and the page starts its view afresh.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from sandbox.emulator import Emulator
from sandbox.models import MAX_CAPTION_LENGTH, JsonDict, SandboxError, SandboxMessage, SandboxUser
from sandbox.users import MEDIA_KINDS

EMULATOR_KEY: web.AppKey[Emulator] = web.AppKey("sandbox_emulator", Emulator)
PAGE_LANGUAGES = ("en", "fr", "es", "pt", "ar", "sw")
MAX_PAGE_WAIT_SECONDS = 25.0


def add_page_api(app: web.Application) -> None:
    """Register the page's JSON routes on the sandbox app."""
    app.router.add_get("/sandbox/api/info", _info)
    app.router.add_get("/sandbox/api/users", _list_users)
    app.router.add_post("/sandbox/api/users", _create_user)
    app.router.add_post("/sandbox/api/send", _send)
    app.router.add_post("/sandbox/api/send_media", _send_media)
    app.router.add_post("/sandbox/api/press", _press)
    app.router.add_post("/sandbox/api/block", _block)
    app.router.add_get("/sandbox/api/chat", _chat)


def _refuse(status: type[web.HTTPException], message: str) -> web.HTTPException:
    return status(text=json.dumps({"error": message}), content_type="application/json")


async def _json_body(request: web.Request) -> JsonDict:
    if request.content_type != "application/json":
        raise _refuse(web.HTTPUnsupportedMediaType, "send application/json")
    try:
        body = await request.json()
    except ValueError:
        raise _refuse(web.HTTPBadRequest, "invalid JSON") from None
    if not isinstance(body, dict):
        raise _refuse(web.HTTPBadRequest, "expected an object")
    return body


def _int_field(body: Any, name: str) -> int | None:
    value = body.get(name)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _optional_str(body: JsonDict, name: str, max_len: int) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise _refuse(web.HTTPBadRequest, f"bad {name}")
    return value.strip() or None


def _known_user(emulator: Emulator, body: Any) -> SandboxUser:
    user_id = _int_field(body, "user_id")
    if user_id is None:
        raise _refuse(web.HTTPBadRequest, "user_id required")
    user = emulator.get_user(user_id)
    if user is None:
        raise _refuse(web.HTTPNotFound, "unknown user")
    return user


def _user_json(user: SandboxUser) -> JsonDict:
    return {
        "id": user.id,
        "first_name": user.first_name,
        "username": user.username,
        "language_code": user.language_code,
    }


def _media_summary(msg: SandboxMessage) -> JsonDict | None:
    if msg.kind == "text":
        return None
    part = msg.media.get(msg.kind)
    summary: JsonDict = {"kind": msg.kind}
    if isinstance(part, dict):
        for key in ("emoji", "duration", "file_name", "latitude", "longitude", "question", "value", "title"):
            if key in part:
                summary[key] = part[key]
    return summary


def _message_json(msg: SandboxMessage) -> JsonDict:
    return {
        "message_id": msg.message_id,
        "from_bot": msg.from_bot,
        "kind": msg.kind,
        "text": msg.text,
        "entities": msg.entities,
        "reply_markup": msg.reply_markup,
        "protect_content": msg.protect_content,
        "date": msg.date,
        "edit_date": msg.edit_date,
        "media": _media_summary(msg),
        "seq": msg.seq,
    }


async def _info(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    commands = emulator.commands(language_code=request.query.get("language_code", "")) or emulator.commands()
    return web.json_response(
        {
            "bot": {"id": emulator.bot_id, "username": emulator.bot_username, "first_name": emulator.bot_first_name},
            "instance": emulator.instance,
            "commands": commands,
            "webhook_url": emulator.webhook_url,
            "pending_update_count": emulator.pending_update_count,
            "languages": list(PAGE_LANGUAGES),
            "media_kinds": list(MEDIA_KINDS),
            "seq": emulator.seq,
        }
    )


async def _list_users(request: web.Request) -> web.Response:
    return web.json_response({"users": [_user_json(u) for u in request.app[EMULATOR_KEY].users()]})


async def _create_user(request: web.Request) -> web.Response:
    """A new user (random id), or the same user again after a restart of the sandbox (the page keeps its ids)."""
    emulator = request.app[EMULATOR_KEY]
    body = await _json_body(request)
    first_name = _optional_str(body, "first_name", 64) or "Sandbox user"
    username = _optional_str(body, "username", 32)
    language = _optional_str(body, "language_code", 10)
    user_id = _int_field(body, "id")
    if user_id is not None and (user_id <= 0 or user_id == emulator.bot_id or user_id >= 2**52):
        raise _refuse(web.HTTPBadRequest, "bad id")
    if user_id is None:
        user = emulator.new_user(first_name, language_code=language, username=username)
    else:
        user = emulator.add_user(SandboxUser(user_id, first_name, username, language))
    return web.json_response({"user": _user_json(user)})


async def _send(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    body = await _json_body(request)
    user = _known_user(emulator, body)
    text = body.get("text")
    if not isinstance(text, str):
        raise _refuse(web.HTTPBadRequest, "text required")
    try:
        update_id = emulator.user_sends_text(user, text)
    except SandboxError as exc:
        raise _refuse(web.HTTPBadRequest, str(exc)) from None
    return web.json_response({"update_id": update_id})


async def _send_media(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    body = await _json_body(request)
    user = _known_user(emulator, body)
    kind = body.get("kind")
    if not isinstance(kind, str) or kind not in MEDIA_KINDS:
        raise _refuse(web.HTTPBadRequest, f"kind must be one of {', '.join(MEDIA_KINDS)}")
    caption = _optional_str(body, "caption", MAX_CAPTION_LENGTH)
    return web.json_response({"update_id": emulator.user_sends(user, kind, caption=caption)})


async def _press(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    body = await _json_body(request)
    user = _known_user(emulator, body)
    message_id = _int_field(body, "message_id")
    data = body.get("callback_data")
    if message_id is None or not isinstance(data, str):
        raise _refuse(web.HTTPBadRequest, "message_id and callback_data required")
    # Stale buttons stay pressable on purpose: the bot must cope with them.
    update_id = emulator.user_presses_raw(user, message_id, data)
    return web.json_response({"update_id": update_id, "callback_query_id": emulator.callback_query_id(update_id)})


async def _block(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    body = await _json_body(request)
    user = _known_user(emulator, body)
    blocked = body.get("blocked", True) is True
    emulator.block_bot(user, blocked)
    return web.json_response({"blocked": blocked})


async def _chat(request: web.Request) -> web.Response:
    """Messages changed since ``since`` (a seq cursor of this ``instance``); long-polls up to ``wait`` seconds."""
    emulator = request.app[EMULATOR_KEY]
    user = _known_user(emulator, request.query)
    since = _int_field(request.query, "since") or 0
    try:
        wait = min(max(float(request.query.get("wait", "0")), 0.0), MAX_PAGE_WAIT_SECONDS)
    except ValueError:
        raise _refuse(web.HTTPBadRequest, "bad wait") from None
    if request.query.get("instance", emulator.instance) != emulator.instance:
        # The page's cursor belongs to an earlier run of the sandbox: answer at once, so it starts afresh.
        return web.json_response({"instance": emulator.instance, "cursor": 0, "messages": [], "deleted": []})
    messages, answers = emulator.store.changes_since(user.id, since)
    if not messages and not answers and wait > 0:
        # Wakes on any change; if it concerned another chat the client simply polls again.
        await emulator.wait_for_change(emulator.seq, wait)
        messages, answers = emulator.store.changes_since(user.id, since)
    return web.json_response(
        {
            "instance": emulator.instance,
            "cursor": emulator.seq,
            "messages": [_message_json(m) for m in messages if not m.deleted],
            "deleted": [m.message_id for m in messages if m.deleted],
            "answers": [
                {"callback_query_id": a.callback_query_id, "text": a.text, "show_alert": a.show_alert} for a in answers
            ],
            "pending_update_count": emulator.pending_update_count,
        }
    )
