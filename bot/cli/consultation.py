"""`python -m bot consultation create|list|close|upgrade-flow`: a consultation's lifecycle."""

from __future__ import annotations

import argparse
import asyncio
import sys

from babel import Locale

from bot.cli.common import Commands, bot_username, open_database, print_table
from config.errors import ConfigError
from config.settings import Settings
from flows.loader import shipped_library
from storage import repository as repo
from summaries.disclosure import DEFAULT_K, check_k

TERRITORIES = {str(code) for code in Locale("en").territories if str(code).isalpha() and len(str(code)) == 2}


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
    create.add_argument(
        "--min-cell",
        type=int,
        default=DEFAULT_K,
        help=f"k: no published number from 1 to k-1, nor one that can be worked out (default {DEFAULT_K}, at least 5)",
    )
    create.add_argument(
        "--kind",
        choices=("roadmap", "progress_report"),
        default="roadmap",
        help="what is reviewed: the roadmap, or an annual progress report (default: roadmap)",
    )
    create.add_argument("--cycle-year", type=int, help="the roadmap's or progress report's year (default: this year)")
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
    flow = shipped_library().latest(args.flow)
    country = args.country.strip().upper()
    if country not in TERRITORIES:
        print(
            f"error: {args.country!r} is not an ISO 3166 alpha-2 country code (e.g. KE, PE, NG)",
            file=sys.stderr,
        )
        return 2
    languages = [x.strip() for x in args.languages.split(",")] if args.languages else list(flow.languages)
    unknown = [x for x in languages if x not in flow.languages]
    if unknown or not languages:
        print(
            f"error: flow {flow.id} has no text in {', '.join(unknown) or '(none)'}; "
            f"it offers {', '.join(flow.languages)}",
            file=sys.stderr,
        )
        return 2
    default = flow.default_language if flow.default_language in languages else languages[0]
    k = check_k(args.min_cell)
    cycle = args.cycle_year or repo.today().year

    async def go() -> str:
        database = await open_database(settings)
        try:
            async with database.transaction() as session:
                consultation = await repo.create_consultation(
                    session,
                    title=args.title,
                    country=country,
                    flow_id=flow.id,
                    flow_version=flow.version,
                    languages=languages,
                    default_language=default,
                    organisation=args.organisation,
                    contact=args.contact,
                    retention_days=args.retention_days,
                    min_cell=k,
                    kind=args.kind,
                    cycle_year=cycle,
                )
                return consultation.code
        finally:
            await database.dispose()

    code = asyncio.run(go())
    username = bot_username(settings)
    print(f"Consultation created: {args.title} ({country}, flow {flow.id} v{flow.version}, {', '.join(languages)})")
    print(f"Smallest number shown (k): {k}; {args.kind.replace('_', ' ')} {cycle}")
    print(f"Invite code: {code}")
    print(f"Invite link: https://t.me/{username}?start={code}")
    return 0


def cmd_consultation_list(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> list[tuple[str, ...]]:
        database = await open_database(settings)
        try:
            async with database.reader() as session:
                rows = await repo.list_consultations(session)
        finally:
            await database.dispose()
        return [
            (c.code, c.status, c.country, f"{c.flow_id} v{c.flow_version}", c.languages, _count(n, c.min_cell), c.title)
            for c, n in rows
        ]

    rows = asyncio.run(go())
    if not rows:
        print("No consultations yet. Create one with: python -m bot consultation create --help")
        return 0
    print_table(("code", "status", "country", "flow", "languages", "respondents", "title"), rows)
    return 0


def _count(n: int, k: int) -> str:
    """A live count on an operator's screen: under the same rule as published ones (0, or at least k)."""
    return str(n) if n == 0 or n >= k else f"<{k}"


def cmd_consultation_close(args: argparse.Namespace, settings: Settings) -> int:
    """Close, then make the final publication (the summary reviewers read)."""
    from bot.cli.summary import flow_source
    from storage.privacy import KeyRing
    from summaries.publications import close_and_publish

    async def go() -> int | None:
        database = await open_database(settings)
        try:
            made = await close_and_publish(database, args.code, flow_source, keys=KeyRing(settings.secrets().keys))
            return made.number if made is not None else None
        finally:
            await database.dispose()

    number = asyncio.run(go())
    print(f"Consultation {args.code} is closed; its invite no longer works.")
    if number is not None:
        print(f"Final publication {number} made: python -m bot summary {args.code} --format html -o report.html")
    return 0


def cmd_consultation_upgrade_flow(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> str:
        database = await open_database(settings)
        try:
            async with database.transaction() as session:
                consultation = await repo.consultation_by_code(session, args.code)
                if consultation is None:
                    raise ConfigError(f"no consultation with code {args.code!r}")
                library = shipped_library()
                flow = (
                    library.get(consultation.flow_id, args.version)
                    if args.version
                    else library.latest(consultation.flow_id)
                )
                missing = [lang for lang in consultation.language_list if lang not in flow.languages]
                if missing:
                    raise ConfigError(f"flow {flow.id} v{flow.version} has no text in {', '.join(missing)}")
                previous = consultation.flow_version
                consultation.flow_version = flow.version
                session.add(consultation)
                return f"Consultation {consultation.code}: flow {flow.id} v{previous} -> v{flow.version}."
        finally:
            await database.dispose()

    print(asyncio.run(go()))
    print("People already answering finish on the version they started.")
    return 0
