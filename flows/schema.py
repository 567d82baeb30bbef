"""The flow definition schema (spec_version 1): what a questionnaire file may say, as pydantic models."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

CURRENT_SPEC_VERSION = 2

GROUP_STEP = "group"
"""The step id of the participant-group question ("Which group are you part of?": a person with lived
experience, a family member, a community member, ...): a single_choice step, in survivor flows only. Summaries
break answers down by its answer. A CSO flow (`audience: cso`) has no such question: everyone answering it
speaks for an organisation."""

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
    attributes: dict[str, str] = Field(default_factory=dict)
    """Extra columns (XLSForm choices sheet) that a `choice_filter` can test."""


class Branch(BaseModel):
    """One way on from a step: `goto` when `if` holds (no `if`: always)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    when: str | None = Field(default=None, alias="if")
    goto: Identifier


ROADMAP_ELEMENTS = (
    "priorities",
    "key_actions",
    "responsibilities",
    "timelines",
    "budget",
    "indicators",
    "survivor_inclusion",
    "participatory_approach",
)
"""The roadmap elements of the Alliance 8.7 Accountability Framework, in the order a review reads them: the only
`tags` a step may carry (summaries group answers by them)."""


class Step(BaseModel):
    """One step; which fields apply depends on `type` (each step type validates its own)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier
    type: str
    text: Text = Field(default_factory=dict)
    hint: Text | None = None
    options: tuple[Option, ...] = ()
    next: Identifier | tuple[Branch, ...] | None = None
    tags: tuple[str, ...] = ()
    relevant: str | None = None
    """Shown only when this expression holds (XLSForm `relevant`)."""
    constraint: str | None = None
    """An answer is taken only when this holds, `.` being the answer (XLSForm `constraint`)."""
    constraint_message: Text | None = None
    required: bool = False
    """No Skip. Refused in survivor flows: every survivor-facing question can be skipped."""
    choice_filter: str | None = None
    calculation: str | None = None
    max_length: int | None = Field(default=None, ge=1, le=4000)
    min: float | None = None
    max: float | None = None
    min_label: Text | None = None
    max_label: Text | None = None
    decline_text: Text | None = None
    version: int | None = Field(default=None, ge=1)
    bins: tuple[float, ...] | None = None
    """Integer/decimal steps: the edges summaries count answers between, e.g. [0, 10, 50, 100]."""
    keep_links: bool = False
    """Free-text steps of CSO flows: links (evidence URLs) survive redaction. Refused in survivor flows."""


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

    def following(self, step: Step) -> str | None:
        """The step after `step` in the file."""
        index = self.step_index(step.id)
        return self.steps[index + 1].id if index + 1 < len(self.steps) else None

    def branches(self, step: Step) -> tuple[Branch, ...]:
        """Where `step` can lead, in order; the last one has no condition (the file order by default)."""
        if isinstance(step.next, str):
            return (Branch(goto=step.next),)
        explicit = tuple(step.next or ())
        if explicit and explicit[-1].when is None:
            return explicit
        after = self.following(step)
        return (*explicit, Branch(goto=after)) if after is not None else explicit

    @property
    def group_step(self) -> Step | None:
        """The participant-group question (see GROUP_STEP), if the flow has one."""
        return next((step for step in self.steps if step.id == GROUP_STEP), None)

    def targets(self, step: Step) -> list[str]:
        return [branch.goto for branch in self.branches(step)]
