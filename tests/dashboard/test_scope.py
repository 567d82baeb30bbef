"""A facilitator or reviewer of organisation A reaches nothing of organisation B by guessing ids: every route with
an id answers 404 for B's ids (the same as for ids that do not exist), and nothing of B changes."""

from __future__ import annotations

from consultations.facilitation import ConsultationForm
from dashboard.keys import FACILITATION, QUESTIONNAIRES
from tests.dashboard.conftest import Dash, populate
from tests.dashboard.test_access import concrete, dashboard_routes


async def test_facilitator_of_a_gets_nothing_of_b(dash: Dash) -> None:
    places = await populate(dash)
    b = places["B"]
    routes = [
        (n, m, t) for n, m, t in dashboard_routes(dash) if "{consultation_id}" in t and not n.startswith("review")
    ]
    assert len(routes) >= 12
    await dash.sign_in("facilitator-a")
    for name, method, template in routes:
        path = concrete(template, b)
        if method == "GET":
            response = await dash.client.get(path, allow_redirects=False)
        else:
            response = await dash.post(
                path,
                {"label": "x", "username": "reviewer-a", "confirm": "on", "title": "Mine now"},
                token_from="/dashboard/",
            )
        assert response.status == 404, (name, path, response.status)
        body = await response.text()
        assert "Consultation of B" not in body and "Radio" not in body
    b_consultation = await dash.app[FACILITATION].consultation(dash.users["facilitator-b"], b.consultation_id)
    assert b_consultation.status == "open" and b_consultation.title == "Consultation of B"
    assert [
        i.revoked_at for i in await dash.app[FACILITATION].invites(dash.users["facilitator-b"], b.consultation_id)
    ] == [None, None]
    listing = await dash.client.get("/dashboard/consultations")
    assert "Consultation of A" in await listing.text() and "Consultation of B" not in await listing.text()
    for missing in ("/dashboard/consultations/999999", "/dashboard/consultations/abc", "/dashboard/consultations/-1"):
        assert (await dash.client.get(missing)).status == 404


async def test_reviewer_of_a_reads_only_what_was_granted(dash: Dash) -> None:
    places = await populate(dash)
    await dash.sign_in("reviewer-a")
    assert (await dash.client.get(f"/dashboard/reviews/{places['A'].consultation_id}")).status == 200
    assert (await dash.client.get(f"/dashboard/reviews/{places['B'].consultation_id}")).status == 404
    listing = await (await dash.client.get("/dashboard/reviews")).text()
    assert "Consultation of A" in listing and "Consultation of B" not in listing
    # a reviewer is never shown the facilitator's pages, even of a consultation granted to them
    assert (await dash.client.get(f"/dashboard/consultations/{places['A'].consultation_id}")).status == 403


async def test_uploaded_questionnaires_stay_with_their_organisation(dash: Dash) -> None:
    library = dash.app[QUESTIONNAIRES]
    form = (
        b"| survey |\n|        | type | name | label |\n|        | text | idea | What should change? |\n"
        b"| settings |\n|          | form_id | version |\n|          | plan | 1 |\n"
    )
    report, document = library.check_upload("plan.md", form, audience="cso", skip_unsupported=False)
    assert report.ok and document is not None
    a = dash.users["facilitator-a"]
    stored = await library.store_upload(a.organisation_id or 0, report, document, actor_id=a.id, actor=a.username)
    path = f"/dashboard/questionnaires/{stored.flow.id}/{stored.flow.version}"
    await dash.sign_in("facilitator-b")
    assert (await dash.client.get(path)).status == 404
    assert (await dash.client.get(path + "/diagram.svg")).status == 404
    assert stored.flow.id not in await (await dash.client.get("/dashboard/questionnaires")).text()
    with_a_questionnaire = ConsultationForm(
        title="Borrowed", questionnaire=stored.key, country="KE", languages=list(stored.flow.languages)
    )
    create = await dash.post(
        "/dashboard/consultations/new",
        {
            "title": with_a_questionnaire.title,
            "questionnaire": stored.key,
            "country": "KE",
            "kind": "roadmap",
            "languages": "en",
            "min_cell": "10",
            "retention_days": "180",
        },
        token_from="/dashboard/consultations/new",
    )
    assert create.status == 200 and "Choose a questionnaire." in await create.text()
    await dash.sign_in("facilitator-a")
    assert (await dash.client.get(path)).status == 200
