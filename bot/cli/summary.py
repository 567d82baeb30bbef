"""`python -m bot summary ...`: a consultation's publications in every format, publishing, and the auditor.

python -m bot summary CODE [--format html|pdf|csv|xlsx|json|md|console] [--language fr] [-o FILE]
python -m bot summary CODE --live              # facilitator's preview on this screen only
python -m bot summary publish CODE [--final]   # the next numbered publication
python -m bot summary audit FILE [FILE...]     # what a reader could work out from published files
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import Commands, open_database
from config.errors import ConfigError
from config.settings import Settings
from flows.describe import describe
from flows.loader import shipped_library
from storage import repository as repo
from storage.privacy import KeyRing
from summaries import publications
from summaries.model import FORMATS, Summary
from summaries.questionnaire import FlowLike

if TYPE_CHECKING:
    from summaries.readers import PublishedFile

# The auditor, readers and renderers (scipy, jinja2) are imported by the commands that use them, so that
# `python -m bot run` never loads them (tests/bot/test_import_set.py).


def flow_source(flow_id: str, version: int) -> FlowLike:
    return describe(shipped_library().get(flow_id, version))


def add_commands(commands: Commands) -> None:
    summary = commands.add_parser(
        "summary",
        help="publish, render and audit consultation summaries",
        description="Render a consultation's latest publication (or --publication N) in a format and language; "
        "`summary publish CODE` makes the next publication; `summary audit FILE...` checks published files. "
        "No number from 1 to k-1 is shown, nor one that can be worked out from the others.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    summary.add_argument("target", metavar="CODE|publish|audit", help="a consultation's code, or publish, or audit")
    summary.add_argument("rest", nargs="*", metavar="ARG", help="publish: the code; audit: the files")
    summary.add_argument("--format", choices=FORMATS, default="console", help="output format (default: console)")
    summary.add_argument("--language", help="language of the report (default: the consultation's)")
    summary.add_argument("-o", "--output", type=Path, help="write to this file (default: standard output)")
    summary.add_argument("--publication", type=int, help="which publication (default: the latest)")
    summary.add_argument("--live", action="store_true", help="preview the current counts (console only)")
    summary.add_argument("--compare", action="store_true", help="add other consultations of the same country")
    summary.add_argument("--final", action="store_true", help="publish: make it the final publication")
    summary.set_defaults(handler=cmd_summary)


def cmd_summary(args: argparse.Namespace, settings: Settings) -> int:
    if args.target == "audit":
        return cmd_audit(args.rest)
    if args.target == "publish":
        if len(args.rest) != 1:
            raise ConfigError("usage: python -m bot summary publish CODE [--final]")
        return cmd_publish(args.rest[0], args.final, settings)
    if args.rest:
        raise ConfigError(f"unexpected arguments: {' '.join(args.rest)}")
    return cmd_show(args, settings)


def _keys(settings: Settings) -> KeyRing:
    return KeyRing(settings.secrets().keys)


def cmd_publish(code: str, final: bool, settings: Settings) -> int:
    async def go() -> Summary:
        database = await open_database(settings)
        try:
            return await publications.publish(database, code, flow_source, keys=_keys(settings), final=final)
        finally:
            await database.dispose()

    made = asyncio.run(go())
    kind = "final publication" if made.final else "publication"
    print(f"Consultation {code}: {kind} {made.number} made (k = {made.k}).")
    print(f"Read it with: python -m bot summary {code} --format html -o {code}-{made.number}.html")
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    if args.live and (args.format != "console" or args.output or args.publication):
        raise ConfigError("--live shows the current counts on this screen only (no --format, -o or --publication)")

    async def go() -> tuple[Summary, list[Summary]]:
        database = await open_database(settings)
        try:
            if args.live:
                summary = await publications.live_view(database, args.target, flow_source)
            else:
                summary = await publications.publication(database, args.target, args.publication)
            others: list[Summary] = []
            if args.compare:
                async with database.reader() as session:
                    rows = await repo.list_consultations(session)
                for consultation, _ in rows:
                    if consultation.country == summary.consultation.country and consultation.code != args.target:
                        latest = await publications.latest_publication(database, consultation.code)
                        if latest is not None:
                            others.append(latest)
            return summary, others
        finally:
            await database.dispose()

    try:
        summary, others = asyncio.run(go())
    except publications.PublicationRefused as exc:
        if args.format == "console" and not args.output:
            raise ConfigError(f"{exc}; or preview the current counts with --live") from exc
        raise
    language = args.language or summary.consultation.default_language
    if language not in summary.consultation.languages:
        raise ConfigError(
            f"consultation {args.target} has no text in {language}; "
            f"it offers {', '.join(summary.consultation.languages)}"
        )
    from summaries.render import render
    from summaries.report import build_report

    data = render(build_report(summary, language, compare=others), args.format)
    if args.output:
        args.output.write_bytes(data)
        print(f"Written: {args.output} ({args.format}, {language})")
    elif args.format in ("pdf", "xlsx"):
        raise ConfigError(f"--format {args.format} needs -o FILE")
    else:
        sys.stdout.write(data.decode())
    return 0


def cmd_audit(paths: list[str]) -> int:
    if not paths:
        raise ConfigError("usage: python -m bot summary audit FILE [FILE...]")
    from summaries.audit import audit
    from summaries.readers import read_file

    files = [read_file(Path(p)) for p in paths]
    by_consultation: dict[str, list[PublishedFile]] = defaultdict(list)
    for f in files:
        by_consultation[f.consultation].append(f)
    clean = True
    for code, given in by_consultation.items():
        found: list[PublishedFile] = []
        copies: dict[int | None, int] = defaultdict(int)
        for f in sorted(given, key=lambda f: f.number or 0):
            copies[f.number] += 1
            same = next((g for g in found if g.number == f.number), None)
            if same is None:
                found.append(f)
            elif same.tables.counts != f.tables.counts:
                raise ConfigError(f"{f.path} and {same.path}: two different files claim publication {f.number}")
        result = audit([f.tables for f in found], exact=True)
        label = ", ".join(
            (f"publication {f.number}" if f.number else "a live preview")
            + (f" ({copies[f.number]} files)" if copies[f.number] > 1 else "")
            for f in found
        )
        print(f"Consultation {code}: {label}; k = {result.k}")
        if len(found) > 1 and not result.growth_assumed:
            print("  (counts went down between publications: answers were erased; read without assuming growth)")
        hidden = len(result.ranges)
        for (index, (pop, question, row)), (low, high) in sorted(result.ranges.items()):
            if pop.startswith("~"):
                continue
            top = "∞" if high == float("inf") else f"{high:g}"
            print(f"  publication {found[index].number or '-'}  {pop}/{question or '-'}/{row}: {low:g} to {top}")
        if result.findings:
            clean = False
            for finding in result.findings:
                print(f"  DISCLOSED: {finding.describe()}")
        print(
            f"  {hidden} hidden value(s) checked: "
            + ("nothing can be worked out." if not result.findings else "see above.")
        )
    return 0 if clean else 1
