"""An expression that still fails while someone answers (load-time checks should make it impossible) passes its
step as not relevant, tells the operator which flow, version and step, never the answer, and the person goes on.

The failure is a function registered the way every expression function is, whose evaluation raises."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from flows.engine import Engine
from flows.events import AnswerDiscarded, AnswerRecorded, ChoiceInput, Event, ShowMessage, Start, TextInput
from flows.expressions import FUNCTIONS, Function, Node, Scope, Value
from flows.loader import parse_flow
from flows.session import SessionState, Status

SECRET = "My neighbour Amina at 0712345678"


class Boom(Function):
    name, arity = "boom", (0, 1)

    def call(self, arguments: tuple[Node, ...], scope: Scope) -> Value:
        raise ZeroDivisionError(f"cannot work with {scope.current}")  # the message would show the answer


@pytest.fixture(autouse=True)
def boom() -> Iterator[None]:
    FUNCTIONS["boom"] = Boom()
    try:
        yield
    finally:
        del FUNCTIONS["boom"]


BASE: dict[str, Any] = {
    "spec_version": 2,
    "id": "fragile",
    "version": 3,
    "audience": "cso",
    "languages": ["en"],
    "default_language": "en",
    "title": {"en": "Fragile"},
    "steps": [
        {"id": "consent", "type": "consent", "version": 1, "text": {"en": "Agree?"}, "decline_text": {"en": "No."}},
        {
            "id": "colour",
            "type": "single_choice",
            "text": {"en": "Colour?"},
            "options": [{"code": "red", "label": {"en": "Red"}}, {"code": "blue", "label": {"en": "Blue"}}],
        },
        {"id": "idea", "type": "free_text", "text": {"en": "Idea?"}},
        {"id": "last", "type": "yes_no", "text": {"en": "Last one?"}},
        {"id": "bye", "type": "end", "text": {"en": "Thank you."}},
    ],
}


def engine_with(step_id: str, **fields: Any) -> Engine:
    document = copy.deepcopy(BASE)
    next(s for s in document["steps"] if s["id"] == step_id).update(fields)
    return Engine(parse_flow(document, "fragile.yaml"))


def agreed(engine: Engine) -> tuple[SessionState, list[Event]]:
    state = engine.new_session("en")
    engine.handle(state, Start())
    return state, engine.handle(state, ChoiceInput(0, "y"))


def shown(events: list[Event]) -> list[str]:
    return [e.text for e in events if isinstance(e, ShowMessage)]


def logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", "") == "flow.expression_failed"]


def test_a_failing_relevant_passes_the_step(caplog: pytest.LogCaptureFixture) -> None:
    engine = engine_with("colour", relevant="boom() = 1")
    with caplog.at_level(logging.WARNING):
        state, events = agreed(engine)
    assert state.state == "idea" and shown(events)[-1] == "Idea?"
    assert AnswerDiscarded("colour") in events
    [record] = logged(caplog)
    assert record.getMessage() == (
        "flow fragile version 3, step colour: the relevant expression failed (ZeroDivisionError); "
        "the step was passed as not relevant"
    )
    assert (getattr(record, "flow", None), getattr(record, "step", None)) == ("fragile v3", "colour")


def test_a_failing_constraint_passes_the_step_without_recording_or_logging_the_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = engine_with("idea", constraint="boom(.)")
    state, _ = agreed(engine)
    engine.handle(state, ChoiceInput(1, "0"))
    with caplog.at_level(logging.DEBUG):
        events = engine.handle(state, TextInput(SECRET))
    assert not [e for e in events if isinstance(e, AnswerRecorded)]
    assert AnswerDiscarded("idea") in events and "idea" not in state.choices
    assert state.state == "last" and shown(events)[-1].startswith("Last one?")
    assert logged(caplog) and SECRET not in caplog.text and "0712345678" not in caplog.text


def test_a_failing_calculation_leaves_no_value_and_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    document = copy.deepcopy(BASE)
    document["steps"].insert(2, {"id": "score", "type": "calculate", "calculation": "boom()"})
    engine = Engine(parse_flow(document, "fragile.yaml"))
    state, _ = agreed(engine)
    with caplog.at_level(logging.WARNING):
        events = engine.handle(state, ChoiceInput(1, "1"))
    assert "score" not in state.choices and state.state == "idea" and shown(events) == ["Idea?"]
    assert [getattr(r, "step", None) for r in logged(caplog)] == ["score"]


def test_a_failing_choice_filter_passes_the_step(caplog: pytest.LogCaptureFixture) -> None:
    engine = engine_with("colour", choice_filter="boom() or name = 'red'")
    with caplog.at_level(logging.WARNING):
        state, events = agreed(engine)
    assert state.state == "idea" and shown(events)[-1] == "Idea?"
    assert [getattr(r, "step", None) for r in logged(caplog)] == ["colour"]


def test_a_choice_filter_that_leaves_no_option_passes_the_step() -> None:
    engine = engine_with("colour", choice_filter="name = 'green'")
    state, events = agreed(engine)
    assert state.state == "idea" and AnswerDiscarded("colour") in events


def test_a_failing_branch_condition_takes_the_next_branch(caplog: pytest.LogCaptureFixture) -> None:
    engine = engine_with("colour", next=[{"if": "boom()", "goto": "last"}])
    state, _ = agreed(engine)
    with caplog.at_level(logging.WARNING):
        events = engine.handle(state, ChoiceInput(1, "0"))
    assert state.state == "idea" and shown(events) == ["Idea?"]
    assert [getattr(r, "step", None) for r in logged(caplog)] == ["colour"]
    engine.handle(state, TextInput("More shade"))
    engine.handle(state, ChoiceInput(3, "0"))
    assert state.status is Status.COMPLETED
