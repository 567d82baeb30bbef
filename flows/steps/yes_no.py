"""Step type `yes_no`: Yes or No (labels from the interface catalog), or Skip."""

from __future__ import annotations

from config.i18n import t
from flows.schema import Step
from flows.session import SessionState
from flows.steps.base import StepContext, step_type
from flows.steps.single_choice import Entry, SingleChoiceStep


@step_type
class YesNoStep(SingleChoiceStep):
    name = "yes_no"
    takes_options = False

    def choices(self, step: Step, state: SessionState, ctx: StepContext) -> list[Entry]:
        return [("yes", t(ctx.language, "Yes"), "0"), ("no", t(ctx.language, "No"), "1")]
