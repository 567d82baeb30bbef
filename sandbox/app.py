"""aiohttp application of the sandbox: Bot API routes (/bot{token}/{method}), the chat page and its JSON API.

One port serves both: point the bot at ``base_url="http://127.0.0.1:8080/bot"`` and open
``http://127.0.0.1:8080/`` in a browser. A development tool: bind it to localhost only.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from sandbox.emulator import (
    MEDIA_KINDS,
    ApiError,
    Emulator,
    JsonDict,
    SandboxError,
    SandboxUser,
    UploadedFile,
)

log = logging.getLogger(__name__)

EMULATOR_KEY: web.AppKey[Emulator] = web.AppKey("sandbox_emulator", Emulator)
STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE_LANGUAGES = ("en", "fr", "es", "pt", "ar", "sw")
MAX_PAGE_WAIT_SECONDS = 25.0
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


_TOKEN_IN_PATH = re.compile(r"^/bot[^/]+")


class RedactingAccessLogger(AbstractAccessLogger):
    """Access log without the bot token (``/bot<token>/m`` becomes ``/bot***/m``) and without query strings."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        path = _TOKEN_IN_PATH.sub("/bot***", request.path)
        self.logger.info("%s %s -> %s (%.0f ms)", request.method, path, response.status, time * 1000)


def create_sandbox_app(emulator: Emulator) -> web.Application:
    """The aiohttp app serving the Bot API emulator and the web chat page."""
    app = web.Application(client_max_size=50 * 1024 * 1024)
    app[EMULATOR_KEY] = emulator
    app.router.add_route("*", "/bot{token}/{method}", _bot_api)
    app.router.add_route("*", "/bot{token}/", _bot_api_no_method)
    app.router.add_route("*", "/bot{token}", _bot_api_no_method)
    app.router.add_get("/", _index)
    app.router.add_get("/sandbox/static/{name}", _static)
    app.router.add_get("/sandbox/api/info", _api_info)
    app.router.add_get("/sandbox/api/users", _api_list_users)
    app.router.add_post("/sandbox/api/users", _api_create_user)
    app.router.add_post("/sandbox/api/send", _api_send)
    app.router.add_post("/sandbox/api/send_media", _api_send_media)
    app.router.add_post("/sandbox/api/press", _api_press)
    app.router.add_post("/sandbox/api/block", _api_block)
    app.router.add_get("/sandbox/api/chat", _api_chat)
    # on_shutdown runs before the server waits for in-flight requests: release long polls there.
    app.on_shutdown.append(_stop_background)
    app.on_cleanup.append(_stop_background)
    return app


async def _stop_background(app: web.Application) -> None:
    await app[EMULATOR_KEY].stop_background()


# ------------------------------------------------------------------------------------------------ Bot API


def _telegram_json(body: JsonDict, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body, ensure_ascii=False), status=status, content_type="application/json")


def _error(exc: ApiError) -> web.Response:
    return _telegram_json(exc.to_json(), status=exc.error_code)


async def _read_bot_params(request: web.Request) -> dict[str, Any]:
    """Query string, then JSON / urlencoded / multipart body, as the Bot API accepts them."""
    params: dict[str, Any] = dict(request.query)
    if not request.body_exists:
        return params
    ctype = request.content_type
    if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                content = value.file.read()
                params[key] = UploadedFile(value.filename, value.content_type, len(content))
            else:
                params[key] = value
        return params
    raw = await request.read()
    if not raw.strip():
        return params
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, "Bad Request: can't parse JSON object") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Bad Request: can't parse JSON object")
    params.update(body)
    return params


async def _bot_api(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    if request.match_info["token"] != emulator.token:
        return _error(ApiError(401, "Unauthorized"))
    method = request.match_info["method"]
    if emulator.canonical_method(method) is None:
        return _error(ApiError(404, "Not Found"))
    try:
        params = await _read_bot_params(request)
        result = await emulator.call(method, params)
    except ApiError as exc:
        return _error(exc)
    return _telegram_json({"ok": True, "result": result})


async def _bot_api_no_method(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    if request.match_info["token"] != emulator.token:
        return _error(ApiError(401, "Unauthorized"))
    return _error(ApiError(404, "Not Found"))


# ------------------------------------------------------------------------------------------------ page


async def _index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC_DIR / "index.html", headers=_PAGE_HEADERS)


_STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}


async def _static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR or not path.is_file() or path.suffix not in _STATIC_TYPES:
        raise web.HTTPNotFound()
    headers = {**_PAGE_HEADERS, "Content-Type": f"{_STATIC_TYPES[path.suffix]}; charset=utf-8"}
    return web.FileResponse(path, headers=headers)


# ------------------------------------------------------------------------------------------------ page JSON API


def _api_error(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json_body(request: web.Request) -> JsonDict:
    # Requiring application/json makes cross-site form posts impossible (they would need a CORS preflight).
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(
            text=json.dumps({"error": "send application/json"}), content_type="application/json"
        )
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text=json.dumps({"error": "invalid JSON"}), content_type="application/json") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "expected an object"}), content_type="application/json")
    return body


def _user_json(user: SandboxUser) -> JsonDict:
    return {
        "id": user.id,
        "first_name": user.first_name,
        "username": user.username,
        "language_code": user.language_code,
    }


def _int_field(body: JsonDict | Any, name: str) -> int | None:
    value = body.get(name)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _known_user(emulator: Emulator, body: JsonDict | Any) -> SandboxUser:
    user_id = _int_field(body, "user_id")
    if user_id is None:
        raise web.HTTPBadRequest(text=json.dumps({"error": "user_id required"}), content_type="application/json")
    user = emulator.get_user(user_id)
    if user is None:
        raise web.HTTPNotFound(text=json.dumps({"error": "unknown user"}), content_type="application/json")
    return user


def _optional_str(body: JsonDict, name: str, max_len: int) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise web.HTTPBadRequest(text=json.dumps({"error": f"bad {name}"}), content_type="application/json")
    return value.strip() or None


async def _api_info(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    language = request.query.get("language_code", "")
    commands = emulator.commands(language_code=language) or emulator.commands()
    webhook = emulator.webhook_info()
    return web.json_response(
        {
            "bot": {"id": emulator.bot_id, "username": emulator.bot_username, "first_name": emulator.bot_first_name},
            "commands": commands,
            "webhook_url": webhook["url"],
            "pending_update_count": webhook["pending_update_count"],
            "languages": list(PAGE_LANGUAGES),
            "media_kinds": list(MEDIA_KINDS),
            "seq": emulator.seq,
        }
    )


async def _api_list_users(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    return web.json_response({"users": [_user_json(u) for u in emulator.users()]})


async def _api_create_user(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    body = await _json_body(request)
    first_name = _optional_str(body, "first_name", 64) or "Sandbox user"
    username = _optional_str(body, "username", 32)
    language = _optional_str(body, "language_code", 10)
    user_id = _int_field(body, "id")
    if user_id is not None and (user_id <= 0 or user_id == emulator.bot_id or user_id >= 2**52):
        return _api_error("bad id")
    if user_id is None:
        user = emulator.new_user(first_name, language_code=language, username=username)
    else:
        user = emulator.add_user(SandboxUser(user_id, first_name, username, language))
    return web.json_response({"user": _user_json(user)})


async def _api_send(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    body = await _json_body(request)
    user = _known_user(emulator, body)
    text = body.get("text")
    if not isinstance(text, str):
        return _api_error("text required")
    try:
        update_id = emulator.user_sends_text(user, text)
    except SandboxError as exc:
        return _api_error(str(exc))
    return web.json_response({"update_id": update_id})


async def _api_send_media(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    body = await _json_body(request)
    user = _known_user(emulator, body)
    kind = body.get("kind")
    if not isinstance(kind, str) or kind not in MEDIA_KINDS:
        return _api_error(f"kind must be one of {', '.join(MEDIA_KINDS)}")
    caption = _optional_str(body, "caption", 1024)
    update_id = emulator.user_sends(user, kind, caption=caption)
    return web.json_response({"update_id": update_id})


async def _api_press(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    body = await _json_body(request)
    user = _known_user(emulator, body)
    message_id = _int_field(body, "message_id")
    data = body.get("callback_data")
    if message_id is None or not isinstance(data, str):
        return _api_error("message_id and callback_data required")
    # Stale buttons stay pressable on purpose: the bot must cope with them.
    update_id = emulator.user_presses_raw(user, message_id, data)
    return web.json_response({"update_id": update_id, "callback_query_id": emulator.callback_query_id(update_id)})


async def _api_block(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    body = await _json_body(request)
    user = _known_user(emulator, body)
    blocked = body.get("blocked", True) is True
    emulator.block_bot(user, blocked)
    return web.json_response({"blocked": blocked})


async def _api_chat(request: web.Request) -> web.Response:
    """Messages changed since ``since`` (a seq cursor); long-polls up to ``wait`` seconds if none."""
    emulator = request.app[EMULATOR_KEY]
    user = _known_user(emulator, request.query)
    since = _int_field(request.query, "since") or 0
    try:
        wait = min(max(float(request.query.get("wait", "0")), 0.0), MAX_PAGE_WAIT_SECONDS)
    except ValueError:
        return _api_error("bad wait")
    messages, answers = emulator.changes_since(user.id, since)
    if not messages and not answers and wait > 0:
        # Wakes on any change; if it concerned another chat the client simply polls again.
        await emulator.wait_for_change(emulator.seq, wait)
        messages, answers = emulator.changes_since(user.id, since)
    return web.json_response(
        {
            "cursor": emulator.seq,
            "messages": [m.to_page_json() for m in messages if not m.deleted],
            "deleted": [m.message_id for m in messages if m.deleted],
            "answers": [
                {
                    "callback_query_id": a.callback_query_id,
                    "text": a.text,
                    "show_alert": a.show_alert,
                    "message_id": a.message_id,
                }
                for a in answers
            ],
            "pending_update_count": emulator.pending_update_count,
        }
    )
