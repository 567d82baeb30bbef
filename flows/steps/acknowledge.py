"""Step type `acknowledge`: one OK option (XLSForm `acknowledge`), or Skip."""

from config.i18n import t
from flows.events import AnswerRecorded, Choice
from flows.schema import Step
from flows.session import SessionState
from flows.steps.base import Move, Outcome, StepContext, StepType, step_type

OK = "k"


@step_type
class AcknowledgeStep(StepType):
    name = "acknowledge"

    def options(self, step: Step, state: SessionState, ctx: StepContext) -> tuple[Choice, ...]:
        return (Choice(t(ctx.language, "OK"), OK),)

    def on_text(self, step: Step, state: SessionState, text: str, ctx: StepContext) -> Outcome:
        if text.strip().casefold() in ("ok", t(ctx.language, "OK").casefold()):
            return self.on_choice(step, state, OK, ctx)
        return super().on_text(step, state, text, ctx)

    def on_choice(self, step: Step, state: SessionState, token: str, ctx: StepContext) -> Outcome:
        if token == OK:
            return Outcome(Move.ADVANCE, (AnswerRecorded(step.id, codes=("ok",)),))
        return super().on_choice(step, state, token, ctx)
