"""The command line (`python -m bot --help`): run, db, consultation, summary, flows, keys, purge, notify, ..."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from babel import Locale

from bot import logs
from bot.cli_privacy import add_commands as add_privacy_commands
from bot.cli_results import add_commands as add_results_commands
from config.errors import ConfigError, VoicesError
from config.settings import SANDBOX_BOT_USERNAME, Settings, get_settings
from flows.engine import engine_for
from flows.loader import DEFINITIONS_DIR, load_flow, shipped_library
from flows.steps import REGISTRY
from storage import repository as repo
from storage.database import Database
from storage.migrate import upgrade
from storage.models import Consultation
from summaries.counts import ConsultationCounts, consultation_counts, share, shown

TERRITORIES = {str(code) for code in Locale("en").territories if str(code).isalpha() and len(str(code)) == 2}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Voices 8.7: private consultations with survivors and CSOs on Alliance 8.7 roadmaps.",
        epilog="Settings come from the environment and .env (see README).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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

    summary = commands.add_parser(
        "summary",
        help="per-question counts of a consultation",
        description="Print per-question counts; counts from 1 to 4 are shown as '<5'.",
    )
    summary.add_argument("code", help="the consultation's invite code")
    summary.add_argument("--language", help="language of labels and number formats (default: the consultation's)")
    summary.set_defaults(handler=cmd_summary)

    flows = commands.add_parser("flows", help="questionnaire tools", description="Questionnaire (flow) tools.")
    f_commands = flows.add_subparsers(dest="flows_command", required=True, metavar="ACTION")
    lint = f_commands.add_parser(
        "lint", help="validate flow files", description="Validate flow files (default: every shipped flow)."
    )
    lint.add_argument("files", nargs="*", type=Path, help="flow YAML files")
    lint.set_defaults(handler=cmd_flows_lint)
    xlsform = f_commands.add_parser(
        "import",
        help="convert an XLSForm (KoboToolbox/ODK) into a flow",
        description="Convert an XLSForm (.xlsx, .xls, .csv or .md) into a flow YAML file. Questions a Telegram "
        "chat cannot ask (location, photo, audio, repeats...) are listed by row; the import fails unless "
        "--skip-unsupported is given.",
    )
    xlsform.add_argument("form", type=Path, help="the XLSForm file")
    xlsform.add_argument(
        "--out", help="where to write the flow (default: flows/definitions/<form id>.yaml; '-' prints it)"
    )
    xlsform.add_argument("--skip-unsupported", action="store_true", help="import the rest and list what was left out")
    xlsform.add_argument(
        "--audience",
        choices=("cso", "survivor"),
        default="cso",
        help="who answers (default: cso). A survivor flow can have no required question and asks the age band",
    )
    xlsform.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    xlsform.set_defaults(handler=cmd_flows_import)
    diagram = f_commands.add_parser(
        "diagram",
        help="print a flow as a Mermaid diagram",
        description="Print a flow as a Mermaid state diagram (paste it into any Mermaid viewer).",
    )
    diagram.add_argument("flow", help="a shipped flow id (e.g. roadmap_feedback) or a flow YAML file")
    diagram.set_defaults(handler=cmd_flows_diagram)
    for action, purpose in (
        ("extract", "write flow texts to locales/flows/<flow>.pot for translators"),
        ("update", "extract, then create or update locales/flows/<lang>/<flow>.po"),
        ("merge", "write translated .po files back into the flow files"),
    ):
        tool = f_commands.add_parser(action, help=purpose, description=purpose[0].upper() + purpose[1:] + ".")
        tool.add_argument("files", nargs="*", type=Path, help="flow YAML files (default: every shipped flow)")
        tool.add_argument("-o", "--output", type=Path, help="catalog directory (default: locales/flows)")
        if action != "extract":
            tool.add_argument("--languages", help="comma-separated languages, e.g. es,pt (default: all of them)")
        tool.set_defaults(handler=cmd_flows_translation)
    add_privacy_commands(commands)
    add_results_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    logs.configure(settings.log_level, [settings.token])
    try:
        result: int = args.handler(args, settings)
        return result
    except VoicesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runners import run

    asyncio.run(run(settings, webhook=args.webhook))
    return 0


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> None:
        database = Database(settings.sqlalchemy_url)
        try:
            await upgrade(database)
        finally:
            await database.dispose()

    asyncio.run(go())
    print("database is up to date")
    return 0


async def _with_db(settings: Settings) -> Database:
    database = Database(settings.sqlalchemy_url)
    await upgrade(database)
    return database


def bot_username(settings: Settings) -> str:
    if settings.telegram_bot_username:
        return settings.telegram_bot_username.lstrip("@")
    if settings.sandbox:
        return SANDBOX_BOT_USERNAME

    async def ask() -> str:
        from telegram import Bot

        async with Bot(settings.token, base_url=settings.api_base_url) as bot:
            return bot.username

    return asyncio.run(ask())


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

    async def go() -> str:
        database = await _with_db(settings)
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
                )
                return consultation.code
        finally:
            await database.dispose()

    code = asyncio.run(go())
    username = bot_username(settings)
    print(f"Consultation created: {args.title} ({country}, flow {flow.id} v{flow.version}, {', '.join(languages)})")
    print(f"Invite code: {code}")
    print(f"Invite link: https://t.me/{username}?start={code}")
    return 0


def cmd_consultation_list(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> list[tuple[str, ...]]:
        database = await _with_db(settings)
        try:
            async with database.reader() as session:
                rows = await repo.list_consultations(session)
        finally:
            await database.dispose()
        return [
            (c.code, c.status, c.country, f"{c.flow_id} v{c.flow_version}", c.languages, shown(n), c.title)
            for c, n in rows
        ]

    rows = asyncio.run(go())
    if not rows:
        print("No consultations yet. Create one with: python -m bot consultation create --help")
        return 0
    print_table(("code", "status", "country", "flow", "languages", "respondents", "title"), rows)
    return 0


def cmd_consultation_close(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> bool:
        database = await _with_db(settings)
        try:
            async with database.transaction() as session:
                consultation = await repo.consultation_by_code(session, args.code)
                if consultation is None:
                    return False
                await repo.close_consultation(session, consultation)
                return True
        finally:
            await database.dispose()

    if not asyncio.run(go()):
        print(f"error: no consultation with code {args.code!r}", file=sys.stderr)
        return 2
    print(f"Consultation {args.code} is closed; its invite no longer works.")
    return 0


def cmd_consultation_upgrade_flow(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> str:
        database = await _with_db(settings)
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


def cmd_summary(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> tuple[Consultation | None, ConsultationCounts | None]:
        database = await _with_db(settings)
        try:
            async with database.reader() as session:
                consultation = await repo.consultation_by_code(session, args.code)
            counts = await consultation_counts(database, args.code)
        finally:
            await database.dispose()
        return consultation, counts

    consultation, counts = asyncio.run(go())
    if consultation is None or counts is None:
        print(f"error: no consultation with code {args.code!r}", file=sys.stderr)
        return 2
    flow = shipped_library().get(consultation.flow_id, consultation.flow_version)
    lang = args.language or consultation.default_language
    if lang not in flow.languages:
        print(f"error: flow {flow.id} has no text in {lang}; it offers {', '.join(flow.languages)}", file=sys.stderr)
        return 2
    engine = engine_for(flow)
    print(f"{consultation.title} — {consultation.country} — code {consultation.code}")
    print(f"Respondents: {shown(counts.respondents, locale=lang)}\n")
    rows: list[tuple[str, ...]] = []
    for step in flow.steps:
        if not REGISTRY[step.type].question:
            continue
        q = counts.questions.get(step.id)
        answered, skipped = (q.answered, q.skipped) if q else (0, 0)
        tags = ", ".join(step.tags)
        rows.append((step.id, tags, "", shown(answered, locale=lang), "", shown(skipped, locale=lang)))
        for code, label in engine.answer_labels(step.id, lang).items():
            n = q.options.get(code, 0) if q else 0
            rows.append(("", "", label, shown(n, locale=lang), share(n, answered, lang), ""))
        if step.type in ("free_text", "date"):
            written = q.written if q else 0
            rows.append(("", "", "(written answers, encrypted)", shown(written, locale=lang), "", ""))
        elif step.type in ("integer", "decimal") and q:
            for value, n in sorted(q.options.items(), key=lambda item: float(item[0])):
                rows.append(("", "", value, shown(n, locale=lang), share(n, answered, lang), ""))
    print_table(("question", "roadmap element", "option", "answers", "share", "skipped"), rows)
    print("\nCounts from 1 to 4 are shown as <5 so no one can be singled out.")
    return 0


def cmd_flows_lint(args: argparse.Namespace, settings: Settings) -> int:
    files = args.files or sorted(DEFINITIONS_DIR.glob("*.yaml"))
    failed = 0
    for path in files:
        try:
            flow = load_flow(path)
        except VoicesError as exc:
            failed += 1
            print(f"FAIL {exc}")
        else:
            print(f"ok   {path}: {flow.id} v{flow.version}, {len(flow.steps)} steps, {', '.join(flow.languages)}")
    return 1 if failed else 0


def cmd_flows_import(args: argparse.Namespace, settings: Settings) -> int:
    from flows.xlsform import import_xlsform

    result = import_xlsform(
        args.form, skip_unsupported=args.skip_unsupported, audience=args.audience, progress=sys.stderr.isatty()
    )
    document = result.document
    for title, lines in (("Warnings", result.warnings), ("Left out", result.left_out), ("Dropped", result.dropped)):
        if lines:
            print(f"{title}:", *(f"  {line}" for line in lines), sep="\n", file=sys.stderr)
    text = result.yaml(args.form.name)
    if args.out == "-":
        print(text, end="")
        return 0
    out = Path(args.out) if args.out else DEFINITIONS_DIR / f"{document['id']}.yaml"
    if out.exists() and not args.force:
        print(f"error: {out} exists; use --force to overwrite it, or --out to write elsewhere", file=sys.stderr)
        return 2
    if out.resolve().parent == DEFINITIONS_DIR.resolve():
        others = [p for p in sorted(DEFINITIONS_DIR.glob("*.yaml")) if p.resolve() != out.resolve()]
        clash = [p for p in others if load_flow(p).key == (document["id"], document["version"])]
        if clash:
            print(
                f"error: {clash[0]} already defines flow {document['id']} version {document['version']}; "
                "change form_id or version in the settings sheet",
                file=sys.stderr,
            )
            return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(
        f"wrote {out}: flow {document['id']} v{document['version']}, {len(document['steps'])} steps, "
        f"{', '.join(document['languages'])}"
    )
    return 0


def cmd_flows_diagram(args: argparse.Namespace, settings: Settings) -> int:
    from flows.diagram import mermaid

    path = Path(args.flow)
    flow = load_flow(path) if path.suffix in (".yaml", ".yml") or path.exists() else shipped_library().latest(args.flow)
    print(mermaid(flow), end="")
    return 0


def cmd_flows_translation(args: argparse.Namespace, settings: Settings) -> int:
    """`flows extract | update | merge`: the translators' workflow for flow texts (see flows/translation.py)."""
    from flows import translation

    files = args.files or sorted(DEFINITIONS_DIR.glob("*.yaml"))
    output = args.output or translation.FLOW_LOCALES_DIR
    languages = (
        [x.strip() for x in args.languages.split(",") if x.strip()] if getattr(args, "languages", None) else None
    )
    if args.flows_command == "extract":
        lines = translation.extract(files, output)
    elif args.flows_command == "update":
        lines = translation.update(files, languages or (), output)
    else:
        lines, failed = [], 0
        for path in files:
            try:
                lines += translation.merge(path, languages, output)
            except VoicesError as exc:
                failed += 1
                lines.append(f"FAIL {exc}")
        print("\n".join(lines))
        return 1 if failed else 0
    print("\n".join(lines))
    return 0


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))
