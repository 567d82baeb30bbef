"""Step type `multiple_choice`: toggle any number of options, then Done (nothing chosen counts as skipped)."""

from config.i18n import t
from flows.events import AnswerRecorded, Button, ShowMessage
from flows.schema import FlowDefinition, Step
from flows.session import SessionState
from flows.steps.base import SKIP, Move, Outcome, StepContext, match_option, option_rows, step_type
from flows.steps.single_choice import SingleChoiceStep

DONE = "d"
CHECK = "✅ "


@step_type
class MultipleChoiceStep(SingleChoiceStep):
    name = "multiple_choice"

    def problems(self, step: Step, flow: FlowDefinition) -> list[str]:
        return super().problems(step, flow)

    def buttons(self, step: Step, state: SessionState, ctx: StepContext) -> tuple[tuple[Button, ...], ...]:
        chosen = set(state.selections)
        rows = option_rows(
            [
                ((CHECK if option.code in chosen else "") + ctx.text(option.label), str(i))
                for i, option in enumerate(step.options)
            ]
        )
        return (
            *rows,
            (Button(t(ctx.language, "Done"), DONE), Button(t(ctx.language, "Skip"), SKIP)),
        )

    def prompt(self, step: Step, state: SessionState, ctx: StepContext) -> ShowMessage:
        hint = t(ctx.language, "Choose all that apply, then press “Done”.")
        return ShowMessage(
            f"{ctx.text(step.text)}\n\n{hint}", self.buttons(step, state, ctx), step_index=ctx.step_index
        )

    def on_text(self, step: Step, state: SessionState, text: str, ctx: StepContext) -> Outcome:
        index = match_option(text, self.labels(step, ctx))
        if index is None:
            return self.reask(
                step,
                state,
                ctx,
                t(
                    ctx.language,
                    "Please choose from the buttons below (or type a number), then press “Done”.",
                ),
            )
        self.toggle(step, state, index)
        return Outcome(Move.STAY, (self.prompt(step, state, ctx),))

    def on_choice(self, step: Step, state: SessionState, token: str, ctx: StepContext) -> Outcome:
        if token == SKIP:
            state.selections.clear()
            return Outcome(Move.ADVANCE, (AnswerRecorded(step.id, skipped=True),))
        if token == DONE:
            order = [o.code for o in step.options]
            chosen = tuple(sorted(set(state.selections), key=order.index))
            state.selections.clear()
            if not chosen:
                return Outcome(Move.ADVANCE, (AnswerRecorded(step.id, skipped=True),))
            return Outcome(Move.ADVANCE, (AnswerRecorded(step.id, codes=chosen),))
        if token.isdigit() and int(token) < len(step.options):
            self.toggle(step, state, int(token))
            prompt = self.prompt(step, state, ctx)
            return Outcome(Move.STAY, (ShowMessage(prompt.text, prompt.buttons, ctx.step_index, replace=True),))
        return Outcome(Move.STALE)

    @staticmethod
    def toggle(step: Step, state: SessionState, index: int) -> None:
        code = step.options[index].code
        if code in state.selections:
            state.selections.remove(code)
        else:
            state.selections.append(code)
