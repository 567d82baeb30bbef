"""Step types `integer` and `decimal`: a number typed in (any digits, comma or point), within min/max."""

from __future__ import annotations

import math

from config.i18n import t
from flows.events import AnswerRecorded
from flows.schema import Step
from flows.session import SessionState
from flows.steps.base import Move, Outcome, StepContext, StepType, step_type


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _number(value: float) -> int | float:
    """A bound as the message should show it (formatted for the language by `t`)."""
    return int(value) if float(value).is_integer() else value


@step_type
class IntegerStep(StepType):
    name = "integer"
    whole = True

    def parse(self, text: str) -> float | None:
        cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
        if self.whole:
            try:
                return float(int(cleaned))
            except ValueError:
                return None
        try:
            value = float(cleaned.replace(",", "."))
        except ValueError:
            return None
        return value if math.isfinite(value) else None

    def on_text(self, step: Step, state: SessionState, text: str, ctx: StepContext) -> Outcome:
        value = self.parse(text)
        low, high = step.min, step.max
        if value is None or (low is not None and value < low) or (high is not None and value > high):
            return self.reask(step, state, ctx, self.explain(step, ctx))
        return Outcome(Move.ADVANCE, (AnswerRecorded(step.id, codes=(_show(value),)),))

    def explain(self, step: Step, ctx: StepContext) -> str:
        lang, low, high = ctx.language, step.min, step.max
        if low is not None and high is not None:
            values = {"low": _number(low), "high": _number(high)}
            if self.whole:
                return t(lang, "Please send a whole number from %(low)s to %(high)s.", **values)
            return t(lang, "Please send a number from %(low)s to %(high)s.", **values)
        if low is not None:
            if self.whole:
                return t(lang, "Please send a whole number of at least %(low)s.", low=_number(low))
            return t(lang, "Please send a number of at least %(low)s.", low=_number(low))
        if high is not None:
            if self.whole:
                return t(lang, "Please send a whole number of at most %(high)s.", high=_number(high))
            return t(lang, "Please send a number of at most %(high)s.", high=_number(high))
        if self.whole:
            return t(lang, "Please send a whole number, using digits.")
        return t(lang, "Please send a number, using digits.")


@step_type
class DecimalStep(IntegerStep):
    name = "decimal"
    whole = False
