"""Step type `age_gate`: an age band, asked right after consent in survivor flows. Under 18 ends the flow
kindly with help resources only, and everything given so far is erased (ILO-IPEC ethical guidelines).

It is the one survivor question that cannot be skipped: it has no Skip control, and skipping it anyway (/skip, or
a made-up press) is treated like under 18, since nobody's answers may be kept without knowing they are adults."""

from __future__ import annotations

from config.i18n import t
from flows.events import AnswerRecorded, ShowMessage, Underage
from flows.schema import FlowDefinition, Step
from flows.session import SessionState
from flows.steps.base import Controls, Move, Outcome, StepContext, step_type
from flows.steps.single_choice import Entry, SingleChoiceStep

UNDER_18 = "under_18"
BANDS = (UNDER_18, "18_24", "25_34", "35_49", "50_plus")


@step_type
class AgeGateStep(SingleChoiceStep):
    name = "age_gate"
    takes_options = False

    def problems(self, step: Step, flow: FlowDefinition) -> list[str]:
        problems = super().problems(step, flow)
        if flow.steps.index(step) != 1 or flow.steps[0].type != "consent":
            problems.append("the age_gate step must come right after the consent step")
        if step.relevant:
            problems.append("the age_gate step cannot have `relevant`")
        return problems

    def choices(self, step: Step, state: SessionState, ctx: StepContext) -> list[Entry]:
        labels = {
            UNDER_18: t(ctx.language, "Under 18"),
            "18_24": t(ctx.language, "18 to 24"),
            "25_34": t(ctx.language, "25 to 34"),
            "35_49": t(ctx.language, "35 to 49"),
            "50_plus": t(ctx.language, "50 or older"),
        }
        return [(code, labels[code], str(index)) for index, code in enumerate(BANDS)]

    def skip_controls(self, ctx: StepContext) -> Controls:
        return ()

    def on_skip(self, step: Step, state: SessionState, ctx: StepContext) -> Outcome:
        text = t(
            ctx.language,
            "Thank you for wanting to help. This consultation is only for adults (18 and over), and we need to "
            "know that before we can keep any answers. So we cannot take your answers, and nothing you gave has "
            "been kept.",
        )
        return Outcome(Move.DECLINE, (Underage(), ShowMessage(text)))

    def picked(self, step: Step, state: SessionState, choice: Entry, ctx: StepContext) -> Outcome:
        if choice[0] == UNDER_18:
            text = t(
                ctx.language,
                "Thank you for wanting to help. This consultation is only for adults (18 and over), "
                "so we cannot take your answers, and nothing you gave has been kept.",
            )
            return Outcome(Move.DECLINE, (Underage(), ShowMessage(text)))
        return Outcome(Move.ADVANCE, (AnswerRecorded(step.id, codes=(choice[0],)),))
