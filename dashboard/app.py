"""The dashboard application: `init_app` builds it (services, templates, sessions, middlewares, routes), and
`mount` / `serve_alone` put it at /dashboard/ on the sandbox's or the webhook's server, or on its own.

Usage (what `python -m bot run` does):
    dashboard = init_app(settings, database, library)
    sandbox_app.add_subapp("/dashboard/", dashboard)      # or mount(parent, dashboard)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import session_middleware

from config.settings import SANDBOX_BOT_USERNAME, Settings
from consultations.facilitation import Facilitation
from consultations.questionnaires import Questionnaires
from consultations.schedule import run_schedule
from consultations.staff import FIRST_ADMIN, StaffAccounts
from dashboard import middlewares
from dashboard.keys import ACCOUNTS, CONFIG, DESK, FACILITATION, PREFIX, QUESTIONNAIRES, DashboardConfig
from dashboard.routes import setup_routes
from dashboard.security import cookie_storage
from flows.describe import describe
from storage.privacy import KeyRing
from summaries.desk import Desk

if TYPE_CHECKING:
    from flows.loader import FlowLibrary
    from storage.database import Database

log = logging.getLogger(__name__)

# aiohttp-session keeps its storage under string request keys, which aiohttp 3.14 warns about on every request.
warnings.filterwarnings("ignore", category=web.NotAppKeyWarning, module="aiohttp_session")

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def init_app(
    settings: Settings,
    database: Database,
    library: FlowLibrary | None = None,
    *,
    bot_username: Callable[[], str | None] | None = None,
    announce: Callable[[str], None] = print,
    run_schedule_task: bool = True,
    clock: Callable[[], float] = time.time,
) -> web.Application:
    """The dashboard as an aiohttp application (routes relative to its mount point, /dashboard/).

    `library` is the flow library the bot runs (uploaded questionnaires are added to it); `bot_username` names
    the bot for invite links when settings do not; `announce` prints the first admin's one-time password.
    """
    secrets = settings.secrets()
    sandbox_page = f"http://{settings.sandbox_host}:{settings.sandbox_port}/" if settings.sandbox else None
    known = settings.telegram_bot_username or (SANDBOX_BOT_USERNAME if settings.sandbox else None)

    def username() -> str | None:
        return (known or (bot_username() if bot_username else None) or "").lstrip("@") or None

    config = DashboardConfig(
        production=settings.production,
        idle=timedelta(minutes=settings.dashboard_idle_minutes),
        bot_username=username,
        sandbox_page=sandbox_page,
        announce=announce,
        run_schedule=run_schedule_task,
        clock=clock,
    )
    secret = settings.dashboard_secret.get_secret_value() if settings.dashboard_secret else None
    storage = cookie_storage(secret, secrets.pepper, production=settings.production)
    app = web.Application(
        middlewares=[
            middlewares.body_limit,
            middlewares.errors,
            session_middleware(storage),
            middlewares.authenticate,
            middlewares.authorise,
            middlewares.csrf,
        ],
        client_max_size=middlewares.MAX_BODY,
    )
    questionnaires = Questionnaires(database, library)
    app[CONFIG] = config
    app[ACCOUNTS] = StaffAccounts.with_pepper(database, secrets.pepper)
    app[QUESTIONNAIRES] = questionnaires
    app[FACILITATION] = Facilitation(database, questionnaires)
    app[DESK] = Desk(
        database, KeyRing(secrets.keys), lambda flow_id, version: describe(questionnaires.library.get(flow_id, version))
    )
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    setup_routes(app)
    app.cleanup_ctx.append(_first_admin)
    app.cleanup_ctx.append(_background)
    return app


async def _first_admin(app: web.Application) -> AsyncIterator[None]:
    """On first start, the admin account, with a one-time password printed once in the terminal (never logged)."""
    password = await app[ACCOUNTS].ensure_first_admin()
    if password is not None:
        app[CONFIG].announce(
            "\nDashboard: the first admin account was created.\n"
            f"  Username: {FIRST_ADMIN}\n"
            f"  One-time password: {password}\n"
            "  Sign in and choose your own password now; this one is shown only once.\n"
            "  (Lost it? `python -m bot users reset admin`.)\n"
        )
    yield


async def _background(app: web.Application) -> AsyncIterator[None]:
    """Uploaded questionnaires loaded, then the schedule (opening and closing, with the final publication of
    what closes) every minute while serving."""
    await app[QUESTIONNAIRES].refresh()
    task = None
    if app[CONFIG].run_schedule:
        task = asyncio.create_task(
            run_schedule(app[ACCOUNTS].database, app[QUESTIONNAIRES], after_close=app[DESK].final_publications)
        )
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def mount(parent: web.Application, dashboard: web.Application) -> None:
    """Serve the dashboard at /dashboard/ on another app's server (the sandbox's, or the webhook's)."""
    parent.router.add_get(PREFIX, _to_dashboard)  # before the sub-app, which would also match /dashboard
    parent.add_subapp(PREFIX, dashboard)


def standalone(dashboard: web.Application) -> web.Application:
    """An app of its own around the dashboard (when the bot polls Telegram): / leads to /dashboard/."""
    root = web.Application()
    mount(root, dashboard)
    root.router.add_get("/", _to_dashboard)
    return root


async def _to_dashboard(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(PREFIX + "/")
