"""What a facilitator sets up in the dashboard is what participants meet in the chat: a consultation on an
uploaded XLSForm runs in the bot at once; /help lists the help contacts entered in the dashboard; a consultation
scheduled for later does not open yet, then opens by itself; the results message sent from the dashboard reaches
the person who asked for it, through the running bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestServer

from bot.telegram import outbox_sender
from config.settings import SANDBOX_TOKEN, Secrets
from consultations.schedule import apply_schedule
from consultations.staff import Role
from dashboard.keys import FACILITATION, QUESTIONNAIRES
from sandbox import Emulator, create_sandbox_app
from sandbox.faults import ServerError
from storage import privacy_ops
from storage import repository as repo
from storage.database import Database
from tests.dashboard.conftest import Dash, open_dash
from tests.dashboard.xlsforms import xlsx
from tests.e2e.conftest import Harness
from tests.summaries.seed import seed


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


async def test_the_dashboards_results_message_is_queued_and_the_running_bot_delivers_it(
    pair: tuple[Harness, Dash],
) -> None:
    """The button answers at once (nothing is sent from the page); the bot's outbox sender delivers the message,
    through a Bot API failing for a while, once."""
    h, dash = pair
    await dash.sign_in("facilitator-a")
    code = await create(dash, "roadmap_feedback:2", ["en"])
    await seed(h.database, code, people=10, create=False)  # enough respondents for a publication
    person = h.user("Asker")
    [consent] = await h.send(person, f"/start {code}")
    msg = await h.agree(person, consent)
    for _ in range(6):
        [msg] = await h.press(person, msg, "Skip")
    await h.press(person, msg, "Tell me when the results are out")
    async with h.database.reader() as session:
        consultation = await repo.consultation_by_code(session, code)
    assert consultation is not None
    base = f"/dashboard/consultations/{consultation.id}"
    made = await dash.post(base + "/publications", token_from=base + "/publications")
    assert made.status == 303

    h.emulator.faults.fail("sendMessage", ServerError(503), for_seconds=2)
    queued = await dash.post(base + "/results-message", {"confirm": "on"}, token_from=base + "/publications")
    assert queued.status == 303
    page = await (await dash.client.get(base + "/publications")).text()
    assert "The results message is queued, once, for everyone who asked for it." in page
    async with h.database.reader() as session:
        assert await privacy_ops.opt_in_count(session, consultation.id or 0) == 0
    [notice] = await h.emulator.wait_for_bot_messages(person.id, 1, timeout=30)
    assert notice.text and "/results" in notice.text and "Plan check" in notice.text and notice.protect_content
    assert any(f.method.lower() == "sendmessage" for f in h.emulator.faults.injected), "the fault did not apply"
    await dash.post(base + "/results-message", {"confirm": "on"}, token_from=base + "/publications")
    assert h.application is not None
    await outbox_sender(h.application).drain()
    assert [m.text for m in h.emulator.bot_messages(person.id)].count(notice.text) == 1  # once
