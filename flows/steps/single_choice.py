"""Step type `single_choice`: one option from buttons (or typed as its label or number), or Skip."""

from config.i18n import t
from flows.events import AnswerRecorded, Button
from flows.schema import FlowDefinition, Step
from flows.session import SessionState
from flows.steps.base import SKIP, Move, Outcome, StepContext, StepType, match_option, option_rows, step_type


@step_type
class SingleChoiceStep(StepType):
    name = "single_choice"

    def problems(self, step: Step, flow: FlowDefinition) -> list[str]:
        problems = []
        if len(step.options) < 2:
            problems.append(f"a {self.name} step needs at least 2 options")
        codes = [o.code for o in step.options]
        problems += [f"option code {c!r} appears twice" for c in sorted({c for c in codes if codes.count(c) > 1})]
        return problems

    def labels(self, step: Step, ctx: StepContext) -> list[str]:
        return [ctx.text(o.label) for o in step.options]

    def buttons(self, step: Step, state: SessionState, ctx: StepContext) -> tuple[tuple[Button, ...], ...]:
        rows = option_rows([(label, str(i)) for i, label in enumerate(self.labels(step, ctx))])
        return (*rows, *super().buttons(step, state, ctx))

    def on_text(self, step: Step, state: SessionState, text: str, ctx: StepContext) -> Outcome:
        index = match_option(text, self.labels(step, ctx))
        if index is None:
            return self.reask(
                step,
                state,
                ctx,
                t(ctx.language, "Please choose one of the buttons below, or type its number."),
            )
        return self.choose(step, index)

    def on_choice(self, step: Step, state: SessionState, token: str, ctx: StepContext) -> Outcome:
        if token == SKIP:
            return Outcome(Move.ADVANCE, (AnswerRecorded(step.id, skipped=True),))
        if token.isdigit() and int(token) < len(step.options):
            return self.choose(step, int(token))
        return Outcome(Move.STALE)

    def choose(self, step: Step, index: int) -> Outcome:
        return Outcome(Move.ADVANCE, (AnswerRecorded(step.id, codes=(step.options[index].code,)),))
