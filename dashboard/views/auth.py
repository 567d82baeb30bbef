"""Signing in and out, the language, one's own password, and an authenticator app (TOTP) for admins."""

from __future__ import annotations

from typing import Any

import segno
from aiohttp import web
from aiohttp_session import get_session, new_session

from config.i18n import N_
from consultations.refusal import Refusal
from consultations.staff import MIN_PASSWORD_LENGTH, StaffAccounts
from dashboard import access
from dashboard.forms import form_of, text
from dashboard.i18n import languages
from dashboard.keys import ACCOUNTS, CONFIG, LANG, PREFIX, STAFF
from dashboard.middlewares import LANG_SESSION_KEY
from dashboard.render import flash, problems_by_field, redirect, render

TOTP_PENDING = "totp_pending"


async def home(request: web.Request) -> web.StreamResponse:
    """Each kind of user starts on their own page; anyone else at the sign-in page."""
    staff = request.get(STAFF)
    raise redirect(request, access.home_route(staff.role.value if staff else None))


async def signin(request: web.Request) -> web.StreamResponse:
    if request.get(STAFF) is not None:
        raise redirect(request, "home")
    return await render(request, "signin.html", username="", next=_local_path(request.query.get("next", "")))


async def signin_post(request: web.Request) -> web.StreamResponse:
    form = await form_of(request)
    username = text(form, "username", 64)
    accounts: StaffAccounts = request.app[ACCOUNTS]
    result = await accounts.sign_in(username, text(form, "password", 1000), text(form, "code", 20))
    back = _local_path(text(form, "next", 300))
    if result.staff is None:
        return await render(request, "signin.html", username=username, failed=True, next=back)
    old = await get_session(request)
    lang = old.get(LANG_SESSION_KEY)
    session = await new_session(request)  # a fresh session (and CSRF token) at every sign-in
    now = request.app[CONFIG].clock()
    session.update({"uid": result.staff.id, "epoch": result.staff.session_epoch, "started": now, "seen": now})
    if lang in languages():
        session[LANG_SESSION_KEY] = lang
    if result.staff.must_change_password:
        raise redirect(request, "password")
    if back:
        raise web.HTTPSeeOther(back)
    raise redirect(request, "home")


async def signout(request: web.Request) -> web.StreamResponse:
    staff = request.get(STAFF)
    if staff is not None:
        await request.app[ACCOUNTS].record_sign_out(staff)
    session = await get_session(request)
    lang = session.get(LANG_SESSION_KEY)
    session.invalidate()
    if lang in languages():
        session[LANG_SESSION_KEY] = lang
    await flash(request, N_("You are signed out."), "info")
    raise redirect(request, "signin")


async def language(request: web.Request) -> web.StreamResponse:
    form = await form_of(request)
    chosen = text(form, "lang", 10)
    session = await get_session(request)
    if chosen in languages():
        session[LANG_SESSION_KEY] = chosen
    back = _local_path(text(form, "next", 300))
    if back:
        raise web.HTTPSeeOther(back)
    raise redirect(request, "home")


async def password(request: web.Request) -> web.StreamResponse:
    return await render(request, "password.html", min_length=MIN_PASSWORD_LENGTH)


async def password_post(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    form = await form_of(request)
    new, again = text(form, "new", 1000), text(form, "again", 1000)
    try:
        if new != again:
            raise Refusal(N_("The two new passwords differ."), field="again")
        changed = await request.app[ACCOUNTS].change_password(staff, text(form, "current", 1000), new)
    except Refusal as refusal:
        return await render(
            request,
            "password.html",
            min_length=MIN_PASSWORD_LENGTH,
            problems=problems_by_field(refusal, request[LANG]),
        )
    session = await get_session(request)
    session["epoch"] = changed.session_epoch  # this session goes on; every other one of the account ends
    await flash(request, N_("Your password is changed."))
    raise redirect(request, "home")


async def totp(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    if staff.has_totp:
        return await render(request, "totp.html", enabled=True)
    session = await get_session(request)
    secret = session.get(TOTP_PENDING)
    if not isinstance(secret, str):
        secret = StaffAccounts.new_totp_secret()
        session[TOTP_PENDING] = secret
    return await render(request, "totp.html", enabled=False, **_enrolment(secret, staff.username))


async def totp_post(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    session = await get_session(request)
    secret = session.get(TOTP_PENDING)
    if staff.has_totp or not isinstance(secret, str):
        raise redirect(request, "totp")
    form = await form_of(request)
    try:
        await request.app[ACCOUNTS].enable_totp(staff, secret, text(form, "code", 20))
    except Refusal as refusal:
        return await render(
            request,
            "totp.html",
            enabled=False,
            problems=problems_by_field(refusal, request[LANG]),
            **_enrolment(secret, staff.username),
        )
    session.pop(TOTP_PENDING, None)
    await flash(request, N_("Your authenticator app is set up. Signing in now also asks for its code."))
    raise redirect(request, "home")


def _enrolment(secret: str, username: str) -> dict[str, Any]:
    uri = StaffAccounts.totp_uri(secret, username)
    qr = segno.make(uri, error="m")
    return {
        "qr": qr.svg_data_uri(scale=5, border=2),
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    }


def _local_path(path: str) -> str:
    """A path inside the dashboard to go back to, or "" (never another site: no open redirect)."""
    if path.startswith(PREFIX + "/") and "//" not in path and "\\" not in path and "@" not in path[:60]:
        return path[:300]
    return ""
