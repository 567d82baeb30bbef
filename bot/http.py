"""The bot's HTTP connection to the Bot API: python-telegram-bot's request interface (`BaseRequest`) on aiohttp's
client instead of httpx.

Why: every update costs two or three Bot API calls (the press answered, the question edited, the next one sent),
and httpx with httpcore and anyio spent about 1 ms of CPU on each (aiohttp about 0.2 ms, measured side by side on
the benchmark's machine), a large part of the bot's CPU per update. aiohttp is already the process's web server.

It behaves as PTB's `HTTPXRequest`: the same default timeouts (PTB's, overridable per call), a form-encoded body
(multipart when a file is sent), a timeout raised as `TimedOut` and any other failure to talk to the server as
`NetworkError` (PTB maps the HTTP status codes and Telegram's answers to their errors, as for httpx). Waiting
for a free connection counts towards the connect timeout. Proxies come from the environment (HTTPS_PROXY and
NO_PROXY), as with httpx."""

from __future__ import annotations

import urllib.request
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
from telegram import Bot
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
MEDIA_WRITE_TIMEOUT = 20.0
"""python-telegram-bot's defaults for HTTPXRequest."""
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DefaultValue = type(BaseRequest.DEFAULT_NONE)
"""PTB's marker class for "not given" (public only through its instances)."""


class AiohttpRequest(BaseRequest):
    """A pool of at most `connection_pool_size` connections to the Bot API."""

    def __init__(self, connection_pool_size: int = 1) -> None:
        self._pool_size = connection_pool_size
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}

    @property
    def read_timeout(self) -> float | None:
        return READ_TIMEOUT

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data is not None and request_data.contains_files else None
        read = READ_TIMEOUT if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = CONNECT_TIMEOUT if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = POOL_TIMEOUT if isinstance(pool_timeout, DefaultValue) else pool_timeout
        default_write = MEDIA_WRITE_TIMEOUT if files else WRITE_TIMEOUT
        write = default_write if isinstance(write_timeout, DefaultValue) else write_timeout
        # aiohttp has no write timeout of its own: sending the body counts towards the read timeout's clock
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if connect is None and pool is None else (connect or 0.0) + (pool or 0.0),
            sock_read=None if read is None else read + (write or 0.0),
        )
        body: aiohttp.FormData | bytes | None = None
        headers = None
        if request_data is not None:
            if files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mimetype) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mimetype)
                body = form
            else:  # encoded here: aiohttp's FormData checks and copies every field first
                body = urlencode(request_data.json_parameters).encode()
                headers = FORM
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout, proxy=self._proxy(url)
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's timeouts among them
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{exc.__class__.__name__}: {exc}") from exc

    def _proxy(self, url: str) -> str | None:
        """The proxy for the Bot API's host from the environment (HTTPS_PROXY, NO_PROXY), looked up once per
        host (aiohttp's own `trust_env` looks it up, and for a .netrc, in a thread on every request)."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxies:
            bypass = bool(parts.hostname) and urllib.request.proxy_bypass(parts.hostname or "")
            self._proxies[key] = None if bypass else urllib.request.getproxies().get(parts.scheme)
        return self._proxies[key]


async def api_call(bot: Bot, method: str, params: dict[str, object], **timeouts: float) -> object:
    """One Bot API call, its result as the Bot API's JSON. `Bot._post` is what each of PTB's methods calls (the
    same request, error mapping and retries as `Bot.send_message`), without making PTB objects of the result
    (the outbox reads only the id of a message sent; polling reads each update on its own). PTB's public
    `do_api_request` does the same but warns whenever PTB has a method of that name."""
    return await bot._post(method, params, **timeouts)  # type: ignore[arg-type]
