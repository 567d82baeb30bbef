"""The step-type contract and registry: each type validates itself, renders a prompt, reads an answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from config.i18n import t
from flows.events import Button, Event, ShowMessage
from flows.schema import FlowDefinition, Step
from flows.session import SessionState

SKIP = "s"


@dataclass(frozen=True)
class StepContext:
    """What a step needs besides its definition: language, its index, and the free-text limit."""

    language: str
    step_index: int
    max_text_length: int

    def text(self, texts: dict[str, str]) -> str:
        return texts[self.language]


class Move(StrEnum):
    ADVANCE = "advance"  # answer taken: go to the next step
    STAY = "stay"  # same question again (with the events explaining why)
    DECLINE = "decline"  # the participant said no to consent
    STALE = "stale"  # a press that does not belong to this question


@dataclass(frozen=True)
class Outcome:
    move: Move
    events: tuple[Event, ...] = field(default=())


class StepType:
    """Base of every step type. `waits` is False for steps that show and move on (messages)."""

    name: ClassVar[str]
    waits: ClassVar[bool] = True
    question: ClassVar[bool] = True

    def problems(self, step: Step, flow: FlowDefinition) -> list[str]:
        """What is wrong with this step's definition (empty when fine)."""
        problems = []
        if step.options:
            problems.append(f"a {self.name} step takes no options")
        return problems

    def prompt(self, step: Step, state: SessionState, ctx: StepContext) -> ShowMessage:
        return ShowMessage(ctx.text(step.text), self.buttons(step, state, ctx), step_index=ctx.step_index)

    def buttons(self, step: Step, state: SessionState, ctx: StepContext) -> tuple[tuple[Button, ...], ...]:
        return ((Button(t(ctx.language, "Skip"), SKIP),),) if self.question else ()

    def on_text(self, step: Step, state: SessionState, text: str, ctx: StepContext) -> Outcome:
        return self.reask(step, state, ctx, t(ctx.language, "Please use the buttons below."))

    def on_choice(self, step: Step, state: SessionState, token: str, ctx: StepContext) -> Outcome:
        return Outcome(Move.STALE)

    def reask(self, step: Step, state: SessionState, ctx: StepContext, why: str) -> Outcome:
        """Explain kindly, then show the same question again."""
        return Outcome(Move.STAY, (ShowMessage(why), self.prompt(step, state, ctx)))


REGISTRY: dict[str, StepType] = {}


def step_type(cls: type[StepType]) -> type[StepType]:
    """Class decorator: register a step type under its `name`."""
    if cls.name in REGISTRY:
        raise ValueError(f"step type {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls()
    return cls


def option_rows(labels: list[tuple[str, str]]) -> tuple[tuple[Button, ...], ...]:
    """One option per row: labels of any length stay readable on a phone."""
    return tuple((Button(label, token),) for label, token in labels)


def match_option(text: str, labels: list[str]) -> int | None:
    """An option typed as its number (1-based) or its label (case and spacing ignored)."""
    cleaned = " ".join(text.split()).casefold().rstrip(".")
    if cleaned.isdigit():
        number = int(cleaned)
        return number - 1 if 1 <= number <= len(labels) else None
    for index, label in enumerate(labels):
        if " ".join(label.split()).casefold() == cleaned:
            return index
    return None


Checker = Callable[[Step, FlowDefinition], list[str]]
