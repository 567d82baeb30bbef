"""Reviewers: the consultations granted to them, and their publications (never a raw answer or a live count):
each publication as the HTML report of the summaries renderer, and its downloads in every format."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from dashboard.forms import int_param
from dashboard.keys import DESK, FACILITATION, STAFF
from dashboard.render import render
from dashboard.views.desk import download
from summaries.desk import EXPORTS

if TYPE_CHECKING:
    from storage.models import Consultation


async def _granted(request: web.Request) -> Consultation:
    return await request.app[FACILITATION].granted_consultation(request[STAFF], int_param(request, "consultation_id"))


async def reviews(request: web.Request) -> web.StreamResponse:
    granted = await request.app[FACILITATION].granted(request[STAFF])
    return await render(request, "reviews.html", consultations=granted)


async def review(request: web.Request) -> web.StreamResponse:
    found = await _granted(request)
    made = await request.app[DESK].publications(found)
    return await render(request, "review.html", consultation=found, publications=list(reversed(made)), formats=EXPORTS)


async def review_publication(request: web.Request) -> web.StreamResponse:
    found = await _granted(request)
    return await download(request, found, fmt="html", inline=True)


async def review_download(request: web.Request) -> web.StreamResponse:
    return await download(request, await _granted(request))
