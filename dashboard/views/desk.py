"""Facilitators' work on a consultation's results: live progress (under the disclosure control), the review of
written answers (themes, quotes that only remove text, keyword suggestions), publications and their downloads,
and the one results message. The consultation is always checked to be the person's (`Facilitation`) first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from config.i18n import N_
from consultations import results
from consultations.staff import Staff
from dashboard.forms import checked, form_of, int_param, text, texts
from dashboard.keys import DESK, FACILITATION, LANG, STAFF
from dashboard.render import flash, redirect, render
from dashboard.security import report_policy
from summaries import desk as desks
from summaries.publications import ALREADY_FINAL, TOO_FEW_NEW, PublicationRefused
from summaries.results import results_notification

if TYPE_CHECKING:
    from storage.models import Consultation

DESK_REFUSALS = {
    desks.NOT_ONLY_REMOVED: N_(
        "A quote may only take words out of the answer, and a cut inside it is marked […]. Nothing was saved."
    ),
    desks.UNKNOWN_THEME: N_("No theme %(theme)s in this consultation's codebook."),
    desks.BAD_THEME_CODE: N_(
        "A theme code is lower-case letters, digits and _ (for example shelters), starting with a letter."
    ),
    desks.NO_LABEL: N_("Give the theme a label of 1 to 120 characters."),
}


def actor(request: web.Request) -> desks.Actor:
    staff: Staff = request[STAFF]
    return desks.Actor(staff.id, staff.username)


async def mine(request: web.Request) -> Consultation:
    """The facilitator's own consultation of the path (404 for anyone else's, as for one that does not exist)."""
    return await request.app[FACILITATION].consultation(request[STAFF], int_param(request, "consultation_id"))


def number_param(request: web.Request) -> int:
    return int_param(request, "number")


def format_param(request: web.Request) -> str:
    fmt = request.match_info.get("fmt", "")
    if fmt not in desks.EXPORTS:
        raise web.HTTPNotFound()
    return fmt


async def download(
    request: web.Request, consultation: Consultation, *, fmt: str | None = None, inline: bool = False
) -> web.Response:
    """A publication in `fmt` (default: the format of the path), in the language asked (?language=) or the
    reader's; `inline`: shown in the browser (the HTML report)."""
    fmt = fmt or format_param(request)
    language = request.query.get("language", "")[:10] or request[LANG]
    try:
        data, name = await request.app[DESK].export(
            consultation, actor(request), number_param(request), fmt, language, read=inline
        )
    except PublicationRefused:
        raise web.HTTPNotFound() from None
    disposition = "inline" if inline else "attachment"
    response = web.Response(
        body=data,
        content_type=desks.MEDIA_TYPES[fmt],
        charset="utf-8" if fmt not in ("pdf", "xlsx") else None,
        headers={"Content-Disposition": f'{disposition}; filename="{name}"'},
    )
    if fmt == "html":
        response.headers["Content-Security-Policy"] = report_policy(data.decode())
    return response


# ---- live progress ----


async def progress(request: web.Request) -> web.StreamResponse:
    consultation = await mine(request)
    found = await request.app[DESK].progress(consultation, request[LANG])
    return await render(request, "progress.html", consultation=consultation, progress=found, report=found.report)


# ---- written answers ----


async def answers(request: web.Request) -> web.StreamResponse:
    consultation = await mine(request)
    desk = request.app[DESK]
    everything = request.query.get("all") == "1"
    given = request.query.get("page", "")
    page = int(given) if given.isdigit() and len(given) < 7 else 0
    items, waiting, listed = await desk.review_queue(consultation, actor(request), everything=everything, page=page)
    return await render(
        request,
        "answers.html",
        consultation=consultation,
        items=items,
        waiting=waiting,
        everything=everything,
        page=page,
        more=everything and (page + 1) * desks.REVIEW_PAGE < listed,
        codebook=await desk.codebook(consultation),
        consultation_languages=consultation.language_list,
    )


async def answer_decide(request: web.Request) -> web.StreamResponse:
    consultation = await mine(request)
    form = await form_of(request)
    decision = text(form, "decision", 10)
    if decision not in ("approve", "reject"):
        raise web.HTTPBadRequest()
    try:
        approved = await request.app[DESK].decide(
            consultation,
            actor(request),
            int_param(request, "answer_id"),
            texts(form, "themes", 40),
            approve=decision == "approve",
            quote=text(form, "quote", 5000),
        )
    except desks.DeskRefusal as refused:
        if refused.reason == desks.NO_SUCH_ANSWER:
            raise web.HTTPNotFound() from None
        await flash(request, DESK_REFUSALS[refused.reason], "error", **refused.values)
    else:
        if approved is None:
            await flash(request, N_("The answer is coded; it will not be quoted."))
        else:
            await flash(request, N_("The answer is coded and the quote approved for the next publication."))
    raise redirect(request, "answers", consultation_id=consultation.id)


async def theme_save(request: web.Request) -> web.StreamResponse:
    consultation = await mine(request)
    form = await form_of(request)
    language = text(form, "language", 10)
    if language not in consultation.language_list:
        language = consultation.default_language
    try:
        entry = await request.app[DESK].save_theme(
            consultation,
            actor(request),
            text(form, "code", 40),
            language,
            text(form, "label", 200),
            text(form, "keywords", 1000),
        )
    except desks.DeskRefusal as refused:
        await flash(request, DESK_REFUSALS[refused.reason], "error", **refused.values)
    else:
        await flash(request, N_("Theme %(code)s saved."), code=entry.code)
    raise redirect(request, "answers", consultation_id=consultation.id)


async def keywords(request: web.Request) -> web.StreamResponse:
    consultation = await mine(request)
    found = await request.app[DESK].keywords(consultation, actor(request))
    return await render(request, "keywords.html", consultation=consultation, keywords=found)


# ---- publications ----


async def publications(request: web.Request) -> web.StreamResponse:
    consultation = await mine(request)
    made = await request.app[DESK].publications(consultation)
    return await render(
        request,
        "publications.html",
        consultation=consultation,
        publications=list(reversed(made)),
        formats=desks.EXPORTS,
        final_made=bool(made and made[-1].final),
    )


async def publish(request: web.Request) -> web.StreamResponse:
    consultation = await mine(request)
    desk = request.app[DESK]
    try:
        made = await desk.publish(consultation, actor(request))
    except PublicationRefused as refused:
        earlier = await desk.publications(consultation)
        if refused.reason == TOO_FEW_NEW and earlier:
            await flash(
                request,
                N_(
                    "Not published: fewer than %(k)s people took part since publication %(number)s. A new "
                    "publication needs at least %(k)s (k) new people, so that nobody can be found by comparing "
                    "two publications."
                ),
                "error",
                k=consultation.min_cell,
                number=earlier[-1].number or "",
            )
        elif refused.reason == ALREADY_FINAL:
            await flash(request, N_("Not published: this consultation already has its final publication."), "error")
        else:
            raise
    else:
        await flash(request, N_("Publication %(number)s is made."), number=made.number or "")
    raise redirect(request, "publications", consultation_id=consultation.id)


async def publication_download(request: web.Request) -> web.StreamResponse:
    return await download(request, await mine(request))


async def results_send(request: web.Request) -> web.StreamResponse:
    """Queue the results message (the outbox): the page answers at once; the running bot sends it."""
    consultation = await mine(request)
    form = await form_of(request)
    desk = request.app[DESK]
    if not checked(form, "confirm"):
        await flash(request, N_("Tick the box to confirm that the message may be sent now."), "error")
    elif not await desk.publications(consultation):
        await flash(request, N_("Publish the results first: the message points people to them."), "error")
    else:
        await results.queue_results(
            desk.database,
            desk.keys,
            consultation,
            lambda language: results_notification(language, consultation.title),
        )
        await desk.record(consultation, actor(request), "results message queued")
        await flash(
            request,
            N_(
                "The results message is queued, once, for everyone who asked for it. The running bot sends it "
                "within Telegram's limits; if the bot is not running, it waits until the bot starts."
            ),
        )
    raise redirect(request, "publications", consultation_id=consultation.id)
