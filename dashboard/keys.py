"""Typed keys for what the dashboard shares: services and configuration on the app, the staff member and the
language on each request."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from aiohttp import web

from consultations.facilitation import Facilitation
from consultations.questionnaires import Questionnaires
from consultations.staff import Staff, StaffAccounts
from summaries.desk import Desk

PREFIX = "/dashboard"
"""Where the dashboard lives in every mode (sandbox, webhook server, its own server)."""


@dataclass(frozen=True)
class DashboardConfig:
    production: bool
    idle: timedelta
    longest: timedelta = timedelta(hours=12)
    bot_username: Callable[[], str | None] = lambda: None
    sandbox_page: str | None = None
    """The sandbox chat page (development), to try an invite there."""
    announce: Callable[[str], None] = field(default=print)
    """Where the first admin's one-time password is printed (the terminal)."""
    run_schedule: bool = True
    clock: Callable[[], float] = time.time
    """Seconds since the epoch, for session expiry (tests move it)."""


ACCOUNTS = web.AppKey("dashboard_accounts", StaffAccounts)
FACILITATION = web.AppKey("dashboard_facilitation", Facilitation)
QUESTIONNAIRES = web.AppKey("dashboard_questionnaires", Questionnaires)
CONFIG = web.AppKey("dashboard_config", DashboardConfig)
DESK = web.AppKey("dashboard_desk", Desk)

STAFF = web.RequestKey("dashboard_staff", Staff)
LANG = web.RequestKey("dashboard_lang", str)
