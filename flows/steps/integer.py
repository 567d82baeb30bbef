"""Step types `integer` and `decimal`: a number typed in (any script's digits, comma or point), within min/max.

Every number step has bounds (the loader refuses one without `min` and `max`); a number outside them, however
long, is asked again with the range, and only a number within them is recorded.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from config.i18n import t
from flows.events import AnswerRecorded
from flows.schema import FlowDefinition, Step
from flows.session import SessionState
from flows.steps.base import Move, Outcome, StepContext, StepType, step_type

LARGEST = 10**15
"""Bounds beyond this cannot be told apart once stored as numbers (double precision)."""
_WHOLE = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009'")
"""Spaces (and the apostrophe) people put between thousands."""


def _number(value: float) -> int | float:
    """A bound as the message should show it (formatted for the language by `t`)."""
    return int(value) if float(value).is_integer() else value


def as_code(value: Decimal) -> str:
    """A number as recorded: digits, a point, no exponent, no trailing zeros (`12.50` -> `12.5`)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "+0") else text


@step_type
class IntegerStep(StepType):
    name = "integer"
    whole = True

    def problems(self, step: Step, flow: FlowDefinition) -> list[str]:
        problems = super().problems(step, flow)
        kind = "whole numbers" if self.whole else "numbers"
        if step.min is None or step.max is None:
            article = "an" if self.name[0] in "aeiou" else "a"
            problems.append(
                f"{article} {self.name} step needs `min` and `max`: the {kind} a plausible answer lies between"
            )
            return problems
        if step.min > step.max:
            problems.append("`min` is larger than `max`")
        if max(abs(step.min), abs(step.max)) > LARGEST:
            problems.append(f"`min` and `max` must lie within ±{LARGEST:,}")
        if self.whole and not (float(step.min).is_integer() and float(step.max).is_integer()):
            problems.append("`min` and `max` of an integer step must be whole numbers")
        return problems

    def parse(self, text: str) -> Decimal | None:
        """The number typed, or None when the text is not one (a number of any length is read exactly)."""
        cleaned = text.strip().translate(_SPACES)
        if not self.whole:
            cleaned = cleaned.replace(",", ".")
        if len(cleaned) > 100 or not (_WHOLE if self.whole else _DECIMAL).fullmatch(cleaned):
            return None
        try:
            return Decimal(cleaned)
        except InvalidOperation:
            return None

    def on_text(self, step: Step, state: SessionState, text: str, ctx: StepContext) -> Outcome:
        value = self.parse(text)
        low, high = step.min, step.max
        if (
            value is None
            or (low is not None and value < Decimal(str(low)))
            or (high is not None and value > Decimal(str(high)))
        ):
            return self.reask(step, state, ctx, self.explain(step, ctx))
        return Outcome(Move.ADVANCE, (AnswerRecorded(step.id, codes=(as_code(value),)),))

    def explain(self, step: Step, ctx: StepContext) -> str:
        lang, low, high = ctx.language, step.min, step.max
        if low is None or high is None:  # only for a step the loader has not checked
            if self.whole:
                return t(lang, "Please send a whole number, using digits.")
            return t(lang, "Please send a number, using digits.")
        values = {"low": _number(low), "high": _number(high)}
        if self.whole:
            return t(lang, "Please send a whole number from %(low)s to %(high)s.", **values)
        return t(lang, "Please send a number from %(low)s to %(high)s.", **values)


@step_type
class DecimalStep(IntegerStep):
    name = "decimal"
    whole = False
