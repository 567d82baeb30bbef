"""Step types, one small registered class per file; importing this package registers them all."""

from flows.steps import consent, end, free_text, message, multiple_choice, single_choice
from flows.steps.base import REGISTRY, Outcome, StepContext, StepType, step_type

__all__ = [
    "REGISTRY",
    "Outcome",
    "StepContext",
    "StepType",
    "consent",
    "end",
    "free_text",
    "message",
    "multiple_choice",
    "single_choice",
    "step_type",
]
