"""Rendering pages: the template, the common context (language, user, CSRF token, navigation), and messages
carried to the next page."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from config.i18n import N_, t, tn
from consultations.refusal import Refusal, Refusals
from dashboard import access
from dashboard.i18n import RTL, language_name, languages
from dashboard.keys import LANG, STAFF
from dashboard.security import CSRF_FIELD, csrf_token

FLASH_KEY = "flash"
DATA_WORDS = (N_("scheduled"), N_("open"), N_("closed"), N_("admin"), N_("facilitator"), N_("reviewer"))
"""Words the templates translate from data (a consultation's state, a role): here so the catalogs have them."""


def url(request: web.Request, name: str, /, **parts: object) -> str:
    """The path of a named dashboard route (with the dashboard's prefix)."""
    return str(request.app.router[name].url_for(**{k: str(v) for k, v in parts.items()}))


def redirect(request: web.Request, name: str, /, **parts: object) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(url(request, name, **parts))


async def flash(request: web.Request, msgid: str, kind: str = "ok", **values: object) -> None:
    """A message for the next page (an interface text and its values, translated when shown)."""
    session = await get_session(request)
    messages = list(session.get(FLASH_KEY) or [])
    messages.append([kind, msgid, {k: str(v) for k, v in values.items()}])
    session[FLASH_KEY] = messages[-5:]


async def flash_refusals(request: web.Request, refused: Refusals) -> None:
    for problem in refused.problems:
        await flash(request, problem.msgid, "error", **problem.values)


def problems_by_field(problems: Refusals | Refusal | None, lang: str) -> dict[str, list[str]]:
    """Translated problems, keyed by form field ('' for the whole form)."""
    found = problems.problems if isinstance(problems, Refusals) else [problems] if problems is not None else []
    out: dict[str, list[str]] = {}
    for problem in found:
        out.setdefault(problem.field, []).append(t(lang, problem.msgid, **problem.values))
    return out


async def render(request: web.Request, template: str, /, *, status: int = 200, **context: Any) -> web.Response:
    lang = request.get(LANG) or "en"
    staff = request.get(STAFF)
    session = await get_session(request)
    messages = [(kind, t(lang, msgid, **values)) for kind, msgid, values in session.pop(FLASH_KEY, [])]
    route = request.match_info.route.name or ""
    common: dict[str, Any] = {
        "lang": lang,
        "dir": "rtl" if lang in RTL else "ltr",
        "t": t,
        "tn": tn,
        "staff": staff,
        "role": staff.role.value if staff else access.ANONYMOUS,
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(session),
        "url": lambda name, **parts: url(request, name, **parts),
        "route": route,
        "request_path": request.path if request.method == "GET" else "",
        "languages": [(code, language_name(code)) for code in languages()],
        "messages": messages,
        "problems": {},
    }
    return aiohttp_jinja2.render_template(template, request, {**common, **context}, status=status)
