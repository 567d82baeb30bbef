"""`python -m bot run` (the bot, or the sandbox) and `python -m bot db upgrade`."""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import Commands
from config.settings import Settings
from storage.database import Database
from storage.migrate import upgrade


def add_commands(commands: Commands) -> None:
    run = commands.add_parser(
        "run",
        help="run the bot (sandbox when TELEGRAM_BOT_TOKEN is unset)",
        description="Run the bot: long polling by default, or a webhook server with --webhook. "
        "Without TELEGRAM_BOT_TOKEN it starts the local sandbox (Bot API emulator + web chat page).",
    )
    run.add_argument("--webhook", action="store_true", help="serve a webhook instead of long polling")
    run.set_defaults(handler=cmd_run)

    db = commands.add_parser("db", help="database schema", description="Database schema commands.")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_upgrade = db_commands.add_parser(
        "upgrade", help="apply migrations", description="Apply all Alembic migrations to DATABASE_URL."
    )
    db_upgrade.set_defaults(handler=cmd_db_upgrade)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runners import run

    asyncio.run(run(settings, webhook=args.webhook))
    return 0


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> tuple[str | None, str | None]:
        database = Database(settings.sqlalchemy_url)
        try:
            return await upgrade(database)
        finally:
            await database.dispose()

    before, after = asyncio.run(go())
    if before is None:
        print(f"created the database schema (revision {after})")
    elif before != after:
        print(f"upgraded the database schema from revision {before} to {after}")
    else:
        print(f"the database schema is up to date (revision {after})")
    return 0
