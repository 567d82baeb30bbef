"""Step type `single_choice`: one option from buttons (or typed as its label or number), or Skip."""

from __future__ import annotations

from config.i18n import t
from flows.events import AnswerRecorded, Button, ShowMessage
from flows.schema import Step
from flows.session import SessionState
from flows.steps.base import (
    Move,
    Outcome,
    StepContext,
    StepType,
    match_option,
    option_layout,
    step_type,
    visible_options,
)

Choice = tuple[str, str, str]
"""(code, label, token): token is the option's index in the definition, so it stays stable."""


@step_type
class SingleChoiceStep(StepType):
    name = "single_choice"
    takes_options = True

    def choices(self, step: Step, state: SessionState, ctx: StepContext) -> list[Choice]:
        return [(o.code, ctx.text(o.label), str(i)) for i, o in visible_options(step, state, ctx)]

    def label(self, code: str, label: str, state: SessionState) -> str:
        return label

    def prompt(self, step: Step, state: SessionState, ctx: StepContext) -> ShowMessage:
        choices = self.choices(step, state, ctx)
        lines, rows, state.page = option_layout(
            [(self.label(code, label, state), token) for code, label, token in choices], state.page, ctx
        )
        text = self.body(step, state, ctx)
        if lines:
            text = f"{text}\n\n" + "\n".join(lines)
        return ShowMessage(text, (*rows, *self.closing_rows(step, state, ctx)), step_index=ctx.step_index)

    def closing_rows(self, step: Step, state: SessionState, ctx: StepContext) -> tuple[tuple[Button, ...], ...]:
        return self.skip_row(ctx)

    def on_text(self, step: Step, state: SessionState, text: str, ctx: StepContext) -> Outcome:
        choices = self.choices(step, state, ctx)
        index = match_option(text, [label for _, label, _ in choices])
        if index is None:
            return self.reask(step, state, ctx, self.not_understood(ctx))
        return self.picked(step, state, choices[index], ctx)

    def not_understood(self, ctx: StepContext) -> str:
        return t(ctx.language, "Please choose one of the buttons below, or type its number.")

    def on_choice(self, step: Step, state: SessionState, token: str, ctx: StepContext) -> Outcome:
        if token.startswith("p") and token[1:].isdigit():
            state.page = int(token[1:])
            prompt = self.prompt(step, state, ctx)
            return Outcome(Move.STAY, (ShowMessage(prompt.text, prompt.buttons, ctx.step_index, replace=True),))
        for choice in self.choices(step, state, ctx):
            if choice[2] == token:
                return self.picked(step, state, choice, ctx)
        return super().on_choice(step, state, token, ctx)

    def picked(self, step: Step, state: SessionState, choice: Choice, ctx: StepContext) -> Outcome:
        state.page = 0
        return Outcome(Move.ADVANCE, (AnswerRecorded(step.id, codes=(choice[0],)),))
