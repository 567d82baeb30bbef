"""`python -m bot notify CODE --message ...`: the one results message, sent only to those who asked for it."""

from __future__ import annotations

import argparse
import asyncio

from telegram import Bot
from telegram.ext import AIORateLimiter, ExtBot

from bot.cli.common import Commands
from bot.messenger import TelegramMessenger
from config.errors import ConfigError
from config.settings import Settings
from consultations import results
from storage.database import Database
from storage.migrate import upgrade
from storage.privacy import KeyRing
from summaries.results import results_notification


def add_commands(commands: Commands) -> None:
    notify = commands.add_parser(
        "notify",
        help="send the results message to the participants who asked for it",
        description="Send one message about a consultation's results to the participants who pressed "
        "'Tell me when the results are out' (nobody else is ever written to first). Each opt-in is used once, "
        "then deleted.",
    )
    notify.add_argument("code", help="the consultation's invite code")
    notify.add_argument(
        "--message",
        help="the text to send (plain text, at most 4000 characters); default: in each person's language, "
        "that the results are out and /results shows them",
    )
    notify.add_argument("--dry-run", action="store_true", help="only say how many people would get it")
    notify.set_defaults(handler=cmd_notify)


def cmd_notify(args: argparse.Namespace, settings: Settings) -> int:
    if args.message is not None and (not args.message.strip() or len(args.message) > 4000):
        raise ConfigError("--message must have 1 to 4000 characters")
    database = Database(settings.sqlalchemy_url)

    async def go() -> tuple[int, int]:
        try:
            await upgrade(database)
            bot = ExtBot(settings.token, base_url=settings.api_base_url, rate_limiter=AIORateLimiter(max_retries=5))
            return await send_results(
                database, KeyRing(settings.secrets().keys), bot, args.code, args.message, dry_run=args.dry_run
            )
        finally:
            await database.dispose()

    sent, failed = asyncio.run(go())
    verb = "would be sent" if args.dry_run else "sent"
    print(f"Results message {verb} to {sent} participant(s); {failed} could not be reached.")
    return 0


async def send_results(
    database: Database, keys: KeyRing, bot: Bot, code: str, message: str | None, *, dry_run: bool = False
) -> tuple[int, int]:
    """Send `message` (default: the results notification in each person's language, pointing to /results) once
    to every opted-in chat of the consultation, then forget those opt-ins (`consultations.results`)."""
    consultation = await results.consultation_by_code(database, code)

    def text_for(language: str) -> str:
        return message if message is not None else results_notification(language, consultation.title)

    if dry_run:
        return await results.send_results(
            database, keys, TelegramMessenger(lambda: bot), consultation, text_for, dry_run=True
        )
    async with bot:
        from tqdm import tqdm  # only this command shows progress

        with tqdm(desc="sending", unit="message", disable=None) as bar:
            return await results.send_results(
                database, keys, TelegramMessenger(lambda: bot), consultation, text_for, progress=bar.update
            )
