"""Step type `multiple_choice`: tick any number of options, then Done (nothing chosen counts as skipped).

An option's button says what pressing it does as shown: tick it ("t" and its index) where it is shown unticked,
untick it ("u") where it is shown ticked. A press is done once however often it comes: a second tap while the
first is on its way (a slow network), or a tap on an older copy of the question, leaves the option as the person
saw they were making it, where a toggle would undo the first. A typed option, and a button with the bare index
(sent before buttons said which way), toggles."""

from __future__ import annotations

from config.i18n import t
from flows.events import AnswerRecorded, Choice, Notice, ShowMessage
from flows.schema import Step
from flows.session import SessionState
from flows.steps.base import Controls, Move, Outcome, StepContext, skipped, step_type
from flows.steps.single_choice import Entry, SingleChoiceStep

DONE = "d"
TICK, UNTICK = "t", "u"


@step_type
class MultipleChoiceStep(SingleChoiceStep):
    name = "multiple_choice"

    def selected(self, code: str, state: SessionState) -> bool:
        return code in state.selections

    def button_token(self, token: str, selected: bool) -> str:
        return (UNTICK if selected else TICK) + token

    def body(self, step: Step, state: SessionState, ctx: StepContext) -> str:
        hint = t(ctx.language, "Choose all that apply, then press “Done”.")
        return f"{super().body(step, state, ctx)}\n\n{hint}"

    def controls(self, step: Step, state: SessionState, ctx: StepContext) -> Controls:
        done = Choice(t(ctx.language, "Done"), DONE)
        skip = self.skip_controls(ctx)
        return ((done, *skip[0]),) if skip else ((done,),)

    def not_understood(self) -> Notice:
        return Notice.CHOOSE_THEN_DONE

    def on_choice(self, step: Step, state: SessionState, token: str, ctx: StepContext) -> Outcome:
        if token == DONE:
            order = [o.code for o in step.options]
            chosen = tuple(sorted(set(state.selections), key=order.index))
            if not chosen:
                if not ctx.skippable:
                    return self.reask(step, state, ctx, t(ctx.language, "Please choose at least one option."))
                return skipped(step)
            state.selections.clear()
            state.page = 0
            return Outcome(Move.ADVANCE, (AnswerRecorded(step.id, codes=chosen),))
        if token[:1] in (TICK, UNTICK) and token[1:].isdigit():
            for choice in self.choices(step, state, ctx):
                if choice[2] == token[1:]:
                    return self.ticked(step, state, choice[0], token[0] == TICK, ctx)
        return super().on_choice(step, state, token, ctx)

    def ticked(self, step: Step, state: SessionState, code: str, tick: bool, ctx: StepContext) -> Outcome:
        """The option ticked or unticked as the button pressed said (nothing changes when it already is), and
        the message pressed on shown again as it now stands."""
        if tick and code not in state.selections:
            state.selections.append(code)
        elif not tick and code in state.selections:
            state.selections.remove(code)
        prompt = self.prompt(step, state, ctx)
        return Outcome(Move.STAY, (ShowMessage(prompt.text, prompt.options, prompt.controls, ctx.step_index, True),))

    def picked(self, step: Step, state: SessionState, choice: Entry, ctx: StepContext) -> Outcome:
        """A typed option, or a button from before buttons said which way: toggles."""
        return self.ticked(step, state, choice[0], choice[0] not in state.selections, ctx)

    def on_text(self, step: Step, state: SessionState, text: str, ctx: StepContext) -> Outcome:
        outcome = super().on_text(step, state, text, ctx)
        if outcome.move is Move.STAY and outcome.events and isinstance(outcome.events[-1], ShowMessage):
            last = outcome.events[-1]
            if last.replace:  # a typed option toggles it: show the list again as a new message
                return Outcome(Move.STAY, (ShowMessage(last.text, last.options, last.controls, ctx.step_index),))
        return outcome
