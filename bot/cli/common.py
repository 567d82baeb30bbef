"""What every command group shares: the database opened and migrated, tables, the bot's username, errors."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import TypeAlias

from config.settings import SANDBOX_BOT_USERNAME, Settings
from storage.database import Database
from storage.migrate import upgrade

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The `python -m bot` sub-command registry each group adds its commands to."""


async def open_database(settings: Settings) -> Database:
    """The database at DATABASE_URL, migrated to the current schema."""
    database = Database(settings.sqlalchemy_url)
    await upgrade(database)
    return database


UNKNOWN_USERNAME = "<your_bot>"


def bot_username(settings: Settings) -> str:
    """The bot's @username for invite links: TELEGRAM_BOT_USERNAME, the sandbox bot, or asked from Telegram. When
    Telegram cannot be asked, a placeholder and a warning: the command's own work is already done."""
    if settings.telegram_bot_username:
        return settings.telegram_bot_username.lstrip("@")
    if settings.sandbox:
        return SANDBOX_BOT_USERNAME

    async def ask() -> str:
        from telegram import Bot
        from telegram.error import TelegramError

        try:
            async with Bot(settings.token, base_url=settings.api_base_url) as bot:
                return bot.username
        except TelegramError as exc:
            print(
                f"warning: could not ask Telegram for the bot's username ({type(exc).__name__}); "
                "set TELEGRAM_BOT_USERNAME to print invite links in full",
                file=sys.stderr,
            )
            return UNKNOWN_USERNAME

    return asyncio.run(ask())


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))
