"""Every route of the dashboard × every kind of visitor, as the matrix below says: allowed, or refused. The test
walks the app's route table, so a route added without a line here (and a rule in dashboard.access) fails.
The same walk, done by every visitor, leaves every earlier audit entry as it was."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from aiohttp import web
from sqlalchemy import text

from dashboard import access
from tests.dashboard.conftest import Dash, Place, populate

ANYONE = {"anonymous", "admin", "facilitator", "reviewer"}
STAFF = {"admin", "facilitator", "reviewer"}
ADMIN = {"admin"}
FACILITATOR = {"facilitator"}
REVIEWER = {"reviewer"}

EXPECTED: dict[str, set[str]] = {
    "home": ANYONE,
    "static": ANYONE,
    "signin": ANYONE,
    "signin_post": ANYONE,
    "language": ANYONE,
    "signout": STAFF,
    "password": STAFF,
    "password_post": STAFF,
    "totp": ADMIN,
    "totp_post": ADMIN,
    "organisations": ADMIN,
    "organisation_create": ADMIN,
    "users": ADMIN,
    "user_create": ADMIN,
    "user_reset": ADMIN,
    "user_disable": ADMIN,
    "audit": ADMIN,
    "questionnaires": FACILITATOR,
    "questionnaire_upload": FACILITATOR,
    "questionnaire": FACILITATOR,
    "questionnaire_diagram": FACILITATOR,
    "consultations": FACILITATOR,
    "consultation_new": FACILITATOR,
    "consultation_create": FACILITATOR,
    "consultation": FACILITATOR,
    "consultation_edit": FACILITATOR,
    "consultation_change": FACILITATOR,
    "consultation_open": FACILITATOR,
    "consultation_close": FACILITATOR,
    "invite_create": FACILITATOR,
    "invite_revoke": FACILITATOR,
    "invite_qr_png": FACILITATOR,
    "invite_qr_svg": FACILITATOR,
    "invite_card": FACILITATOR,
    "reviewer_grant": FACILITATOR,
    "reviewer_remove": FACILITATOR,
    "progress": FACILITATOR,
    "answers": FACILITATOR,
    "answer_decide": FACILITATOR,
    "theme_save": FACILITATOR,
    "keywords": FACILITATOR,
    "publications": FACILITATOR,
    "publish": FACILITATOR,
    "publication_download": FACILITATOR,
    "results_send": FACILITATOR,
    "reviews": REVIEWER,
    "review": REVIEWER,
    "review_publication": REVIEWER,
    "review_download": REVIEWER,
}
VISITORS = {"anonymous": None, "reviewer": "reviewer-a", "admin": "root", "facilitator": "facilitator-a"}
"""In this order: the facilitator, who removes the reviewer's grant and closes the consultation, comes last."""
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def dashboard_routes(dash: Dash) -> list[tuple[str, str, str]]:
    """(name, method, path template) of every dashboard route but the automatic HEAD twins."""
    routes = []
    for route in dash.app.router.routes():
        if route.method == "HEAD":
            continue
        info = route.resource.get_info() if route.resource else {}
        template = info.get("formatter") or info.get("path") or (info.get("prefix", "") + "/{filename}")
        routes.append((route.name or "", route.method, str(template)))
    return routes


def concrete(template: str, place: Place) -> str:
    values = {
        "consultation_id": place.consultation_id,
        "invite_id": place.invite_id,
        "grant_id": place.grant_id,
        "user_id": place.victim_id,
        "flow_id": "roadmap_feedback",
        "version": 1,
        "filename": "dashboard.css",
        "answer_id": 1,
        "number": 1,
        "fmt": "csv",
    }
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)


def test_every_route_has_a_rule_and_a_line_in_the_matrix(dash: Dash) -> None:
    names = {name for name, _, _ in dashboard_routes(dash)}
    assert names - set(EXPECTED) == set(), "routes with no line in this test's matrix"
    assert set(EXPECTED) - names == set(), "the matrix names routes that do not exist"
    assert names - set(access.RULES) == set(), "routes with no access rule"
    for name in names:
        assert {a for a in access.RULES[name]} == EXPECTED[name], name


async def audit_rows(dash: Dash) -> list[tuple[object, ...]]:
    async with dash.database.engine.connect() as connection:
        result = await connection.execute(text("SELECT * FROM audit_log ORDER BY id"))
        return [tuple(row) for row in result.all()]


async def test_every_route_for_every_visitor(dash: Dash) -> None:
    places = await populate(dash)
    routes = dashboard_routes(dash)
    before = await audit_rows(dash)
    problems = []
    for visitor, username in VISITORS.items():
        for name, method, template in routes:
            if username is not None:
                signed = await dash.sign_in(username)
                assert signed.status == 303, (visitor, await signed.text())
            else:
                await dash.sign_out()
            path = concrete(template, places["A"])
            if method == "GET":
                response = await dash.client.get(path, allow_redirects=False)
            else:
                response = await dash.post(path, {"label": "x", "username": "x", "code": "1"}, token_from="/dashboard/")
            location = response.headers.get("Location", "")
            if response.status >= 500:
                problems.append(f"{visitor} {method} {path}: {response.status}")
            refused = response.status == 403 or (
                visitor == "anonymous" and response.status == 303 and location.startswith("/dashboard/signin?next=")
            )
            if refused == (visitor in EXPECTED[name]):
                problems.append(f"{visitor} {method} {path}: {response.status} {location}")
            if visitor == "anonymous" and visitor not in EXPECTED[name] and method == "GET":
                assert parse_qs(urlsplit(location).query)["next"] == [path], (path, location)
    assert not problems, "\n".join(problems)
    after = await audit_rows(dash)
    assert after[: len(before)] == before and len(after) > len(before)


async def test_a_signed_in_visitor_comes_back_to_the_page_asked_for(dash: Dash) -> None:
    response = await dash.client.get("/dashboard/admin/audit", allow_redirects=False)
    assert response.status == 303
    page = await dash.client.get(response.headers["Location"])
    assert 'name="next" value="/dashboard/admin/audit"' in await page.text()
    token = await dash.csrf(response.headers["Location"])
    signed = await dash.client.post(
        "/dashboard/signin",
        data={
            "csrf_token": token,
            "username": "root",
            "password": "correct horse battery staple",
            "next": "/dashboard/admin/audit",
        },
        allow_redirects=False,
    )
    assert signed.headers["Location"] == "/dashboard/admin/audit"
    token = await dash.csrf("/dashboard/signin")
    for elsewhere in ("https://evil.example/", "//evil.example/x", "/dashboard//evil.example", "/other"):
        await dash.sign_out()
        token = await dash.csrf("/dashboard/signin")
        signed = await dash.client.post(
            "/dashboard/signin",
            data={
                "csrf_token": token,
                "username": "root",
                "password": "correct horse battery staple",
                "next": elsewhere,
            },
            allow_redirects=False,
        )
        assert signed.headers["Location"] == "/dashboard/", elsewhere


def test_matrix_helpers_cover_every_placeholder(dash: Dash) -> None:
    place = Place(1, 2, 3, 4)
    for _, _, template in dashboard_routes(dash):
        assert "{" not in concrete(template, place), template
    assert isinstance(dash.app, web.Application)
