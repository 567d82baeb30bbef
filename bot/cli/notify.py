"""`python -m bot notify CODE --message ...`: the one results message, queued for those who asked for it; the
running bot sends it (through the outbox, within Telegram's rate for the bot as a whole)."""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import Commands
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
        help="queue the results message for the participants who asked for it",
        description="Queue one message about a consultation's results for the participants who pressed "
        "'Tell me when the results are out' (nobody else is ever written to first). Each opt-in is used once, "
        "then deleted. The running bot (python -m bot run) sends the messages; if it is not running, they "
        "wait until it starts.",
    )
    notify.add_argument("code", help="the consultation's invite code")
    notify.add_argument(
        "--message",
        help=f"the text to send (plain text, at most {results.MAX_MESSAGE} characters); default: in each "
        "person's language, that the results are out and /results shows them",
    )
    notify.add_argument("--dry-run", action="store_true", help="only say how many people would get it")
    notify.set_defaults(handler=cmd_notify)


def cmd_notify(args: argparse.Namespace, settings: Settings) -> int:
    if args.message is not None and (not args.message.strip() or len(args.message) > results.MAX_MESSAGE):
        raise ConfigError(f"--message must have 1 to {results.MAX_MESSAGE} characters")
    database = Database(settings.sqlalchemy_url)

    async def go() -> int:
        try:
            await upgrade(database)
            keys = KeyRing(settings.secrets().keys)
            return await queue_results(database, keys, args.code, args.message, dry_run=args.dry_run)
        finally:
            await database.dispose()

    queued = asyncio.run(go())
    if args.dry_run:
        print(f"The results message would be queued for {queued} participant(s).")
    else:
        print(
            f"The results message is queued for {queued} participant(s). The running bot (python -m bot run) "
            "sends it; if it is not running, the messages wait until it starts."
        )
    return 0


async def queue_results(
    database: Database, keys: KeyRing, code: str, message: str | None, *, dry_run: bool = False
) -> int:
    """Queue `message` (default: the results notification in each person's language, pointing to /results) once
    for every opted-in chat of the consultation, forgetting those opt-ins (`consultations.results`)."""
    consultation = await results.consultation_by_code(database, code)

    def text_for(language: str) -> str:
        return message if message is not None else results_notification(language, consultation.title)

    return await results.queue_results(database, keys, consultation, text_for, dry_run=dry_run)
