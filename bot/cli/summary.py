"""`python -m bot summary CODE`: per-question counts of a consultation, as a console table."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.cli.common import Commands, open_database, print_table
from config.settings import Settings
from flows.engine import engine_for
from flows.loader import shipped_library
from flows.steps import REGISTRY
from storage import repository as repo
from storage.models import Consultation
from summaries.counts import ConsultationCounts, consultation_counts, share, shown


def add_commands(commands: Commands) -> None:
    summary = commands.add_parser(
        "summary",
        help="per-question counts of a consultation",
        description="Print per-question counts; counts from 1 to 4 are shown as '<5'.",
    )
    summary.add_argument("code", help="the consultation's invite code")
    summary.add_argument("--language", help="language of labels and number formats (default: the consultation's)")
    summary.set_defaults(handler=cmd_summary)


def cmd_summary(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> tuple[Consultation | None, ConsultationCounts | None]:
        database = await open_database(settings)
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
