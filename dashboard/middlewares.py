"""The dashboard's middlewares, outermost first: body size, error pages and security headers, the session,
who is signed in (with idle and absolute expiry), the access rule of the route, and the CSRF check."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from aiohttp import web
from aiohttp_session import get_session

from config.i18n import N_
from consultations.refusal import NotFound, Refusal, Refusals
from dashboard import access
from dashboard.i18n import from_accept_language, languages
from dashboard.keys import ACCOUNTS, CONFIG, LANG, STAFF
from dashboard.render import flash, problems_by_field, render, url
from dashboard.security import CSRF_FIELD, apply_headers, csrf_ok

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_BODY = 6 * 1024 * 1024
"""An uploaded XLSForm (5 MB at most) and its form fields."""
LANG_SESSION_KEY = "lang"

ERROR_TITLES = {
    400: N_("This request could not be understood."),
    403: N_("You are not allowed to see this page."),
    404: N_("There is nothing here."),
    405: N_("This page cannot be used this way."),
    413: N_("The file is too large."),
    500: N_("Something went wrong on our side. Nothing you entered was lost; please try again."),
}


@web.middleware
async def body_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The dashboard's own body limit, whichever server it is mounted on (the webhook's allows 1 MB)."""
    return await handler(request.clone(client_max_size=MAX_BODY))


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers on every response; an error page (never a traceback) for every failure."""
    production = request.app[CONFIG].production
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            apply_headers(exc, production=production)
            raise
        response = await _error_page(request, exc.status)
    except NotFound:
        response = await _error_page(request, 404)
    except (Refusal, Refusals) as exc:
        response = await _error_page(request, 400, problems=exc)
    except Exception as exc:
        route = request.match_info.route.name or "-"
        log.error(
            "dashboard request failed: %s on route %s",
            type(exc).__name__,
            route,
            extra={"event": "dashboard.error", "error": type(exc).__name__},
        )
        response = await _error_page(request, 500)
    apply_headers(response, production=production)
    return response


async def _error_page(request: web.Request, status: int, problems: Refusal | Refusals | None = None) -> web.Response:
    lang = request.get(LANG) or "en"
    title = ERROR_TITLES.get(status, ERROR_TITLES[400] if status < 500 else ERROR_TITLES[500])
    try:
        return await render(
            request,
            "error.html",
            status=status,
            code=status,
            title=title,
            details=problems_by_field(problems, lang).get("", []) if problems else [],
        )
    except Exception as exc:  # the error page itself failed: a plain one
        log.error(
            "dashboard error page failed: %s",
            type(exc).__name__,
            extra={"event": "dashboard.error", "error": type(exc).__name__},
        )
        return web.Response(status=status, text=f"Error {status}", content_type="text/plain")


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The language, and the staff member of a live session. A session ends when unused for the idle time, after
    twelve hours in any case, and when the account is disabled or its password changes or is reset."""
    session = await get_session(request)
    chosen = session.get(LANG_SESSION_KEY)
    lang = chosen if chosen in languages() else from_accept_language(request.headers.get("Accept-Language"))
    request[LANG] = lang or "en"
    user_id = session.get("uid")
    if isinstance(user_id, int):
        config = request.app[CONFIG]
        now = config.clock()
        started, seen = float(session.get("started", 0)), float(session.get("seen", 0))
        expired = now - seen > config.idle.total_seconds() or now - started > config.longest.total_seconds()
        staff = None if expired else await request.app[ACCOUNTS].current(user_id)
        if staff is None or staff.disabled or staff.session_epoch != session.get("epoch"):
            session.invalidate()
            if chosen in languages():
                session[LANG_SESSION_KEY] = chosen
            await flash(request, N_("Your session has ended. Please sign in again."), "info")
        else:
            session["seen"] = now
            request[STAFF] = staff
    return await handler(request)


@web.middleware
async def authorise(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The route's rule (dashboard.access.RULES) decides; no rule means no access."""
    if request.match_info.http_exception is not None:  # no such route: the router's own 404/405
        return await handler(request)
    name = request.match_info.route.name or ""
    rule = access.RULES.get(name)
    if rule is None:
        log.error("dashboard route %s has no access rule", name, extra={"event": "dashboard.no_rule"})
        raise web.HTTPForbidden()
    staff = request.get(STAFF)
    if staff is not None and staff.must_change_password and name not in access.OPEN_BEFORE_PASSWORD_CHANGE:
        raise web.HTTPSeeOther(url(request, "password"))
    audience = staff.role.value if staff is not None else access.ANONYMOUS
    if audience not in rule:
        if staff is None and request.method == "GET":  # sign in, then come back here
            raise web.HTTPSeeOther(url(request, "signin") + "?" + urlencode({"next": request.path_qs}))
        raise web.HTTPForbidden()
    return await handler(request)


@web.middleware
async def csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every form post carries the session's token (forms of other sites cannot know it)."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.match_info.http_exception is None:
        session = await get_session(request)
        form = await request.post()
        if not csrf_ok(session, form.get(CSRF_FIELD)):
            log.warning("dashboard form without a valid CSRF token", extra={"event": "dashboard.csrf"})
            expired = Refusal(N_("This form has expired. Go back, reload the page and try again."))
            return await _error_page(request, 403, problems=expired)
    return await handler(request)
