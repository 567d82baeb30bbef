"""Runners: polling (default) or webhook on aiohttp, with the sandbox emulator when no token is set."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import json
import logging
import secrets
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from telegram import Update

from bot.intake import DEFERRED, Intake, Poller, patiently, slim
from bot.metrics import CONTENT_TYPE, UPDATES, exposition
from bot.telegram import BotApplication, build_application
from config.errors import ConfigError, StorageError
from config.help_resources import HelpResources, load_help_resources
from config.i18n import check_catalogs
from config.settings import SANDBOX_BOT_USERNAME, SANDBOX_TOKEN, Environment, Settings
from consultations.lifecycle import ensure_consultation
from consultations.service import ConversationService
from flows.loader import FlowLibrary, shipped_library
from storage import outbox, retention
from storage.database import Database
from storage.migrate import upgrade
from summaries.results import results_text

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
DEMO_CODE = "DEMO"
APPLICATION_KEY = web.AppKey[BotApplication]("application")
INTAKE_KEY = web.AppKey("intake", Intake)
SECRET_KEY = web.AppKey("webhook_secret", str)
DATABASE_KEY = web.AppKey("database", Database)
RETRY_AFTER_SECONDS = 5
"""Told to Telegram with a 503 while the database is unavailable (Telegram retries on its own schedule)."""
ALLOWED_UPDATES = ["message", "callback_query"]
LOOPBACK = "127.0.0.1"


@dataclass
class Runtime:
    """Everything `run` opened, so tests and the CLI can start and stop the product the same way."""

    settings: Settings
    database: Database
    service: ConversationService
    library: FlowLibrary
    help_resources: HelpResources


async def open_runtime(settings: Settings, *, help_resources_path: Path | None = None) -> Runtime:
    """Everything `run` needs; `help_resources_path` replaces the configured file (the sandbox's example)."""
    check_catalogs()
    secrets = settings.secrets()
    # a broken file fails here, at start-up
    help_resources = HelpResources(help_resources_path or settings.help_resources_path)
    database = Database(settings.sqlalchemy_url)
    await upgrade(database)
    library = shipped_library()
    service = ConversationService(
        database,
        library,
        secrets,
        default_language=settings.default_language,
        max_text_length=settings.max_text_length,
        idle_hours=settings.session_idle_hours,
        help_resources=help_resources,
        results=results_text,
        delivery_reports=True,  # the outbox sender reports deliveries: typed answers wait for their question
    )
    return Runtime(settings, database, service, library, help_resources)


def create_webhook_app(application: BotApplication, secret: str, database: Database) -> web.Application:
    """The webhook worker's one server: the webhook (checks Telegram's secret header, 403 otherwise; 503 while
    the database is unavailable, so Telegram delivers the update again), `/healthz` and `/metrics`."""
    app = web.Application(client_max_size=1024 * 1024)
    app[APPLICATION_KEY] = application
    app[INTAKE_KEY] = Intake(application)
    app[SECRET_KEY] = secret
    app.router.add_post(WEBHOOK_PATH, _webhook)
    add_operations(app, database)
    return app


def add_operations(app: web.Application, database: Database) -> None:
    """`/healthz` (is the database reachable; 200 or 503, JSON) and `/metrics` (Prometheus; counts only). Keep
    both off the public internet: the reverse proxy forwards only the webhook path and /dashboard/."""
    app[DATABASE_KEY] = database
    app.router.add_get("/healthz", _health)
    app.router.add_get("/metrics", _metrics)


async def outbox_backlog(database: Database) -> int | None:
    """How many replies, edits and deletions wait to be sent (the outbox's backlog, for /healthz); None when
    the database cannot say."""
    try:
        async with database.reader() as session:
            return await outbox.backlog(session)
    except StorageError:
        return None


async def _health(request: web.Request) -> web.Response:
    database = request.app[DATABASE_KEY]
    reachable = await database.ping()
    body = {
        "ok": reachable,
        "database": "reachable" if reachable else "unreachable",
        "outbox_backlog": await outbox_backlog(database) if reachable else None,
    }
    return web.json_response(body, status=200 if reachable else 503)


async def _metrics(request: web.Request) -> web.Response:
    response = web.Response(body=exposition())
    response.headers["Content-Type"] = CONTENT_TYPE
    return response


async def _webhook(request: web.Request) -> web.Response:
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), request.app[SECRET_KEY].encode()):
        return web.Response(status=403, text="forbidden")
    application = request.app[APPLICATION_KEY]
    try:
        payload = await request.json()
        update = Update.de_json(slim(payload), application.bot)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        # An update we cannot parse will never parse: acknowledge it so Telegram stops retrying.
        log.warning("unreadable update acknowledged and dropped", extra={"error": type(exc).__name__})
        UPDATES.labels("other", "unreadable").inc()
        return web.Response(text="ok")
    if await request.app[INTAKE_KEY].handle(update) == DEFERRED:
        # Not claimed, nothing sent: Telegram delivers it again once we answer 2xx to a later attempt.
        return web.Response(status=503, text="database unavailable", headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return web.Response(text="ok")


async def seed_demo(database: Database, library: FlowLibrary) -> str:
    """The sandbox's demo consultation (idempotent): returns its invite code."""
    return await ensure_consultation(
        database,
        library,
        code=DEMO_CODE,
        flow_id="roadmap_feedback",
        country="KE",
        title="Demo consultation (sandbox)",
        organisation="Voices 8.7 sandbox",
    )


def sandbox_help_resources(settings: Settings) -> Path | None:
    """The sandbox's clearly fake example contacts, so /help and the under-18 screen can be tried: only when the
    sandbox runs (no token, not production), VOICES_HELP_RESOURCES is unset and the shipped file has no entry."""
    if not settings.sandbox or settings.env is Environment.PRODUCTION or settings.help_resources is not None:
        return None
    if not load_help_resources(settings.help_resources_path).empty:
        return None
    from sandbox import EXAMPLE_HELP_RESOURCES  # a development tool: only imported when used

    return EXAMPLE_HELP_RESOURCES


@contextlib.asynccontextmanager
async def serve_site(app: web.Application, host: str, port: int) -> AsyncIterator[web.AppRunner]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        yield runner
    finally:
        await runner.cleanup()


async def periodic_cleanup(database: Database, every_seconds: float = 3600, purge_every: int = 24) -> None:
    """Hourly: drop message ids past 48 h and old update ids. At start, then every `purge_every` runs: retention."""
    runs = 0
    while True:
        try:
            if runs % purge_every == 0:
                await retention.purge(database)
            else:
                await retention.purge_expired_ids(database)
        except Exception as exc:  # keep cleaning next time; the log names the failure, never any data
            log.error("cleanup failed", extra={"event": "cleanup.failed", "error": type(exc).__name__})
        runs += 1
        await asyncio.sleep(every_seconds)


def refuse_unsafe_start(settings: Settings) -> None:
    """Production never runs the sandbox: without a token it would serve the emulator and write a demo
    consultation into the production database. Checked before anything is opened or written."""
    if settings.env is Environment.PRODUCTION and settings.sandbox:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN must be set when VOICES_ENV=production: the sandbox is a development tool and "
            "never runs in production; refusing to start."
        )


async def run(settings: Settings, *, webhook: bool = False, stop: asyncio.Event | None = None) -> None:
    """`python -m bot run`: everything in one event loop until SIGINT/SIGTERM (or `stop` is set)."""
    refuse_unsafe_start(settings)
    stop = stop or _stop_on_signals()
    example_help = sandbox_help_resources(settings)
    runtime = await open_runtime(settings, help_resources_path=example_help)
    # The composition root: the dashboard (a sibling adapter) is mounted on whichever server the process runs.
    from dashboard.app import init_app, mount, standalone

    bot_names: list[str] = []
    dashboard = init_app(
        settings,
        runtime.database,
        runtime.library,
        bot_username=lambda: next(iter(bot_names), None),
    )
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(runtime.database.dispose)
        if settings.sandbox:
            from sandbox import Emulator, create_sandbox_app  # a development tool: only imported when used

            # Its id counters live in the data directory, so a restart is invisible to the bot's duplicate check.
            emulator = Emulator(token=SANDBOX_TOKEN, bot_username=SANDBOX_BOT_USERNAME, state_dir=settings.data_dir)
            sandbox_app = create_sandbox_app(emulator)
            mount(sandbox_app, dashboard)
            if not webhook:  # with --webhook the webhook's server has them
                add_operations(sandbox_app, runtime.database)
            await stack.enter_async_context(serve_site(sandbox_app, settings.sandbox_host, settings.sandbox_port))
            code = await seed_demo(runtime.database, runtime.library)
            page = f"http://{settings.sandbox_host}:{settings.sandbox_port}/"
            help_line = (
                f"  /help shows the fake EXAMPLE contacts of sandbox/{example_help.name}\n" if example_help else ""
            )
            print(
                f"\nVoices 8.7 is running in SANDBOX mode (no TELEGRAM_BOT_TOKEN set).\n"
                f"  Chat with the bot in your browser: {page}\n"
                f"  Demo consultation invite:          {page}?start={code}\n"
                f"  Dashboard (facilitators, reviewers): {page}dashboard/\n"
                f"  (on Telegram this would be https://t.me/{SANDBOX_BOT_USERNAME}?start={code})\n"
                f"{help_line}Press Ctrl+C to stop.\n",
                flush=True,
            )
        application = build_application(
            runtime.service,
            token=settings.token,
            base_url=settings.api_base_url,
            max_updates_in_flight=settings.max_updates_in_flight,
        )
        await patiently(application.initialize)  # getMe, through a 429 or an outage of Telegram
        await stack.enter_async_context(application)
        bot_names.append(application.bot.username)
        await application.start()
        stack.push_async_callback(application.stop)
        if webhook:
            host, secret = webhook_binding(settings)
            webhook_app = create_webhook_app(application, secret, runtime.database)
            if not settings.sandbox:
                mount(webhook_app, dashboard)
            await stack.enter_async_context(serve_site(webhook_app, host, settings.webhook_port))
            local = f"http://{LOOPBACK}:{settings.webhook_port}{WEBHOOK_PATH}"
            url = local if settings.sandbox else settings.webhook_url or local
            await patiently(
                lambda: application.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
            )
            log.info("webhook set", extra={"event": "run.webhook"})
        else:
            await patiently(application.bot.delete_webhook)
            poller = Poller(application, allowed_updates=ALLOWED_UPDATES)
            stop_polling = asyncio.Event()
            polling = asyncio.create_task(poller.run(stop_polling))
            polling.add_done_callback(lambda _: stop.set())  # polling ends only when stopping, or on a fatal error
            stack.push_async_callback(_finish, polling, stop_polling)
            if not settings.sandbox:
                site = standalone(dashboard)
                add_operations(site, runtime.database)
                await stack.enter_async_context(serve_site(site, settings.dashboard_host, settings.dashboard_port))
            log.info("polling for updates", extra={"event": "run.polling"})
        cleanup = asyncio.create_task(periodic_cleanup(runtime.database))
        stack.callback(cleanup.cancel)
        # What start-up made (modules, libraries, the flows) lives as long as the process: the garbage collector's
        # full passes need not walk it again and again (they took tens of ms each, in the middle of updates).
        gc.collect()
        gc.freeze()
        await stop.wait()
        log.info("stopping", extra={"event": "run.stop"})


async def _finish(polling: asyncio.Task[None], stop: asyncio.Event) -> None:
    """Stop polling: the batch in hand is finished (unless it waits for the database), then acknowledged. A fatal
    failure of the loop (Telegram refusing the token) propagates, and the CLI says it in one line."""
    stop.set()
    try:
        await asyncio.wait_for(polling, 30)  # cancels it when the time is up
    except TimeoutError:
        log.warning("polling did not stop in time", extra={"event": "run.stop.timeout"})
    except asyncio.CancelledError:
        if not polling.cancelled():
            raise


def webhook_binding(settings: Settings) -> tuple[str, str]:
    """Where the webhook server listens, and the secret it checks. Against Telegram: VOICES_WEBHOOK_HOST and
    VOICES_WEBHOOK_SECRET (required). In the sandbox the only sender is the emulator in this same process: it
    listens on loopback only, with VOICES_WEBHOOK_SECRET or else a fresh random secret for this run (never a
    fixed one, which anyone could read in this file)."""
    configured = settings.webhook_secret.get_secret_value() if settings.webhook_secret is not None else None
    if not settings.sandbox:
        if configured is None:
            raise ConfigError("VOICES_WEBHOOK_SECRET must be set to run with --webhook against Telegram")
        return settings.webhook_host, configured
    return LOOPBACK, configured or secrets.token_urlsafe(32)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop
