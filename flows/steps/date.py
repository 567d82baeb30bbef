"""Step type `date`: a date typed as YYYY-MM-DD (or DD/MM/YYYY), checked, stored like free text."""

from __future__ import annotations

import re
from datetime import date

from config.i18n import t
from flows.events import AnswerRecorded
from flows.schema import Step
from flows.session import SessionState
from flows.steps.base import Move, Outcome, StepContext, StepType, step_type

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")


def parse_date(text: str) -> date | None:
    cleaned = text.strip()
    try:
        if match := _ISO.match(cleaned):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _DAY_FIRST.match(cleaned):
            return date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        return None
    return None


@step_type
class DateStep(StepType):
    name = "date"

    def on_text(self, step: Step, state: SessionState, text: str, ctx: StepContext) -> Outcome:
        value = parse_date(text)
        if value is None:
            why = t(ctx.language, "Please send a date like 2025-03-31 (year-month-day).")
            return self.reask(step, state, ctx, why)
        return Outcome(Move.ADVANCE, (AnswerRecorded(step.id, text=value.isoformat()),))
