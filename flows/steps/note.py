"""Step type `note`: shows a text and moves straight on (no answer)."""

from flows.steps.base import StepType, step_type


@step_type
class NoteStep(StepType):
    name = "note"
    waits = False
    question = False
    holds_value = False
