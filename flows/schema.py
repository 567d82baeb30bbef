"""The flow definition schema (spec_version 1): what a questionnaire file may say, as pydantic models."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

CURRENT_SPEC_VERSION = 1

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Text = dict[str, str]
"""A text in every language the flow declares: {"en": "...", "fr": "..."}."""


class Audience(StrEnum):
    SURVIVOR = "survivor"
    CSO = "cso"


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Identifier
    label: Text


class Step(BaseModel):
    """One step; which fields apply depends on `type` (each step type validates its own)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier
    type: str
    text: Text
    options: tuple[Option, ...] = ()
    next: Identifier | None = None
    tags: tuple[str, ...] = ()
    max_length: int | None = Field(default=None, ge=1, le=4000)
    decline_text: Text | None = None
    version: int | None = Field(default=None, ge=1)


class FlowDefinition(BaseModel):
    """A whole questionnaire, already migrated to the current spec_version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec_version: int
    id: Identifier
    version: int = Field(ge=1)
    audience: Audience
    languages: tuple[str, ...] = Field(min_length=1)
    default_language: str
    title: Text
    steps: tuple[Step, ...] = Field(min_length=1)

    @property
    def key(self) -> tuple[str, int]:
        return (self.id, self.version)

    def step_index(self, step_id: str) -> int:
        for index, step in enumerate(self.steps):
            if step.id == step_id:
                return index
        raise KeyError(step_id)

    def next_of(self, step: Step) -> str | None:
        """The step that follows `step`: its `next`, else the one after it in the file."""
        if step.next is not None:
            return step.next
        index = self.step_index(step.id)
        return self.steps[index + 1].id if index + 1 < len(self.steps) else None
