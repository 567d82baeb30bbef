"""Step type `consent`: informed consent before any question; 'Not now' ends the flow and stores nothing."""

from config.i18n import t
from flows.events import AnswerRecorded, Button, ConsentDeclined, ConsentGiven, ShowMessage
from flows.schema import FlowDefinition, Step
from flows.session import SessionState
from flows.steps.base import Move, Outcome, StepContext, StepType, step_type

AGREE, DECLINE = "y", "n"


@step_type
class ConsentStep(StepType):
    name = "consent"
    question = False

    def problems(self, step: Step, flow: FlowDefinition) -> list[str]:
        problems = super().problems(step, flow)
        if step.decline_text is None:
            problems.append("a consent step needs `decline_text` (shown to someone who says 'Not now')")
        if step.version is None:
            problems.append("a consent step needs `version` (stored with each consent record)")
        if flow.steps.index(step) != 0:
            problems.append("the consent step must be the first step")
        if step.relevant:
            problems.append("the consent step cannot have `relevant`")
        return problems

    def buttons(self, step: Step, state: SessionState, ctx: StepContext) -> tuple[tuple[Button, ...], ...]:
        return ((Button(t(ctx.language, "I agree"), AGREE), Button(t(ctx.language, "Not now"), DECLINE)),)

    def on_text(self, step: Step, state: SessionState, text: str, ctx: StepContext) -> Outcome:
        return self.reask(step, state, ctx, t(ctx.language, "Please press “I agree” or “Not now” below."))

    def on_choice(self, step: Step, state: SessionState, token: str, ctx: StepContext) -> Outcome:
        if token == AGREE:
            return Outcome(
                Move.ADVANCE,
                (ConsentGiven(version=f"{step.id}-v{step.version}"), AnswerRecorded(step.id, codes=("agree",))),
            )
        if token == DECLINE:
            return Outcome(Move.DECLINE, (ConsentDeclined(), ShowMessage(ctx.text(step.decline_text))))
        return Outcome(Move.STALE)
