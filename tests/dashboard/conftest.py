"""Fixtures: the dashboard on a migrated database, served at /dashboard/, and staff accounts of two
organisations; helpers that sign in and post forms the way a browser does (with the CSRF token)."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher, profiles

import consultations.staff as staff_module
from config.settings import Settings
from consultations.staff import Role, Staff, StaffAccounts
from dashboard.app import init_app, standalone
from dashboard.keys import ACCOUNTS
from flows.loader import FlowLibrary, shipped_library
from storage.database import Database

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

Client = TestClient[web.Request, web.Application]


def test_settings(**values: str) -> Settings:
    base = {
        "VOICES_PEPPER": "test-pepper-for-the-dashboard-0123456789",
        "VOICES_DATA_KEYS": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
        "TELEGRAM_BOT_USERNAME": "voices87_test_bot",
    }
    return Settings(_env_file=None, **{**base, **values})  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def cheap_hashing() -> Iterator[None]:
    """argon2 with its cheapest parameters: the tests sign in hundreds of times."""
    saved = staff_module.HASHER
    staff_module.HASHER = PasswordHasher.from_parameters(profiles.CHEAPEST)
    yield
    staff_module.HASHER = saved


def library_copy() -> FlowLibrary:
    """A library of its own per test: uploads must not leak into the shared shipped one."""
    return FlowLibrary(list(shipped_library().flows()))


@dataclass
class Dash:
    """The dashboard under test: its client, its app, the accounts of organisations A and B."""

    client: Client
    app: web.Application
    database: Database
    announced: list[str]
    clock: list[float]
    """Seconds added to the real time, as the dashboard sees it (session expiry)."""
    users: dict[str, Staff] = field(default_factory=dict)
    organisations: dict[str, int] = field(default_factory=dict)

    @property
    def accounts(self) -> StaffAccounts:
        return self.app[ACCOUNTS]

    async def csrf(self, path: str = "/dashboard/signin") -> str:
        response = await self.client.get(path)
        found = CSRF.search(await response.text())
        assert found is not None, f"no CSRF token on {path}"
        return found.group(1)

    async def post(
        self, path: str, data: dict[str, Any] | None = None, *, token_from: str | None = None, **kwargs: Any
    ) -> Any:
        """POST a form with the CSRF token of the page it is on (by default, the page at `path` or the start)."""
        token = await self.csrf(token_from or "/dashboard/signin")
        form = {"csrf_token": token, **(data or {})}
        return await self.client.post(path, data=form, allow_redirects=False, **kwargs)

    async def sign_in(self, username: str, password: str = PASSWORD, code: str = "") -> Any:
        self.client.session.cookie_jar.clear()
        return await self.post("/dashboard/signin", {"username": username, "password": password, "code": code})

    async def sign_out(self) -> None:
        self.client.session.cookie_jar.clear()

    async def add_user(self, username: str, role: Role, organisation: str | None) -> Staff:
        organisation_id = self.organisations[organisation] if organisation else None
        staff, once = await self.accounts.create(username, role, organisation_id)
        staff = await self.accounts.change_password(staff, once, PASSWORD)
        self.users[username] = staff
        return staff


async def open_dash(database: Database, **settings: str) -> AsyncIterator[Dash]:
    announced: list[str] = []
    offset = [0.0]
    app = init_app(
        test_settings(**settings),
        database,
        library_copy(),
        announce=announced.append,
        run_schedule_task=False,
        clock=lambda: time.time() + offset[0],
    )
    server = TestServer(standalone(app), host="127.0.0.1")
    client: Client = TestClient(server)
    await client.start_server()
    dash = Dash(client, app, database, announced, offset)
    try:
        for name in ("A", "B"):
            organisation = await dash.accounts.create_organisation(f"Organisation {name}")
            assert organisation.id is not None
            dash.organisations[name] = organisation.id
        await dash.add_user("root", Role.ADMIN, None)
        for name in ("A", "B"):
            await dash.add_user(f"facilitator-{name.lower()}", Role.FACILITATOR, name)
            await dash.add_user(f"reviewer-{name.lower()}", Role.REVIEWER, name)
        yield dash
    finally:
        await client.close()


@pytest.fixture
async def dash(sqlite_database: Database) -> AsyncIterator[Dash]:
    async for d in open_dash(sqlite_database):
        yield d


@pytest.fixture
async def any_dash(database: Database) -> AsyncIterator[Dash]:
    """The dashboard on SQLite and on PostgreSQL."""
    async for d in open_dash(database):
        yield d


@dataclass
class Place:
    """One organisation's things, by id: what a guess at another organisation's ids would aim at."""

    consultation_id: int
    invite_id: int
    grant_id: int
    victim_id: int


async def populate(dash: Dash) -> dict[str, Place]:
    """For A and B: a consultation (shipped questionnaire) with a second invite, its reviewer granted, and a
    spare facilitator account (for reset and disable)."""
    from consultations.facilitation import ConsultationForm
    from dashboard.keys import FACILITATION

    facilitation = dash.app[FACILITATION]
    places = {}
    for name in ("A", "B"):
        facilitator = dash.users[f"facilitator-{name.lower()}"]
        consultation = await facilitation.create(
            facilitator,
            ConsultationForm(
                title=f"Consultation of {name}",
                questionnaire="roadmap_feedback:2",
                country="KE",
                languages=["en", "fr"],
            ),
        )
        assert consultation.id is not None
        invite = await facilitation.add_invite(facilitator, consultation.id, "Radio")
        grant = await facilitation.grant(facilitator, consultation.id, f"reviewer-{name.lower()}")
        victim = await dash.add_user(f"spare-{name.lower()}", Role.FACILITATOR, name)
        assert invite.id is not None and grant.id is not None
        places[name] = Place(consultation.id, invite.id, grant.id, victim.id)
    return places
