"""Step type `end`: the closing message (thank-you and what happens next); the flow is complete."""

from flows.schema import FlowDefinition, Step
from flows.steps.base import StepType, step_type


@step_type
class EndStep(StepType):
    name = "end"
    waits = False
    question = False
    holds_value = False

    def problems(self, step: Step, flow: FlowDefinition) -> list[str]:
        problems = super().problems(step, flow)
        if step.next is not None:
            problems.append("an end step cannot have `next`")
        return problems
