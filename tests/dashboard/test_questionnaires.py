"""Uploading an XLSForm in the dashboard: the importer's report row by row, the questionnaire kept for the
organisation (its own id, the next version), its picture, and a consultation on it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from aiohttp import FormData

from dashboard.keys import QUESTIONNAIRES
from tests.dashboard.conftest import Dash
from tests.dashboard.xlsforms import with_geopoint, xlsx

UPLOAD = "/dashboard/questionnaires"


async def upload(dash: Dash, content: bytes, name: str = "plan.xlsx", **fields: str) -> object:
    token = await dash.csrf(UPLOAD)
    data = FormData()
    data.add_field("csrf_token", token)
    for key, value in fields.items():
        data.add_field(key, value)
    data.add_field(
        "form", content, filename=name, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return await dash.client.post(UPLOAD, data=data, allow_redirects=False)


async def test_an_xlsform_is_imported_with_its_picture(dash: Dash) -> None:
    await dash.sign_in("facilitator-a")
    response = await upload(dash, xlsx())
    assert response.status == 303, await response.text()  # type: ignore[attr-defined]
    location = response.headers["Location"]  # type: ignore[attr-defined]
    organisation = dash.organisations["A"]
    assert location == f"/dashboard/questionnaires/org{organisation}_plan_survey/3"  # the form's own version
    page = await (await dash.client.get(location)).text()
    assert "Every row was imported." in page and "Have you heard of the plan?" in page
    picture = await dash.client.get(location + "/diagram.svg?language=fr")
    svg = ET.fromstring(await picture.text())
    assert picture.content_type == "image/svg+xml" and svg.tag.endswith("svg")
    texts = " ".join(t.text or "" for t in svg.iter() if t.tag.endswith("text"))
    assert "Connaissez-vous le plan ?" in texts and "only when ${heard} = 'yes'" in texts
    library = dash.app[QUESTIONNAIRES].library
    assert library.has(f"org{organisation}_plan_survey", 3)
    again = await upload(dash, xlsx())
    assert again.headers["Location"].endswith("_plan_survey/4")  # type: ignore[attr-defined]
    listing = await (await dash.client.get(UPLOAD)).text()
    assert listing.count("plan.xlsx") == 2 and "roadmap_feedback v2" in listing
    new = await (
        await dash.client.get(f"/dashboard/consultations/new?questionnaire=org{organisation}_plan_survey:3")
    ).text()
    assert f'value="org{organisation}_plan_survey:3" selected' in new


async def test_a_refused_row_is_reported_and_nothing_is_kept(dash: Dash) -> None:
    await dash.sign_in("facilitator-a")
    response = await upload(dash, with_geopoint())
    page = await response.text()  # type: ignore[attr-defined]
    assert response.status == 200 and "The form was not imported" in page  # type: ignore[attr-defined]
    assert "<td>5</td>" in page and "geopoint" in page and "not possible in a Telegram conversation" in page
    assert (
        await dash.app[QUESTIONNAIRES].available(dash.organisations["A"])
        == await dash.app[QUESTIONNAIRES].available(None) + []
        or "plan_survey" not in await (await dash.client.get(UPLOAD)).text()
    )
    skipped = await upload(dash, with_geopoint(), skip_unsupported="on", audience="survivor")
    assert skipped.status == 303  # type: ignore[attr-defined]
    page = await (await dash.client.get(skipped.headers["Location"])).text()  # type: ignore[attr-defined]
    assert "Rows left out" in page and "geopoint" in page and "survivors and communities" in page


async def test_files_that_are_not_xlsforms(dash: Dash) -> None:
    await dash.sign_in("facilitator-a")
    for content, name, expected in (
        (b"", "empty.xlsx", "the file is empty"),
        (b"MZ\x90\x00not a spreadsheet", "plan.xlsx", "cannot read this form"),
        (b"hello", "plan.exe", "an XLSForm is a"),
    ):
        response = await upload(dash, content, name)
        page = await response.text()  # type: ignore[attr-defined]
        assert response.status == 200 and expected in page, (name, page[-2000:])  # type: ignore[attr-defined]
        assert "Traceback" not in page
