"""Step type `message`: shows a text and moves straight on (no answer)."""

from flows.steps.base import StepType, step_type


@step_type
class MessageStep(StepType):
    name = "message"
    waits = False
    question = False
