"""Facilitators: questionnaires (upload an XLSForm, read the import report and the picture), consultations
(create, change, open, close), invites with their links and QR codes, and reviewers' access."""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING, Any

import segno
from aiohttp import web

from config.i18n import N_
from consultations.facilitation import MAX_HELP_ENTRIES, ConsultationForm, HelpEntryForm, countries, help_entries
from consultations.questionnaires import MAX_UPLOAD_BYTES, Questionnaire
from consultations.refusal import NotFound, Refusal, Refusals
from consultations.staff import Staff
from dashboard.forms import Form, checked, form_of, int_param, text, texts, upload
from dashboard.keys import CONFIG, DESK, FACILITATION, LANG, QUESTIONNAIRES, STAFF
from dashboard.render import flash, flash_refusals, problems_by_field, redirect, render, url
from summaries.desk import Actor

if TYPE_CHECKING:
    from storage.models import Consultation, Invite

# ---- questionnaires ----


async def _questionnaires_page(request: web.Request, **context: Any) -> web.Response:
    staff: Staff = request[STAFF]
    available = await request.app[QUESTIONNAIRES].available(staff.organisation_id)
    return await render(
        request,
        "questionnaires.html",
        questionnaires=available,
        max_mb=MAX_UPLOAD_BYTES // 1024 // 1024,
        **context,
    )


async def questionnaires(request: web.Request) -> web.StreamResponse:
    return await _questionnaires_page(request)


async def questionnaire_upload(request: web.Request) -> web.StreamResponse:
    staff: Staff = request[STAFF]
    form = await form_of(request)
    sent = upload(form, "form", MAX_UPLOAD_BYTES)
    audience = text(form, "audience", 10)
    if audience not in ("cso", "survivor"):
        audience = "cso"
    skip = checked(form, "skip_unsupported")
    if sent is None:
        return await _questionnaires_page(
            request,
            problems=problems_by_field(Refusal(N_("Choose an XLSForm file."), field="form"), request[LANG]),
            audience=audience,
            skip_unsupported=skip,
        )
    name, data = sent
    library = request.app[QUESTIONNAIRES]
    # pyxform reads the workbook for a while: in a thread, so the bot sharing this event loop carries on
    report, document = await asyncio.to_thread(
        library.check_upload, name, data, audience=audience, skip_unsupported=skip
    )
    if document is None or staff.organisation_id is None:
        return await _questionnaires_page(request, report=report, audience=audience, skip_unsupported=skip)
    stored = await library.store_upload(
        staff.organisation_id, report, document, actor_id=staff.id, actor=staff.username
    )
    await flash(request, N_("The questionnaire is imported. Check the report and the picture below."))
    raise redirect(request, "questionnaire", flow_id=stored.flow.id, version=stored.flow.version)


async def _questionnaire(request: web.Request) -> Questionnaire:
    staff: Staff = request[STAFF]
    key = f"{request.match_info.get('flow_id', '')}:{request.match_info.get('version', '')}"
    found = await request.app[QUESTIONNAIRES].find(key, staff.organisation_id)
    if found is None:
        raise NotFound(key)
    return found


async def questionnaire(request: web.Request) -> web.StreamResponse:
    found = await _questionnaire(request)
    lang = request[LANG]
    shown = lang if lang in found.flow.languages else found.flow.default_language
    steps = [(step.id, step.type, step.text.get(shown, "")) for step in found.flow.steps]
    return await render(request, "questionnaire.html", questionnaire=found, steps=steps, shown_language=shown)


async def questionnaire_diagram(request: web.Request) -> web.StreamResponse:
    found = await _questionnaire(request)
    picture = request.app[QUESTIONNAIRES].picture(found, request.query.get("language") or request[LANG])
    return web.Response(text=picture, content_type="image/svg+xml", charset="utf-8")


# ---- consultations ----


async def consultations(request: web.Request) -> web.StreamResponse:
    rows = await request.app[FACILITATION].consultations(request[STAFF])
    return await render(request, "consultations.html", consultations=rows)


def _read_form(form: Form) -> ConsultationForm:
    helps = [
        HelpEntryForm(
            name=text(form, f"help-{i}-name", 200),
            phone=text(form, f"help-{i}-phone", 40),
            url=text(form, f"help-{i}-url", 300),
            hours=text(form, f"help-{i}-hours", 200),
            note=text(form, f"help-{i}-note", 300),
        )
        for i in range(MAX_HELP_ENTRIES)
    ]
    return ConsultationForm(
        title=text(form, "title", 300),
        questionnaire=text(form, "questionnaire", 60),
        country=text(form, "country", 3),
        kind=text(form, "kind", 20),
        cycle_year=text(form, "cycle_year", 8),
        languages=texts(form, "languages", 10),
        default_language=text(form, "default_language", 10),
        opens_at=text(form, "opens_at", 30),
        closes_at=text(form, "closes_at", 30),
        min_cell=text(form, "min_cell", 8),
        retention_days=text(form, "retention_days", 8),
        contact=text(form, "contact", 400),
        help=helps,
    )


async def _consultation_form(
    request: web.Request, form: ConsultationForm, *, existing: Consultation | None = None, **context: Any
) -> web.Response:
    staff: Staff = request[STAFF]
    available = await request.app[QUESTIONNAIRES].available(staff.organisation_id)
    while len(form.help) < MAX_HELP_ENTRIES:
        form.help.append(HelpEntryForm())
    languages = sorted({lang for q in available for lang in q.flow.languages})
    return await render(
        request,
        "consultation_form.html",
        form=form,
        existing=existing,
        questionnaires=available,
        countries=countries(request[LANG]),
        all_languages=languages,
        **context,
    )


async def consultation_new(request: web.Request) -> web.StreamResponse:
    form = ConsultationForm(questionnaire=request.query.get("questionnaire", "")[:60])
    found = await request.app[QUESTIONNAIRES].find(form.questionnaire, request[STAFF].organisation_id)
    if found is not None:
        form.languages = list(found.flow.languages)
    return await _consultation_form(request, form)


async def consultation_create(request: web.Request) -> web.StreamResponse:
    form = _read_form(await form_of(request))
    try:
        created = await request.app[FACILITATION].create(request[STAFF], form)
    except Refusals as refused:
        return await _consultation_form(request, form, problems=problems_by_field(refused, request[LANG]))
    await flash(request, N_("Consultation created. Share an invite below."))
    raise redirect(request, "consultation", consultation_id=created.id)


async def consultation(request: web.Request) -> web.StreamResponse:
    facilitation = request.app[FACILITATION]
    staff: Staff = request[STAFF]
    consultation_id = int_param(request, "consultation_id")
    found = await facilitation.consultation(staff, consultation_id)
    invites = await facilitation.invites(staff, consultation_id)
    return await render(
        request,
        "consultation.html",
        consultation=found,
        invites=[(invite, _links(request, invite)) for invite in invites],
        reviewers=await facilitation.reviewers(staff, consultation_id),
        help=help_entries(found),
        country_names=dict((code, name) for code, name, _ in countries(request[LANG])),
    )


async def consultation_edit(request: web.Request) -> web.StreamResponse:
    found = await request.app[FACILITATION].consultation(request[STAFF], int_param(request, "consultation_id"))
    return await _consultation_form(request, ConsultationForm.of(found), existing=found)


async def consultation_change(request: web.Request) -> web.StreamResponse:
    consultation_id = int_param(request, "consultation_id")
    facilitation = request.app[FACILITATION]
    form = _read_form(await form_of(request))
    try:
        await facilitation.change(request[STAFF], consultation_id, form)
    except Refusals as refused:
        found = await facilitation.consultation(request[STAFF], consultation_id)
        return await _consultation_form(
            request, form, existing=found, problems=problems_by_field(refused, request[LANG])
        )
    await flash(request, N_("Changes saved."))
    raise redirect(request, "consultation", consultation_id=consultation_id)


async def consultation_open(request: web.Request) -> web.StreamResponse:
    consultation_id = int_param(request, "consultation_id")
    await request.app[FACILITATION].open_now(request[STAFF], consultation_id)
    await flash(request, N_("The consultation is open: its invites work now."))
    raise redirect(request, "consultation", consultation_id=consultation_id)


async def consultation_close(request: web.Request) -> web.StreamResponse:
    consultation_id = int_param(request, "consultation_id")
    form = await form_of(request)
    if not checked(form, "confirm"):
        await flash(request, N_("Tick the box to confirm that no more answers will be taken."), "error")
        raise redirect(request, "consultation", consultation_id=consultation_id)
    staff: Staff = request[STAFF]
    closed = await request.app[FACILITATION].close(staff, consultation_id)
    final = await request.app[DESK].final_publication(closed, Actor(staff.id, staff.username))
    await flash(request, N_("The consultation is closed. Its invites no longer work."))
    if final is not None:
        await flash(request, N_("Its final publication (%(number)s) is made."), number=final.number or "")
    raise redirect(request, "consultation", consultation_id=consultation_id)


# ---- invites ----


def _links(request: web.Request, invite: Invite) -> dict[str, str | None]:
    config = request.app[CONFIG]
    username = config.bot_username()
    return {
        "telegram": f"https://t.me/{username}?start={invite.code}" if username else None,
        "sandbox": f"{config.sandbox_page}?start={invite.code}" if config.sandbox_page else None,
    }


async def invite_create(request: web.Request) -> web.StreamResponse:
    consultation_id = int_param(request, "consultation_id")
    form = await form_of(request)
    try:
        invite = await request.app[FACILITATION].add_invite(request[STAFF], consultation_id, text(form, "label", 200))
    except Refusals as refused:
        await flash_refusals(request, refused)
        raise redirect(request, "consultation", consultation_id=consultation_id) from None
    await flash(request, N_("Invite %(code)s created."), code=invite.code)
    raise redirect(request, "consultation", consultation_id=consultation_id)


async def invite_revoke(request: web.Request) -> web.StreamResponse:
    consultation_id = int_param(request, "consultation_id")
    invite = await request.app[FACILITATION].revoke_invite(
        request[STAFF], consultation_id, int_param(request, "invite_id")
    )
    await flash(request, N_("Invite %(code)s no longer works."), code=invite.code)
    raise redirect(request, "consultation", consultation_id=consultation_id)


async def _invite(request: web.Request) -> tuple[Consultation, Invite, str]:
    consultation, invite = await request.app[FACILITATION].invite(
        request[STAFF], int_param(request, "consultation_id"), int_param(request, "invite_id")
    )
    links = _links(request, invite)
    return consultation, invite, links["telegram"] or links["sandbox"] or invite.code


async def invite_qr_png(request: web.Request) -> web.StreamResponse:
    _, invite, link = await _invite(request)
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=10, border=4)
    return web.Response(
        body=buffer.getvalue(),
        content_type="image/png",
        headers={"Content-Disposition": f'inline; filename="invite-{invite.code}.png"'},
    )


async def invite_qr_svg(request: web.Request) -> web.StreamResponse:
    _, invite, link = await _invite(request)
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="svg", scale=10, border=4, title=invite.code)
    return web.Response(
        body=buffer.getvalue(),
        content_type="image/svg+xml",
        headers={"Content-Disposition": f'inline; filename="invite-{invite.code}.svg"'},
    )


async def invite_card(request: web.Request) -> web.StreamResponse:
    consultation, invite, link = await _invite(request)
    return await render(
        request,
        "invite_card.html",
        consultation=consultation,
        invite=invite,
        link=link,
        qr=url(request, "invite_qr_svg", consultation_id=consultation.id, invite_id=invite.id),
    )


# ---- reviewers ----


async def reviewer_grant(request: web.Request) -> web.StreamResponse:
    consultation_id = int_param(request, "consultation_id")
    form = await form_of(request)
    username = text(form, "username", 64)
    try:
        await request.app[FACILITATION].grant(request[STAFF], consultation_id, username)
    except Refusals as refused:
        await flash_refusals(request, refused)
        raise redirect(request, "consultation", consultation_id=consultation_id) from None
    await flash(request, N_("%(name)s can now read this consultation's publications."), name=username.strip().lower())
    raise redirect(request, "consultation", consultation_id=consultation_id)


async def reviewer_remove(request: web.Request) -> web.StreamResponse:
    consultation_id = int_param(request, "consultation_id")
    await request.app[FACILITATION].revoke_grant(request[STAFF], consultation_id, int_param(request, "grant_id"))
    await flash(request, N_("The reviewer can no longer read this consultation's publications."))
    raise redirect(request, "consultation", consultation_id=consultation_id)
