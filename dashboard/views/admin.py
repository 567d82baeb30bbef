"""Administration: organisations, staff accounts (create, reset, disable) and the audit log."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from config.i18n import N_
from consultations.refusal import Refusal
from consultations.staff import Role
from dashboard.forms import checked, form_of, int_param, text
from dashboard.keys import ACCOUNTS, LANG, STAFF
from dashboard.render import flash, problems_by_field, redirect, render

AUDIT_PAGE = 100


async def organisations(request: web.Request) -> web.StreamResponse:
    return await render(request, "organisations.html", organisations=await request.app[ACCOUNTS].organisations())


async def organisation_create(request: web.Request) -> web.StreamResponse:
    form = await form_of(request)
    name = text(form, "name", 200)
    try:
        await request.app[ACCOUNTS].create_organisation(name, by=request[STAFF])
    except Refusal as refusal:
        return await render(
            request,
            "organisations.html",
            organisations=await request.app[ACCOUNTS].organisations(),
            name=name,
            problems=problems_by_field(refusal, request[LANG]),
        )
    await flash(request, N_("Organisation %(name)s created."), name=" ".join(name.split()))
    raise redirect(request, "organisations")


async def _users_page(request: web.Request, **context: Any) -> web.Response:
    accounts = request.app[ACCOUNTS]
    return await render(
        request,
        "users.html",
        users=await accounts.listing(),
        organisations=await accounts.organisations(),
        roles=[role.value for role in Role],
        **context,
    )


async def users(request: web.Request) -> web.StreamResponse:
    return await _users_page(request)


async def user_create(request: web.Request) -> web.StreamResponse:
    form = await form_of(request)
    username, role, organisation = text(form, "username", 64), text(form, "role", 20), text(form, "organisation", 12)
    try:
        if role not in [r.value for r in Role]:
            raise Refusal(N_("Choose a role."), field="role")
        staff, password = await request.app[ACCOUNTS].create(
            username, role, int(organisation) if organisation.isdigit() else None, by=request[STAFF]
        )
    except Refusal as refusal:
        return await _users_page(
            request,
            problems=problems_by_field(refusal, request[LANG]),
            form={"username": username, "role": role, "organisation": organisation},
        )
    return await render(request, "one_time_password.html", username=staff.username, password=password, created=True)


async def user_reset(request: web.Request) -> web.StreamResponse:
    accounts = request.app[ACCOUNTS]
    target = await _target(request)
    form = await form_of(request)
    password = await accounts.reset(target, clear_totp=checked(form, "clear_totp"), by=request[STAFF])
    return await render(request, "one_time_password.html", username=target, password=password, created=False)


async def user_disable(request: web.Request) -> web.StreamResponse:
    target = await _target(request)
    try:
        await request.app[ACCOUNTS].disable(target, by=request[STAFF])
    except Refusal as refusal:
        return await _users_page(request, problems=problems_by_field(refusal, request[LANG]))
    await flash(request, N_("Account %(name)s is disabled."), name=target)
    raise redirect(request, "users")


async def _target(request: web.Request) -> str:
    user_id = int_param(request, "user_id")
    staff = await request.app[ACCOUNTS].current(user_id)
    if staff is None:
        raise web.HTTPNotFound()
    return staff.username


async def audit(request: web.Request) -> web.StreamResponse:
    before = request.query.get("before", "")
    entries = await request.app[ACCOUNTS].audit_entries(
        limit=AUDIT_PAGE, before_id=int(before) if before.isdigit() and len(before) < 12 else None
    )
    older = entries[-1].id if len(entries) == AUDIT_PAGE else None
    return await render(request, "audit.html", entries=entries, older=older)
