"""`python -m bot consultation create|list|close|upgrade-flow`: parse, call consultations.lifecycle, print."""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import Commands, bot_username, open_database, print_table
from config.settings import Settings
from consultations import lifecycle
from flows.loader import shipped_library
from summaries.counts import shown


def add_commands(commands: Commands) -> None:
    consultation = commands.add_parser(
        "consultation",
        help="create and list consultations",
        description="Consultations: create, list, close.",
    )
    c_commands = consultation.add_subparsers(dest="consultation_command", required=True, metavar="ACTION")
    create = c_commands.add_parser(
        "create",
        help="open a consultation and print its invite",
        description="Open a consultation on a flow and print its invite code and Telegram deep link.",
    )
    create.add_argument("--flow", required=True, help="flow id, e.g. roadmap_feedback")
    create.add_argument("--country", required=True, help="ISO 3166 alpha-2 country code, e.g. KE")
    create.add_argument("--title", required=True, help="title shown to facilitators and reviewers")
    create.add_argument(
        "--languages", help="comma-separated languages to offer (default: all the flow has), e.g. en,fr"
    )
    create.add_argument("--organisation", help="the organisation running it (shown to participants)")
    create.add_argument("--contact", help="how participants can reach the organisation (shown by /privacy)")
    create.add_argument("--retention-days", type=int, default=180, help="days raw answers are kept after closing")
    create.set_defaults(handler=cmd_consultation_create)
    listing = c_commands.add_parser("list", help="list consultations", description="List consultations.")
    listing.set_defaults(handler=cmd_consultation_list)
    close = c_commands.add_parser("close", help="close a consultation", description="Stop accepting answers.")
    close.add_argument("code", help="the consultation's invite code")
    close.set_defaults(handler=cmd_consultation_close)
    upgrade_flow = c_commands.add_parser(
        "upgrade-flow",
        help="move a consultation to a newer flow version",
        description="New participants get the newer version of the consultation's flow; people already "
        "answering finish on the version they started.",
    )
    upgrade_flow.add_argument("code", help="the consultation's invite code")
    upgrade_flow.add_argument("--version", type=int, help="flow version (default: the latest available)")
    upgrade_flow.set_defaults(handler=cmd_consultation_upgrade_flow)


def cmd_consultation_create(args: argparse.Namespace, settings: Settings) -> int:
    new = lifecycle.plan(
        shipped_library(),
        flow_id=args.flow,
        country=args.country,
        title=args.title,
        languages=args.languages.split(",") if args.languages else None,
        organisation=args.organisation,
        contact=args.contact,
        retention_days=args.retention_days,
    )

    async def go() -> lifecycle.Opened:
        database = await open_database(settings)
        try:
            return await lifecycle.open_consultation(database, new)
        finally:
            await database.dispose()

    code = asyncio.run(go()).code
    username = bot_username(settings)
    runs = f"flow {new.flow_id} v{new.flow_version}, {', '.join(new.languages)}"
    print(f"Consultation created: {new.title} ({new.country}, {runs})")
    print(f"Invite code: {code}")
    print(f"Invite link: https://t.me/{username}?start={code}")
    return 0


def cmd_consultation_list(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> list[lifecycle.Listed]:
        database = await open_database(settings)
        try:
            return await lifecycle.list_consultations(database)
        finally:
            await database.dispose()

    listed = asyncio.run(go())
    if not listed:
        print("No consultations yet. Create one with: python -m bot consultation create --help")
        return 0
    header = ("code", "status", "country", "flow", "languages", "respondents", "title")
    rows = [
        (c.code, c.status, c.country, f"{c.flow_id} v{c.flow_version}", c.languages, shown(n), c.title)
        for c, n in ((item.consultation, item.respondents) for item in listed)
    ]
    print_table(header, rows)
    return 0


def cmd_consultation_close(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> None:
        database = await open_database(settings)
        try:
            await lifecycle.close_consultation(database, args.code)
        finally:
            await database.dispose()

    asyncio.run(go())
    print(f"Consultation {args.code} is closed; its invite no longer works.")
    return 0


def cmd_consultation_upgrade_flow(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> lifecycle.Upgraded:
        database = await open_database(settings)
        try:
            return await lifecycle.upgrade_flow(database, shipped_library(), args.code, args.version)
        finally:
            await database.dispose()

    done = asyncio.run(go())
    print(f"Consultation {done.code}: flow {done.flow_id} v{done.previous_version} -> v{done.version}.")
    print("People already answering finish on the version they started.")
    return 0
