"""Reading posted forms: text fields trimmed and bounded, lists, uploaded files."""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy

Form = MultiDictProxy[str | bytes | bytearray | web.FileField]


async def form_of(request: web.Request) -> Form:
    return await request.post()


def text(form: Form, name: str, limit: int = 500) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def texts(form: Form, name: str, limit: int = 100) -> list[str]:
    return [v[:limit] for v in form.getall(name, []) if isinstance(v, str)]


def checked(form: Form, name: str) -> bool:
    return text(form, name, 10) in ("on", "1", "yes", "true")


def upload(form: Form, name: str, limit: int) -> tuple[str, bytes] | None:
    """The uploaded file's name and content (None when no file was sent); reads at most `limit` + 1 bytes."""
    value = form.get(name)
    if not isinstance(value, web.FileField):
        return None
    return value.filename or "", value.file.read(limit + 1)


def int_param(request: web.Request, name: str) -> int:
    """A numeric path part; anything else is a 404."""
    value = request.match_info.get(name, "")
    if not value.isdigit() or len(value) > 12:
        raise web.HTTPNotFound()
    return int(value)
