"""The sandbox's aiohttp application: the Bot API (/bot{token}/{method}), the chat page and its JSON API.

One port serves both: point the bot at ``base_url="http://127.0.0.1:8080/bot"`` and open
``http://127.0.0.1:8080/`` in a browser. A development tool: bind it to localhost only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from sandbox.emulator import Emulator
from sandbox.models import ApiError, JsonDict
from sandbox.page import EMULATOR_KEY, add_page_api

STATIC_DIR = Path(__file__).resolve().parent / "static"
_STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
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
    app = web.Application(client_max_size=1024 * 1024)
    app[EMULATOR_KEY] = emulator
    app.router.add_route("*", "/bot{token}/{method}", _bot_api)
    app.router.add_route("*", "/bot{token}/", _bot_api_no_method)
    app.router.add_route("*", "/bot{token}", _bot_api_no_method)
    app.router.add_get("/", _index)
    app.router.add_get("/sandbox/static/{name}", _static)
    add_page_api(app)
    # on_shutdown runs before the server waits for in-flight requests: release long polls there.
    app.on_shutdown.append(_stop_background)
    app.on_cleanup.append(_stop_background)
    return app


async def _stop_background(app: web.Application) -> None:
    await app[EMULATOR_KEY].stop_background()


def _telegram_json(body: JsonDict, status: int = 200) -> web.Response:
    """JSON as Telegram sends it: UTF-8, and text that cannot be UTF-8 (a lone surrogate, which a client can send)
    as its `\\u` escape, so the bot gets what Telegram would give it instead of a 500."""
    text = json.dumps(body, ensure_ascii=False)
    try:
        data = text.encode()
    except UnicodeEncodeError:
        data = json.dumps(body).encode()
    return web.Response(body=data, status=status, content_type="application/json")


async def _read_bot_params(request: web.Request) -> dict[str, Any]:
    """Query string, then a JSON or urlencoded body, as the Bot API accepts them (the bot uploads no files)."""
    params: dict[str, Any] = dict(request.query)
    if not request.body_exists:
        return params
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                raise ApiError(400, "Bad Request: the sandbox does not take file uploads")
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
        return _telegram_json(ApiError(401, "Unauthorized").to_json(), 401)
    if emulator.canonical_method(request.match_info["method"]) is None:
        return _telegram_json(ApiError(404, "Not Found").to_json(), 404)
    try:
        params = await _read_bot_params(request)
        result = await emulator.call(request.match_info["method"], params)
    except ApiError as exc:
        return _telegram_json(exc.to_json(), exc.error_code)
    return _telegram_json({"ok": True, "result": result})


async def _bot_api_no_method(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    error = (
        ApiError(401, "Unauthorized") if request.match_info["token"] != emulator.token else ApiError(404, "Not Found")
    )
    return _telegram_json(error.to_json(), error.error_code)


async def _index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC_DIR / "index.html", headers=_PAGE_HEADERS)


async def _static(request: web.Request) -> web.StreamResponse:
    path = (STATIC_DIR / request.match_info["name"]).resolve()
    if path.parent != STATIC_DIR or not path.is_file() or path.suffix not in _STATIC_TYPES:
        raise web.HTTPNotFound()
    headers = {**_PAGE_HEADERS, "Content-Type": f"{_STATIC_TYPES[path.suffix]}; charset=utf-8"}
    return web.FileResponse(path, headers=headers)
