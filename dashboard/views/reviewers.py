"""Reviewers: the consultations granted to them, and their publications (never a raw answer or a live count)."""

from __future__ import annotations

from aiohttp import web

from dashboard.forms import int_param
from dashboard.keys import FACILITATION, STAFF
from dashboard.render import render


async def reviews(request: web.Request) -> web.StreamResponse:
    granted = await request.app[FACILITATION].granted(request[STAFF])
    return await render(request, "reviews.html", consultations=granted)


async def review(request: web.Request) -> web.StreamResponse:
    found = await request.app[FACILITATION].granted_consultation(request[STAFF], int_param(request, "consultation_id"))
    return await render(request, "review.html", consultation=found, publications=[])
