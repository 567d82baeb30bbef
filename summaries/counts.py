"""Per-question counts for a consultation (SQL aggregates), and how a count may be shown."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from babel.numbers import format_decimal, format_percent

from storage import repository as repo
from storage.database import Database
from storage.retention import snapshot_groups

MIN_SHOWN = 5
"""A count between 1 and MIN_SHOWN - 1 is shown as '<5' (the never-below floor from MISSION.md)."""


@dataclass
class QuestionCounts:
    question_id: str
    answered: int = 0
    skipped: int = 0
    written: int = 0  # free-text answers (their text never leaves storage here)
    options: Counter[str] = field(default_factory=Counter)


@dataclass
class ConsultationCounts:
    code: str
    title: str
    respondents: int
    questions: dict[str, QuestionCounts]


async def consultation_counts(database: Database, code: str) -> ConsultationCounts | None:
    """Counts from the live answers plus, once retention purged them, the aggregate snapshot kept in their place."""
    async with database.reader() as session:
        consultation = await repo.consultation_by_code(session, code)
        if consultation is None or consultation.id is None:
            return None
        kept_respondents, kept_groups = await snapshot_groups(session, consultation.id)
        groups = kept_groups + await repo.answer_groups(session, consultation.id)
        respondents = kept_respondents + await repo.respondent_count(session, consultation.id)
    questions: dict[str, QuestionCounts] = {}
    for group in groups:
        counts = questions.setdefault(group.question_id, QuestionCounts(group.question_id))
        if group.skipped:
            counts.skipped += group.count
            continue
        counts.answered += group.count
        if group.has_text:
            counts.written += group.count
        for code_ in (group.choice_codes or "").split():
            counts.options[code_] += group.count
    return ConsultationCounts(consultation.code, consultation.title, respondents, questions)


def shown(count: int, minimum: int = MIN_SHOWN, locale: str | None = None) -> str:
    """How a count may be published: 0 and counts of at least `minimum` as they are (in the locale's digits and
    grouping when one is given), others as '<minimum'."""
    if count == 0 or count >= minimum:
        return format_decimal(count, locale=locale) if locale else str(count)
    return f"<{format_decimal(minimum, locale=locale) if locale else minimum}"


def share(part: int, whole: int, locale: str, minimum: int = MIN_SHOWN) -> str:
    """`part` as a percentage of `whole`, for the locale; empty when either count is suppressed."""
    if whole < minimum or 0 < part < minimum:
        return ""
    return format_percent(part / whole, locale=locale)
