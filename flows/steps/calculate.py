"""Step type `calculate`: a value computed from earlier answers for later conditions; never shown."""

from flows.schema import FlowDefinition, Step
from flows.steps.base import StepType, step_type


@step_type
class CalculateStep(StepType):
    name = "calculate"
    waits = False
    question = False
    needs_text = False

    def problems(self, step: Step, flow: FlowDefinition) -> list[str]:
        problems = super().problems(step, flow)
        if not step.calculation:
            problems.append("a calculate step needs `calculation`")
        return problems
