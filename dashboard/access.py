"""Who may use which route: one rule per route name, checked by a middleware before any view runs. A route with
no rule is refused (and the route-table test fails), so access is never decided by omission."""

from __future__ import annotations

from consultations.staff import Role

ANONYMOUS = "anonymous"
ADMIN = Role.ADMIN.value
FACILITATOR = Role.FACILITATOR.value
REVIEWER = Role.REVIEWER.value

EVERYONE = frozenset({ANONYMOUS, ADMIN, FACILITATOR, REVIEWER})
STAFF = frozenset({ADMIN, FACILITATOR, REVIEWER})
ADMINS = frozenset({ADMIN})
FACILITATORS = frozenset({FACILITATOR})
REVIEWERS = frozenset({REVIEWER})

RULES: dict[str, frozenset[str]] = {
    # signing in and out, language, own password
    "home": EVERYONE,
    "static": EVERYONE,
    "signin": EVERYONE,
    "signin_post": EVERYONE,
    "language": EVERYONE,
    "signout": STAFF,
    "password": STAFF,
    "password_post": STAFF,
    "totp": ADMINS,
    "totp_post": ADMINS,
    # administration
    "organisations": ADMINS,
    "organisation_create": ADMINS,
    "users": ADMINS,
    "user_create": ADMINS,
    "user_reset": ADMINS,
    "user_disable": ADMINS,
    "audit": ADMINS,
    # facilitators: questionnaires, consultations, invites, reviewer access
    "questionnaires": FACILITATORS,
    "questionnaire_upload": FACILITATORS,
    "questionnaire": FACILITATORS,
    "questionnaire_diagram": FACILITATORS,
    "consultations": FACILITATORS,
    "consultation_new": FACILITATORS,
    "consultation_create": FACILITATORS,
    "consultation": FACILITATORS,
    "consultation_edit": FACILITATORS,
    "consultation_change": FACILITATORS,
    "consultation_open": FACILITATORS,
    "consultation_close": FACILITATORS,
    "invite_create": FACILITATORS,
    "invite_revoke": FACILITATORS,
    "invite_qr_png": FACILITATORS,
    "invite_qr_svg": FACILITATORS,
    "invite_card": FACILITATORS,
    "reviewer_grant": FACILITATORS,
    "reviewer_remove": FACILITATORS,
    # facilitators: live progress, written answers, publications, the results message
    "progress": FACILITATORS,
    "answers": FACILITATORS,
    "answer_decide": FACILITATORS,
    "theme_save": FACILITATORS,
    "keywords": FACILITATORS,
    "publications": FACILITATORS,
    "publish": FACILITATORS,
    "publication_download": FACILITATORS,
    "results_send": FACILITATORS,
    # reviewers
    "reviews": REVIEWERS,
    "review": REVIEWERS,
    "review_publication": REVIEWERS,
    "review_download": REVIEWERS,
}

OPEN_BEFORE_PASSWORD_CHANGE = frozenset(
    {"home", "static", "language", "signout", "password", "password_post", "signin"}
)
"""The only routes open to someone who must first replace a one-time password."""


def home_route(role: str | None) -> str:
    """Where each kind of user starts."""
    return {ADMIN: "users", FACILITATOR: "consultations", REVIEWER: "reviews"}.get(role or "", "signin")
