"""The product as `make run` serves it (the sandbox, the bot, and the dashboard at /dashboard/, one event loop,
one real TCP port), and Debian's Chromium driven by Playwright; a screenshot of every page open when a test fails.

Playwright cannot download browsers here; it drives /usr/bin/chromium (or BROWSER_EXECUTABLE) through
`executable_path`.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from config.settings import SANDBOX_TOKEN, Secrets
from consultations.staff import Role, Staff, StaffAccounts
from dashboard.app import init_app, mount
from dashboard.keys import ACCOUNTS, QUESTIONNAIRES
from sandbox import Emulator, create_sandbox_app
from storage.database import Database
from tests.dashboard.conftest import PASSWORD, cheap_hashing, library_copy, test_settings  # noqa: F401
from tests.e2e.conftest import Harness

CHROMIUM = os.environ.get("BROWSER_EXECUTABLE") or shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", Path(__file__).resolve().parents[2] / ".browser-screenshots"))

if not Path(CHROMIUM).exists():
    pytest.fail(
        f"Chromium is needed for the browser tests and is not at {CHROMIUM} (.ci/run installs it)", pytrace=False
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@dataclass
class Site:
    """The running product: its base URL, the bot behind the sandbox, the dashboard's accounts."""

    base: str
    harness: Harness
    accounts: StaffAccounts
    announced: list[str]
    users: dict[str, Staff] = field(default_factory=dict)

    def url(self, path: str = "") -> str:
        return self.base + path

    async def add_user(self, username: str, role: Role, organisation_id: int | None) -> Staff:
        staff, once = await self.accounts.create(username, role, organisation_id)
        staff = await self.accounts.change_password(staff, once, PASSWORD)
        self.users[username] = staff
        return staff


@pytest.fixture
async def site(sqlite_database: Database, secrets: Secrets) -> AsyncIterator[Site]:
    announced: list[str] = []
    library = library_copy()
    dashboard = init_app(
        test_settings(TELEGRAM_BOT_USERNAME=""),  # the sandbox's bot, as in `make run`
        sqlite_database,
        library,
        announce=announced.append,
        run_schedule_task=False,
    )
    emulator = Emulator(token=SANDBOX_TOKEN)
    app = create_sandbox_app(emulator)
    mount(app, dashboard)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    harness = Harness(emulator, server, sqlite_database, secrets, library=dashboard[QUESTIONNAIRES].library)
    await harness.start_bot()
    try:
        yield Site(f"http://127.0.0.1:{server.port}", harness, dashboard[ACCOUNTS], announced)
    finally:
        await harness.stop_bot()
        await server.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def context(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[BrowserContext]:
    """A browser profile of its own; on failure, a screenshot of each of its pages in .browser-screenshots/."""
    ctx = await browser.new_context(locale="en-GB", viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    ctx.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    ctx.on("weberror", lambda error: problems.append(str(error.error)))
    ctx.problems = problems  # type: ignore[attr-defined]
    try:
        yield ctx
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            os.makedirs(SCREENSHOTS, exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
            for index, page in enumerate(ctx.pages):
                path = SCREENSHOTS / f"{name}-{index}.png"
                await page.screenshot(path=str(path), full_page=True)
                print(f"screenshot: {path}")
        await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


def console_problems(context: BrowserContext) -> list[str]:
    """Errors the pages logged (a Content-Security-Policy violation is one)."""
    return list(getattr(context, "problems", []))


async def sign_in(page: Page, site: Site, username: str, password: str = PASSWORD) -> None:
    """Sign in as `username` (after leaving any session this browser has)."""
    await page.context.clear_cookies()
    await page.goto(site.url("/dashboard/signin"))
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_load_state()
