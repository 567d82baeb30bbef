"""Step type `consent`: informed consent before any question; 'Not now' ends the flow and stores nothing."""

from config.i18n import t, tn
from flows.events import (
    AnswerRecorded,
    Choice,
    ConsentDeclined,
    ConsentGiven,
    Notice,
    QuestionCount,
    ShowMessage,
    Terms,
)
from flows.schema import FlowDefinition, Step
from flows.session import SessionState
from flows.steps.base import Move, Outcome, StepContext, StepType, step_type

AGREE, DECLINE = "y", "n"


@step_type
class ConsentStep(StepType):
    name = "consent"
    question = False

    def problems(self, step: Step, flow: FlowDefinition) -> list[str]:
        problems = super().problems(step, flow)
        if step.decline_text is None:
            problems.append("a consent step needs `decline_text` (shown to someone who says 'Not now')")
        if step.version is None:
            problems.append("a consent step needs `version` (stored with each consent record)")
        if flow.steps.index(step) != 0:
            problems.append("the consent step must be the first step")
        if step.relevant:
            problems.append("the consent step cannot have `relevant`")
        return problems

    def body(self, step: Step, state: SessionState, ctx: StepContext) -> str:
        """The consent text, with the consultation's terms (who runs it, how long answers are kept) just before
        its question: a consent text ends with its question, in a paragraph of its own."""
        paragraphs = ctx.text(step.text).split("\n\n")
        if ctx.terms is not None:
            paragraphs.insert(len(paragraphs) - 1, terms_text(ctx.terms, ctx.language, ctx.questions))
        hint = ctx.text(step.hint)
        return "\n\n".join([*paragraphs, hint] if hint else paragraphs)

    def options(self, step: Step, state: SessionState, ctx: StepContext) -> tuple[Choice, ...]:
        return (Choice(t(ctx.language, "I agree"), AGREE), Choice(t(ctx.language, "Not now"), DECLINE))

    def on_text(self, step: Step, state: SessionState, text: str, ctx: StepContext) -> Outcome:
        return self.reask(step, state, ctx, Notice.AGREE_OR_NOT_NOW)

    def on_choice(self, step: Step, state: SessionState, token: str, ctx: StepContext) -> Outcome:
        if token == AGREE:
            return Outcome(
                Move.ADVANCE,
                (ConsentGiven(version=f"{step.id}-v{step.version}"), AnswerRecorded(step.id, codes=("agree",))),
            )
        if token == DECLINE:
            return Outcome(Move.DECLINE, (ConsentDeclined(), ShowMessage(ctx.text(step.decline_text))))
        return Outcome(Move.STALE)


def terms_text(terms: Terms, language: str, questions: QuestionCount | None = None) -> str:
    """How many questions there are (counted from the flow), who runs the consultation (when known) and how
    long its answers are kept, in one paragraph."""
    kept = tn(
        language,
        "Your answers are kept until %(n)s day after the consultation closes; then only the totals remain, and "
        "no total smaller than %(k)s is ever shown.",
        "Your answers are kept until %(n)s days after the consultation closes; then only the totals remain, and "
        "no total smaller than %(k)s is ever shown.",
        terms.retention_days,
        k=terms.min_cell,
    )
    sentences = [kept]
    if terms.organisation:
        sentences.insert(
            0, t(language, "This consultation is run by %(organisation)s.", organisation=terms.organisation)
        )
    if questions is not None and questions.number:
        sentences.insert(0, question_count_text(questions, language))
    return " ".join(sentences)


def question_count_text(questions: QuestionCount, language: str) -> str:
    if questions.at_most:
        return tn(language, "There is at most %(n)s question.", "There are at most %(n)s questions.", questions.number)
    return tn(language, "There is %(n)s question.", "There are %(n)s questions.", questions.number)
