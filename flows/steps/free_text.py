"""Step type `free_text`: an answer in the person's own words, up to a limit, or Skip."""

from config.i18n import t
from flows.events import AnswerRecorded, Notice, ShowMessage
from flows.schema import Step
from flows.session import SessionState
from flows.steps.base import Move, Outcome, StepContext, StepType, step_type

INVISIBLE = " \t\n\r\f\v\u00a0\u200b\u200c\u200d\u200e\u200f\u2060\u3000\ufeff"
"""Whitespace and invisible characters: an answer made only of these is empty."""


@step_type
class FreeTextStep(StepType):
    name = "free_text"

    def on_text(self, step: Step, state: SessionState, text: str, ctx: StepContext) -> Outcome:
        answer = text.strip(INVISIBLE)
        if not answer:
            if ctx.skippable:
                return self.reask(step, state, ctx, Notice.WRITE_OR_SKIP)
            return self.reask(step, state, ctx, t(ctx.language, "Please write your answer."))
        limit = min(step.max_length or ctx.max_text_length, ctx.max_text_length)
        if len(answer) <= limit:
            return Outcome(Move.ADVANCE, (AnswerRecorded(step.id, text=answer),))
        note = t(
            ctx.language,
            "Thank you. Your answer was very long, so I kept the first %(limit)s characters; the rest was not saved.",
            limit=limit,
        )
        return Outcome(Move.ADVANCE, (ShowMessage(note), AnswerRecorded(step.id, text=answer, limit=limit)))
