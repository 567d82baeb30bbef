"""Step type `single_choice`: one option, chosen or typed as its label or number, or Skip."""

from __future__ import annotations

from typing import ClassVar

from flows.events import AnswerRecorded, Choice, Notice, ShowMessage
from flows.schema import Step
from flows.session import SessionState
from flows.steps.base import (
    Controls,
    Move,
    Outcome,
    StepContext,
    StepType,
    match_option,
    page_of,
    step_type,
    visible_options,
)

Entry = tuple[str, str, str]
"""(code, label, token): token is the option's index in the definition, so it stays stable."""


@step_type
class SingleChoiceStep(StepType):
    name = "single_choice"
    takes_options = True
    numbered: ClassVar[bool] = True
    """Options can be typed as their number (1 for the first...)."""

    def choices(self, step: Step, state: SessionState, ctx: StepContext) -> list[Entry]:
        return [(o.code, ctx.text(o.label), str(i)) for i, o in visible_options(step, state, ctx)]

    def selected(self, code: str, state: SessionState) -> bool:
        return False

    def prompt(self, step: Step, state: SessionState, ctx: StepContext) -> ShowMessage:
        offered = []
        for number, (code, label, token) in enumerate(self.choices(step, state, ctx), 1):
            selected = self.selected(code, state)
            offered.append(
                Choice(label, self.button_token(token, selected), number if self.numbered else None, selected)
            )
        shown, pages, state.page = page_of(offered, state.page, ctx)
        controls = (*pages, *self.controls(step, state, ctx))
        return ShowMessage(self.body(step, state, ctx), shown, controls, step_index=ctx.step_index)

    def controls(self, step: Step, state: SessionState, ctx: StepContext) -> Controls:
        return self.skip_controls(ctx)

    def on_text(self, step: Step, state: SessionState, text: str, ctx: StepContext) -> Outcome:
        choices = self.choices(step, state, ctx)
        index = match_option(text, [label for _, label, _ in choices])
        if index is None:
            return self.reask(step, state, ctx, self.not_understood())
        return self.picked(step, state, choices[index], ctx)

    def not_understood(self) -> Notice:
        return Notice.CHOOSE_OR_TYPE_NUMBER

    def on_choice(self, step: Step, state: SessionState, token: str, ctx: StepContext) -> Outcome:
        if token.startswith("p") and token[1:].isdigit():
            state.page = int(token[1:])
            prompt = self.prompt(step, state, ctx)
            return Outcome(
                Move.STAY, (ShowMessage(prompt.text, prompt.options, prompt.controls, ctx.step_index, True),)
            )
        for choice in self.choices(step, state, ctx):
            if choice[2] == token:
                return self.picked(step, state, choice, ctx)
        return super().on_choice(step, state, token, ctx)

    def picked(self, step: Step, state: SessionState, choice: Entry, ctx: StepContext) -> Outcome:
        state.page = 0
        return Outcome(Move.ADVANCE, (AnswerRecorded(step.id, codes=(choice[0],)),))
