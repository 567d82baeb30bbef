"""The step-type contract and registry: each type validates itself, describes its prompt (text, options,
controls), reads an answer. How options become buttons is the channel's business."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from config.i18n import t
from flows.events import AnswerRecorded, Choice, Event, Notice, QuestionCount, ShowMessage, ShowNotice, Terms
from flows.expressions import Expression, Scope
from flows.schema import FlowDefinition, Option, Step
from flows.session import SessionState

SKIP = "s"
EXIT = "x"
"""The "Exit and clear chat" control, on every question of a survivor flow."""
PAGE_SIZE = 10
"""Options offered per page of a long list; the others are behind "More ▶" and "◀ Back"."""


@dataclass(frozen=True)
class StepContext:
    """What a step needs besides its definition: language, its index, limits, compiled expressions, and for the
    consent message the consultation's terms and how many questions the flow asks."""

    language: str
    step_index: int
    max_text_length: int
    skippable: bool = True
    choice_filter: Expression | None = None
    terms: Terms | None = None
    questions: QuestionCount | None = None

    def text(self, texts: dict[str, str] | None) -> str:
        return (texts or {}).get(self.language, "")


class Move(StrEnum):
    ADVANCE = "advance"  # answer taken: go to the next step
    STAY = "stay"  # same question again (with the events explaining why)
    DECLINE = "decline"  # the participant said no to consent
    STALE = "stale"  # a choice that does not belong to this question


@dataclass(frozen=True)
class Outcome:
    move: Move
    events: tuple[Event, ...] = field(default=())


Controls = tuple[tuple[Choice, ...], ...]
"""Groups of controls, in order (see ShowMessage)."""


class StepType:
    """Base of every step type.

    `waits`: the step waits for the participant (notes and sections show and move on).
    `question`: it records an answer and can be skipped.
    `holds_value`: expressions can read a value from it (`${id}`).
    """

    name: ClassVar[str]
    waits: ClassVar[bool] = True
    question: ClassVar[bool] = True
    holds_value: ClassVar[bool] = True
    takes_options: ClassVar[bool] = False
    needs_text: ClassVar[bool] = True

    def problems(self, step: Step, flow: FlowDefinition) -> list[str]:
        """What is wrong with this step's definition (empty when fine)."""
        problems = []
        if step.options and not self.takes_options:
            problems.append(f"a {self.name} step takes no options")
        if self.takes_options and len(step.options) < 2:
            problems.append(f"a {self.name} step needs at least 2 options")
        counts = Counter(o.code for o in step.options)
        problems += [f"option code {c!r} appears twice" for c in sorted(c for c, n in counts.items() if n > 1)]
        if step.required and not self.question:
            problems.append(f"a {self.name} step has no answer, so it cannot be `required`")
        if (step.min is not None or step.max is not None) and self.name not in ("integer", "decimal", "rating"):
            problems.append("`min`/`max` apply to integer, decimal and rating steps only")
        if step.bins is not None:
            if self.name not in ("integer", "decimal"):
                problems.append("`bins` apply to integer and decimal steps only")
            elif len(step.bins) < 1 or any(b <= a for a, b in itertools.pairwise(step.bins)):
                problems.append("`bins` must be increasing numbers, e.g. [0, 10, 50, 100]")
        if step.keep_links:
            if self.name != "free_text":
                problems.append("`keep_links` applies to free_text steps only")
            elif flow.audience.value != "cso":
                problems.append("`keep_links` is refused in survivor flows: links could identify a survivor")
        return problems

    # ---- showing

    def body(self, step: Step, state: SessionState, ctx: StepContext) -> str:
        """The message text: the question, then its hint."""
        text = ctx.text(step.text)
        hint = ctx.text(step.hint)
        return f"{text}\n\n{hint}" if hint else text

    def prompt(self, step: Step, state: SessionState, ctx: StepContext) -> ShowMessage:
        return ShowMessage(
            self.body(step, state, ctx),
            self.options(step, state, ctx),
            self.controls(step, state, ctx),
            step_index=ctx.step_index,
        )

    def options(self, step: Step, state: SessionState, ctx: StepContext) -> tuple[Choice, ...]:
        """The answers offered, in order."""
        return ()

    def button_token(self, token: str, selected: bool) -> str:
        """What the button of the option with this `token` carries (a multiple choice says which way it ticks)."""
        return token

    def controls(self, step: Step, state: SessionState, ctx: StepContext) -> Controls:
        return self.skip_controls(ctx)

    def skip_controls(self, ctx: StepContext) -> Controls:
        return ((Choice(t(ctx.language, "Skip"), SKIP),),) if self.question and ctx.skippable else ()

    # ---- reading answers

    def on_text(self, step: Step, state: SessionState, text: str, ctx: StepContext) -> Outcome:
        return self.reask(step, state, ctx, Notice.USE_THE_OPTIONS)

    def on_choice(self, step: Step, state: SessionState, token: str, ctx: StepContext) -> Outcome:
        if token == SKIP:
            return self.on_skip(step, state, ctx) or Outcome(Move.STALE)
        return Outcome(Move.STALE)

    def on_skip(self, step: Step, state: SessionState, ctx: StepContext) -> Outcome | None:
        """The person skips this step (/skip, or its Skip control): None when it cannot be skipped."""
        if self.question and ctx.skippable:
            state.selections.clear()
            return skipped(step)
        return None

    def reask(self, step: Step, state: SessionState, ctx: StepContext, why: str | Notice) -> Outcome:
        """Explain kindly (a text, or a notice the channel words), then show the same question again."""
        explained = ShowNotice(why) if isinstance(why, Notice) else ShowMessage(why)
        return Outcome(Move.STAY, (explained, self.prompt(step, state, ctx)))


def skipped(step: Step) -> Outcome:
    return Outcome(Move.ADVANCE, (AnswerRecorded(step.id, skipped=True),))


REGISTRY: dict[str, StepType] = {}


def step_type(cls: type[StepType]) -> type[StepType]:
    """Class decorator: register a step type under its `name`."""
    if cls.name in REGISTRY:
        raise ValueError(f"step type {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls()
    return cls


def visible_options(step: Step, state: SessionState, ctx: StepContext) -> list[tuple[int, Option]]:
    """(index in the definition, option) for the options this participant may see (XLSForm choice_filter)."""
    options = list(enumerate(step.options))
    if ctx.choice_filter is None:
        return options
    return [
        (i, o)
        for i, o in options
        if ctx.choice_filter.holds(Scope(state.choices, attributes={"name": o.code, **o.attributes}))
    ]


def page_of(options: list[Choice], page: int, ctx: StepContext) -> tuple[tuple[Choice, ...], Controls, int]:
    """One page of a long option list: the options on it, the page controls ("◀ Back", "More ▶") and the page
    actually shown (a page past the end shows the last one)."""
    pages = max(1, -(-len(options) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = tuple(options[page * PAGE_SIZE : (page + 1) * PAGE_SIZE])
    if pages == 1:
        return shown, (), page
    turn = []
    if page > 0:
        turn.append(Choice(t(ctx.language, "◀ Back"), f"p{page - 1}"))
    if page < pages - 1:
        turn.append(Choice(t(ctx.language, "More ▶"), f"p{page + 1}"))
    return shown, (tuple(turn),), page


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
