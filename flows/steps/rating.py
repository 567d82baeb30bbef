"""Step type `rating`: a scale such as 1–5 with words at both ends, one option per point, or Skip."""

from __future__ import annotations

from flows.events import Notice
from flows.schema import FlowDefinition, Step
from flows.session import SessionState
from flows.steps.base import Outcome, StepContext, step_type
from flows.steps.single_choice import Entry, SingleChoiceStep


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@step_type
class RatingStep(SingleChoiceStep):
    name = "rating"
    takes_options = False
    numbered = False  # a typed point is its value, not its place: on a 0–10 scale "1" means 1

    def problems(self, step: Step, flow: FlowDefinition) -> list[str]:
        problems = super().problems(step, flow)
        low, high = step.min if step.min is not None else 1, step.max if step.max is not None else 5
        if not (float(low).is_integer() and float(high).is_integer()) or not 2 <= high - low + 1 <= 11:
            problems.append("a rating scale needs whole-number `min` and `max` with 2 to 11 points")
        return problems

    def points(self, step: Step) -> list[int]:
        low = int(step.min) if step.min is not None else 1
        high = int(step.max) if step.max is not None else 5
        return list(range(low, high + 1))

    def choices(self, step: Step, state: SessionState, ctx: StepContext) -> list[Entry]:
        return [(str(n), str(n), str(i)) for i, n in enumerate(self.points(step))]

    def body(self, step: Step, state: SessionState, ctx: StepContext) -> str:
        text = super().body(step, state, ctx)
        points = self.points(step)
        ends = []
        if step.min_label:
            ends.append(f"{points[0]} = {ctx.text(step.min_label)}")
        if step.max_label:
            ends.append(f"{points[-1]} = {ctx.text(step.max_label)}")
        return f"{text}\n\n" + "\n".join(ends) if ends else text

    def on_text(self, step: Step, state: SessionState, text: str, ctx: StepContext) -> Outcome:
        """A typed point is its value (on a 0–10 scale, "0" means 0), not its position."""
        cleaned = text.strip()
        if cleaned.isdigit():
            cleaned = str(int(cleaned))  # any script's digits: "٣" and "३" are 3
        for choice in self.choices(step, state, ctx):
            if choice[1] == cleaned:
                return self.picked(step, state, choice, ctx)
        return self.reask(step, state, ctx, Notice.CHOOSE_OR_TYPE_NUMBER)
