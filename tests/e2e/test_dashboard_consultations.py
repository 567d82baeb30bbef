"""What a facilitator sets up in the dashboard is what participants meet in the chat: a consultation on an
uploaded XLSForm runs in the bot at once; /help lists the help contacts entered in the dashboard; a consultation
scheduled for later does not open yet, then opens by itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestServer

from config.settings import SANDBOX_TOKEN, Secrets
from consultations.schedule import apply_schedule
from consultations.staff import Role
from dashboard.keys import FACILITATION, QUESTIONNAIRES
from sandbox import Emulator, create_sandbox_app
from storage import repository as repo
from storage.database import Database
from tests.dashboard.conftest import Dash, open_dash
from tests.dashboard.xlsforms import xlsx
from tests.e2e.conftest import Harness


@pytest.fixture
async def pair(sqlite_database: Database, secrets: Secrets) -> AsyncIterator[tuple[Harness, Dash]]:
    """The bot (through the emulator) and the dashboard, on one database and one flow library, as in `run`."""
    async for dash in open_dash(sqlite_database):
        emulator = Emulator(token=SANDBOX_TOKEN)
        server = TestServer(create_sandbox_app(emulator), host="127.0.0.1")
        await server.start_server()
        harness = Harness(emulator, server, sqlite_database, secrets, library=dash.app[QUESTIONNAIRES].library)
        await harness.start_bot()
        try:
            yield harness, dash
        finally:
            await harness.stop_bot()
            await server.close()


async def create(dash: Dash, questionnaire: str, languages: list[str], **extra: str) -> str:
    token = await dash.csrf("/dashboard/consultations/new")
    fields = [
        ("csrf_token", token),
        ("title", "Plan check"),
        ("questionnaire", questionnaire),
        ("country", "KE"),
        ("kind", "progress_report"),
        ("min_cell", "10"),
        ("retention_days", "90"),
        *[("languages", x) for x in languages],
        *extra.items(),
    ]
    response = await dash.client.post("/dashboard/consultations/new", data=fields, allow_redirects=False)
    assert response.status == 303, await response.text()
    consultation_id = int(response.headers["Location"].rsplit("/", 1)[1])
    found = await dash.app[FACILITATION].consultation(dash.users["facilitator-a"], consultation_id)
    return found.code


async def test_a_consultation_on_an_uploaded_xlsform_runs_in_the_chat(pair: tuple[Harness, Dash]) -> None:
    h, dash = pair
    await dash.sign_in("facilitator-a")
    data = FormData()
    data.add_field("csrf_token", await dash.csrf("/dashboard/questionnaires"))
    data.add_field("form", xlsx(), filename="plan.xlsx")
    uploaded = await dash.client.post("/dashboard/questionnaires", data=data, allow_redirects=False)
    key = ":".join(uploaded.headers["Location"].rsplit("/", 2)[1:])
    code = await create(
        dash, key, ["fr"], **{"help-0-name": "Ligne d'écoute (exemple)", "help-0-phone": "+254 20 2222222"}
    )
    user = h.user(language="fr")
    [consent] = await h.send(user, f"/start {code.lower()}")
    assert consent.text is not None
    [first] = await h.press(user, consent, str(consent.buttons[0]["text"]))
    assert first.text is not None and "Connaissez-vous le plan ?" in first.text
    [commands, contacts] = await h.send(user, "/help", expect=2)
    assert (
        contacts.text is not None and "Ligne d'écoute (exemple)" in contacts.text and "+254 20 2222222" in contacts.text
    )


async def test_a_scheduled_consultation_opens_by_itself(pair: tuple[Harness, Dash]) -> None:
    h, dash = pair
    await dash.sign_in("facilitator-a")
    opens = repo.now() + timedelta(hours=5)
    code = await create(dash, "roadmap_feedback:2", ["en"], opens_at=opens.strftime("%Y-%m-%dT%H:%M"))
    user = h.user()
    [refused] = await h.send(user, f"/start {code}")
    assert refused.text is not None and refused.text.startswith("This invite link is not valid")
    await apply_schedule(h.database, opens + timedelta(minutes=1))
    [consent] = await h.send(user, f"/start {code}")
    assert consent.text is not None and "Do you agree" in consent.text
    assert Role.FACILITATOR.value == dash.users["facilitator-a"].role.value
