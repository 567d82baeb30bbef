"""`python -m bot quotes ...`: a consultation's written answers: the codebook of themes, keyword suggestions,
and the review where a facilitator codes each answer and decides whether (and how much of) it may be quoted.

    python -m bot quotes themes CODE                       # the codebook
    python -m bot quotes theme CODE THEME --label "Shelters" [--language en] [--keywords "shelter,safe house"]
    python -m bot quotes suggest CODE [--language fr]      # keywords found in the written answers
    python -m bot quotes review CODE                       # code and decide, answer by answer
    python -m bot quotes list CODE                         # approved quotes
"""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.cli.common import Commands, open_database, print_table
from config.errors import ConfigError
from config.settings import Settings
from storage import themes as store
from storage.database import Database
from storage.privacy import KeyRing
from summaries.build import consultation_or_fail
from summaries.themes import only_removes, suggest_keywords, suggest_themes

THEME_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
Ask = Callable[[str], str]


def add_commands(commands: Commands) -> None:
    quotes = commands.add_parser(
        "quotes",
        help="written answers: themes, review, approved quotes",
        description="Written answers reach reviewers only as counts per theme and as quotes a facilitator "
        "approved (editing a quote may only remove words).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    q = quotes.add_subparsers(dest="quotes_command", required=True, metavar="ACTION")
    themes = q.add_parser("themes", help="list the codebook", description="List the consultation's themes.")
    themes.add_argument("code")
    themes.set_defaults(handler=cmd_themes)
    theme = q.add_parser("theme", help="add or change a theme", description="Add a theme, or change its label.")
    theme.add_argument("code")
    theme.add_argument("theme", help="a short code: lower-case letters, digits, _ (e.g. shelters)")
    theme.add_argument("--label", required=True, help="what reviewers read")
    theme.add_argument("--language", default="en", help="language of the label and keywords (default en)")
    theme.add_argument("--keywords", help="comma-separated words that suggest this theme")
    theme.add_argument("--delete", action="store_true", help="remove the theme from the codebook")
    theme.set_defaults(handler=cmd_theme)
    suggest = q.add_parser("suggest", help="keyword suggestions", description="Key phrases in the written answers.")
    suggest.add_argument("code")
    suggest.add_argument("--language", help="only answers in this language (default: each language)")
    suggest.add_argument("--top", type=int, default=15)
    suggest.set_defaults(handler=cmd_suggest)
    review = q.add_parser(
        "review",
        help="code written answers and decide about quotes",
        description="Show each written answer not yet reviewed: choose its themes, then approve it as a quote "
        "(as it is, or with words removed), reject it, skip it or stop.",
    )
    review.add_argument("code")
    review.set_defaults(handler=cmd_review)
    listing = q.add_parser("list", help="approved quotes", description="The quotes approved for publication.")
    listing.add_argument("code")
    listing.set_defaults(handler=cmd_list)


T = TypeVar("T")


def _run(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Open the database, do the work, close it."""

    async def go() -> T:
        database = await open_database(settings)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(go())


def cmd_themes(args: argparse.Namespace, settings: Settings) -> int:
    async def work(database: Database) -> list[store.CodebookEntry]:
        async with database.reader() as session:
            _, cid = await consultation_or_fail(session, args.code)
            return await store.codebook(session, cid)

    entries = _run(settings, work)
    if not entries:
        print(f"No themes yet. Add one with: python -m bot quotes theme {args.code} THEME --label ...")
        return 0
    rows = [
        (
            e.code,
            "; ".join(f"{k}: {v}" for k, v in e.labels.items()),
            "; ".join(f"{k}: {', '.join(v)}" for k, v in e.keywords.items()),
        )
        for e in entries
    ]
    print_table(("theme", "labels", "keywords"), rows)
    return 0


def cmd_theme(args: argparse.Namespace, settings: Settings) -> int:
    if not THEME_CODE.match(args.theme):
        raise ConfigError(f"{args.theme!r}: a theme code is lower-case letters, digits and _ (e.g. shelters)")

    async def work(database: Database) -> str:
        async with database.transaction() as session:
            _, cid = await consultation_or_fail(session, args.code)
            if args.delete:
                found = await store.delete_theme(session, cid, args.theme)
                return "deleted" if found else "not found"
            existing = {e.code: e for e in await store.codebook(session, cid)}
            entry = existing.get(args.theme)
            labels = dict(entry.labels) if entry else {}
            labels[args.language] = args.label
            keywords = dict(entry.keywords) if entry else {}
            if args.keywords is not None:
                keywords[args.language] = [k.strip() for k in args.keywords.split(",") if k.strip()]
            await store.save_theme(session, cid, args.theme, labels, keywords)
            return "saved"

    print(f"Theme {args.theme}: {_run(settings, work)}.")
    return 0


async def _answers(
    database: Database, code: str, keys: KeyRing, pending: bool
) -> tuple[int, list[store.WrittenAnswer]]:
    async with database.reader() as session:
        _, cid = await consultation_or_fail(session, code)
        return cid, await store.written_answers(session, cid, keys, pending_only=pending)


def cmd_suggest(args: argparse.Namespace, settings: Settings) -> int:
    keys = KeyRing(settings.secrets().keys)

    async def work(database: Database) -> tuple[int, list[store.WrittenAnswer]]:
        return await _answers(database, args.code, keys, pending=False)

    _, answers = _run(settings, work)
    languages = sorted({a.language or "en" for a in answers})
    for language in [args.language] if args.language else languages:
        texts = [a.text for a in answers if (a.language or "en") == language]
        words = suggest_keywords(texts, language, args.top)
        print(f"{language} ({len(texts)} answers): {', '.join(words) if words else '(none)'}")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    keys = KeyRing(settings.secrets().keys)

    async def work(database: Database) -> list[store.ApprovedQuote]:
        async with database.reader() as session:
            _, cid = await consultation_or_fail(session, args.code)
            return await store.approved_quotes(session, cid, keys)

    quotes = _run(settings, work)
    for quote in quotes:
        print(f"[{quote.question_id}] {quote.text}")
    print(f"{len(quotes)} approved quote(s).")
    return 0


def cmd_review(args: argparse.Namespace, settings: Settings) -> int:
    return review(args.code, settings, input)


def review(code: str, settings: Settings, ask: Ask) -> int:
    """The interactive review; `ask` reads one line (input() on a terminal, a script in tests)."""
    keys = KeyRing(settings.secrets().keys)

    async def work(database: Database) -> int:
        cid, answers = await _answers(database, code, keys, pending=True)
        async with database.reader() as session:
            codebook = await store.codebook(session, cid)
        print(f"{len(answers)} written answer(s) to review. Themes: {', '.join(e.code for e in codebook) or '(none)'}")
        done = 0
        for answer in answers:
            print(f"\n[{answer.question_id}] ({answer.language or '?'})\n{answer.text}")
            suggested = suggest_themes(answer.text, codebook, answer.language)
            line = ask(f"Themes [{','.join(suggested) or '-'}] (Enter: as suggested, - : none, q: stop): ").strip()
            if line == "q":
                break
            chosen = (
                suggested if line == "" else [] if line == "-" else [x.strip() for x in line.split(",") if x.strip()]
            )
            while True:
                decision = ask("Quote? a: approve as is, e: approve with words removed, r: reject, s: skip, q: stop: ")
                decision = decision.strip().lower()
                quote: str | None = None
                if decision == "e":
                    edited = ask("The quote, with words removed (mark a cut inside it with […]): ").strip()
                    if not only_removes(answer.text, edited):
                        print(
                            "Refused: a quote may only remove words from the answer, and a cut inside it is marked […]."
                        )
                        continue
                    quote = edited
                if decision in ("a", "e", "r", "s", "q"):
                    break
            if decision == "q":
                break
            if decision == "s":
                continue
            async with database.transaction() as session:
                await store.code_answer(session, cid, answer.answer_id, chosen)
                await store.decide(
                    session,
                    cid,
                    answer.answer_id,
                    keys,
                    quote=answer.text if decision == "a" else quote,
                    rejected=decision == "r",
                )
            done += 1
        print(f"\n{done} answer(s) reviewed.")
        return done

    _run(settings, work)
    return 0
