"""Step types, one small registered class per file; importing this package registers them all."""

from flows.steps import (
    acknowledge,
    age_gate,
    calculate,
    consent,
    date,
    end,
    free_text,
    integer,
    multiple_choice,
    note,
    rating,
    section,
    single_choice,
    yes_no,
)
from flows.steps.base import REGISTRY, Move, Outcome, StepContext, StepType, step_type

__all__ = [
    "REGISTRY",
    "Move",
    "Outcome",
    "StepContext",
    "StepType",
    "acknowledge",
    "age_gate",
    "calculate",
    "consent",
    "date",
    "end",
    "free_text",
    "integer",
    "multiple_choice",
    "note",
    "rating",
    "section",
    "single_choice",
    "step_type",
    "yes_no",
]
