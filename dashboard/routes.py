"""Every route of the dashboard, named; `dashboard.access.RULES` holds who may use each name."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from dashboard.views import admin, auth, desk, facilitators, reviewers

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONSULTATION = "/consultations/{consultation_id}"
INVITE = CONSULTATION + "/invites/{invite_id}"
PUBLICATION = CONSULTATION + "/publications/{number}"
REVIEW = "/reviews/{consultation_id}"


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/", auth.home, name="home")
    r.add_static("/static/", STATIC_DIR, name="static", append_version=True)
    r.add_get("/signin", auth.signin, name="signin")
    r.add_post("/signin", auth.signin_post, name="signin_post")
    r.add_post("/signout", auth.signout, name="signout")
    r.add_post("/language", auth.language, name="language")
    r.add_get("/password", auth.password, name="password")
    r.add_post("/password", auth.password_post, name="password_post")
    r.add_get("/totp", auth.totp, name="totp")
    r.add_post("/totp", auth.totp_post, name="totp_post")

    r.add_get("/admin/organisations", admin.organisations, name="organisations")
    r.add_post("/admin/organisations", admin.organisation_create, name="organisation_create")
    r.add_get("/admin/users", admin.users, name="users")
    r.add_post("/admin/users", admin.user_create, name="user_create")
    r.add_post("/admin/users/{user_id}/reset", admin.user_reset, name="user_reset")
    r.add_post("/admin/users/{user_id}/disable", admin.user_disable, name="user_disable")
    r.add_get("/admin/audit", admin.audit, name="audit")

    r.add_get("/questionnaires", facilitators.questionnaires, name="questionnaires")
    r.add_post("/questionnaires", facilitators.questionnaire_upload, name="questionnaire_upload")
    r.add_get("/questionnaires/{flow_id}/{version}", facilitators.questionnaire, name="questionnaire")
    r.add_get(
        "/questionnaires/{flow_id}/{version}/diagram.svg",
        facilitators.questionnaire_diagram,
        name="questionnaire_diagram",
    )
    r.add_get("/consultations", facilitators.consultations, name="consultations")
    r.add_get("/consultations/new", facilitators.consultation_new, name="consultation_new")
    r.add_post("/consultations/new", facilitators.consultation_create, name="consultation_create")
    r.add_get(CONSULTATION, facilitators.consultation, name="consultation")
    r.add_get(CONSULTATION + "/edit", facilitators.consultation_edit, name="consultation_edit")
    r.add_post(CONSULTATION + "/edit", facilitators.consultation_change, name="consultation_change")
    r.add_post(CONSULTATION + "/open", facilitators.consultation_open, name="consultation_open")
    r.add_post(CONSULTATION + "/close", facilitators.consultation_close, name="consultation_close")
    r.add_post(CONSULTATION + "/invites", facilitators.invite_create, name="invite_create")
    r.add_post(INVITE + "/revoke", facilitators.invite_revoke, name="invite_revoke")
    r.add_get(INVITE + "/qr.png", facilitators.invite_qr_png, name="invite_qr_png")
    r.add_get(INVITE + "/qr.svg", facilitators.invite_qr_svg, name="invite_qr_svg")
    r.add_get(INVITE + "/card", facilitators.invite_card, name="invite_card")
    r.add_post(CONSULTATION + "/reviewers", facilitators.reviewer_grant, name="reviewer_grant")
    r.add_post(CONSULTATION + "/reviewers/{grant_id}/remove", facilitators.reviewer_remove, name="reviewer_remove")

    r.add_get(CONSULTATION + "/progress", desk.progress, name="progress")
    r.add_get(CONSULTATION + "/answers", desk.answers, name="answers")
    r.add_post(CONSULTATION + "/answers/{answer_id}", desk.answer_decide, name="answer_decide")
    r.add_post(CONSULTATION + "/themes", desk.theme_save, name="theme_save")
    r.add_get(CONSULTATION + "/keywords", desk.keywords, name="keywords")
    r.add_get(CONSULTATION + "/publications", desk.publications, name="publications")
    r.add_post(CONSULTATION + "/publications", desk.publish, name="publish")
    r.add_get(PUBLICATION + "/{fmt}", desk.publication_download, name="publication_download")
    r.add_post(CONSULTATION + "/results-message", desk.results_send, name="results_send")

    r.add_get("/reviews", reviewers.reviews, name="reviews")
    r.add_get(REVIEW, reviewers.review, name="review")
    r.add_get(REVIEW + "/publications/{number}", reviewers.review_publication, name="review_publication")
    r.add_get(REVIEW + "/publications/{number}/{fmt}", reviewers.review_download, name="review_download")
