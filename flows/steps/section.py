"""Step type `section`: a heading that opens a group of questions (XLSForm `begin group`); no answer."""

from flows.schema import Step
from flows.session import SessionState
from flows.steps.base import StepContext, StepType, step_type


@step_type
class SectionStep(StepType):
    name = "section"
    waits = False
    question = False
    holds_value = False

    def body(self, step: Step, state: SessionState, ctx: StepContext) -> str:
        return f"— {super().body(step, state, ctx)} —"
