"""`python -m bot notify CODE --message ...`: the one results message, sent only to those who asked for it."""

from __future__ import annotations

import argparse
import asyncio
import logging

from telegram import Bot
from telegram.error import Forbidden, TelegramError
from telegram.ext import AIORateLimiter, ExtBot

from bot.cli.common import Commands
from config.errors import ConfigError
from config.settings import Settings
from storage import privacy_ops
from storage import repository as repo
from storage.database import Database
from storage.migrate import upgrade
from storage.privacy import KeyRing
from summaries.results import results_notification

log = logging.getLogger(__name__)


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
    to every opted-in chat of the consultation, then forget those opt-ins."""
    async with database.reader() as session:
        consultation = await repo.consultation_by_code(session, code)
        if consultation is None or consultation.id is None:
            raise ConfigError(f"no consultation with code {code!r}")
        chats = await privacy_ops.opted_in_chats_by_language(session, consultation.id, keys)
    if dry_run:
        return len(chats), 0
    sent = failed = 0
    async with bot:
        from tqdm import tqdm  # only this command shows progress

        for chat_id, language in tqdm(chats, desc="sending", unit="message", disable=len(chats) < 20):
            lang = language if language in consultation.language_list else consultation.default_language
            text = message if message is not None else results_notification(lang, consultation.title)
            try:
                await bot.send_message(chat_id, text, protect_content=True)
                sent += 1
            except Forbidden:
                failed += 1  # they blocked the bot or deleted the chat: their choice
            except TelegramError as exc:
                failed += 1
                log.warning("results message not delivered", extra={"error": type(exc).__name__})
    async with database.transaction() as session:
        await privacy_ops.forget_results_opt_ins(session, consultation.id)
    return sent, failed
