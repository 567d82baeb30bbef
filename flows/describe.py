"""A flow's questions described as plain data, in every language of the flow: what summaries need to count and
label answers (they never import the engine). Generated options (yes/no, age bands, rating points) included."""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.engine import engine_for
from flows.schema import Audience, Branch, FlowDefinition
from flows.steps import REGISTRY
from flows.steps.age_gate import UNDER_18

GROUP_QUESTION = "group"
"""The step id of "Which group are you part of?" in survivor flows: the participant groups of cross-tabs."""


@dataclass(frozen=True)
class QuestionDescription:
    id: str
    type: str
    text: dict[str, str]
    tags: tuple[str, ...] = ()
    options: tuple[tuple[str, dict[str, str]], ...] = ()
    """(code, {language: label}) of every answer a choice step can record, in order."""
    multiple: bool = False
    numeric: bool = False
    written: bool = False  # free text: counted, coded into themes, quoted after approval
    bins: tuple[float, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    ends: tuple[dict[str, str], dict[str, str]] | None = None  # a rating's words at both ends


@dataclass(frozen=True)
class FlowDescription:
    id: str
    version: int
    audience: str
    title: dict[str, str]
    languages: tuple[str, ...]
    default_language: str
    questions: tuple[QuestionDescription, ...] = field(default=())
    group_question: str | None = None
    ordered: tuple[str, ...] = ()
    """The questions everyone passes in this order on their way further: in a flow without jumps, those shown
    without a condition (no `relevant`, no `choice_filter`). Empty when the flow jumps."""


def describe(flow: FlowDefinition) -> FlowDescription:
    engine = engine_for(flow)
    questions = []
    for step in flow.steps:
        kind = REGISTRY[step.type]
        if not kind.question:
            continue
        options: list[tuple[str, dict[str, str]]] = []
        labels = {lang: engine.answer_labels(step.id, lang) for lang in flow.languages}
        for code in labels[flow.default_language]:
            if step.type == "age_gate" and code == UNDER_18:
                continue  # never stored: an under-18 answer erases everything the person gave
            options.append((code, {lang: labels[lang].get(code, code) for lang in flow.languages}))
        ends = (dict(step.min_label), dict(step.max_label)) if step.min_label and step.max_label else None
        questions.append(
            QuestionDescription(
                id=step.id,
                type=step.type,
                text=dict(step.text),
                tags=tuple(dict.fromkeys(step.tags)),
                options=tuple(options),
                multiple=step.type == "multiple_choice",
                numeric=step.type in ("integer", "decimal"),
                written=step.type == "free_text",
                bins=tuple(step.bins) if step.bins else None,
                minimum=step.min,
                maximum=step.max,
                ends=ends,
            )
        )
    group = next((q.id for q in questions if q.id == GROUP_QUESTION and q.options), None)
    steps = {step.id: step for step in flow.steps}
    unconditional = tuple(q.id for q in questions if not (steps[q.id].relevant or steps[q.id].choice_filter))
    return FlowDescription(
        id=flow.id,
        version=flow.version,
        audience=flow.audience.value,
        title=dict(flow.title),
        languages=flow.languages,
        default_language=flow.default_language,
        questions=tuple(questions),
        group_question=group if flow.audience is Audience.SURVIVOR else None,
        ordered=() if _jumps(flow) else unconditional,
    )


def _jumps(flow: FlowDefinition) -> bool:
    """Some step leads elsewhere than the next one in the file (a branch, a `next`)."""
    for step in flow.steps:
        following = flow.following(step)
        if flow.branches(step) != ((Branch(goto=following),) if following is not None else ()):
            return True
    return False
