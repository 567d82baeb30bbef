"""The engine alone: inputs in, events out, state moved through the shared transitions machine."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence

import pytest

from flows.engine import Engine
from flows.events import (
    AnswerRecorded,
    ChoiceInput,
    Command,
    CommandInput,
    ConsentDeclined,
    ConsentGiven,
    FlowCompleted,
    Notice,
    QuestionCount,
    SessionPaused,
    ShowMessage,
    ShowNotice,
    StaleInput,
    Start,
    Terms,
    TextInput,
    UnsupportedInput,
)
from flows.loader import parse_flow, shipped_library
from flows.session import SessionState, Status
from flows.steps import REGISTRY
from tests.flows.test_loader import MINIMAL


@pytest.fixture
def engine() -> Engine:
    doc = copy.deepcopy(MINIMAL)
    doc["steps"].insert(
        2,
        {
            "id": "foods",
            "type": "multiple_choice",
            "text": {"en": "Foods?", "fr": "Plats ?"},
            "options": [
                {"code": "rice", "label": {"en": "Rice", "fr": "Riz"}},
                {"code": "beans", "label": {"en": "Beans", "fr": "Haricots"}},
                {"code": "fish", "label": {"en": "Fish", "fr": "Poisson"}},
            ],
        },
    )
    doc["steps"].insert(3, {"id": "note", "type": "message", "text": {"en": "Almost done.", "fr": "Presque fini."}})
    doc["steps"].insert(
        4, {"id": "idea", "type": "free_text", "max_length": 20, "text": {"en": "Idea?", "fr": "Idée ?"}}
    )
    return Engine(parse_flow(doc, "engine.yaml"), max_text_length=50)


def agreed(engine: Engine, lang: str = "en") -> SessionState:
    state = engine.new_session(lang)
    engine.handle(state, Start())
    engine.handle(state, ChoiceInput(0, "y"))
    return state


def answers(events: Sequence[object]) -> list[AnswerRecorded]:
    return [e for e in events if isinstance(e, AnswerRecorded)]


def test_start_shows_consent_with_agree_and_not_now(engine: Engine) -> None:
    state = engine.new_session("fr")
    [shown] = engine.handle(state, Start())
    assert isinstance(shown, ShowMessage)
    assert shown.text == "D'accord ?"
    assert [c.token for c in shown.choices] == ["y", "n"]
    assert state.status is Status.NEW


def test_consent_given_moves_to_first_question(engine: Engine) -> None:
    state = engine.new_session("en")
    events = engine.handle(state, ChoiceInput(0, "y"))
    assert any(isinstance(e, ConsentGiven) and e.version == "consent-v1" for e in events)
    assert state.state == "color" and state.status is Status.ACTIVE
    assert isinstance(events[-1], ShowMessage) and events[-1].text == "Colour?"


def test_declining_consent_ends_and_records_nothing(engine: Engine) -> None:
    state = engine.new_session("en")
    events = engine.handle(state, ChoiceInput(0, "n"))
    assert isinstance(events[0], ConsentDeclined)
    assert not answers(events)
    assert state.status is Status.DECLINED


def test_choice_by_button_by_label_and_by_number(engine: Engine) -> None:
    cases: list[tuple[ChoiceInput | TextInput, str]] = [
        (ChoiceInput(1, "1"), "blue"),
        (TextInput("  bLuE "), "blue"),
        (TextInput("1"), "red"),
    ]
    for given, code in cases:
        state = agreed(engine)
        [answer] = answers(engine.handle(state, given))
        assert answer.codes == (code,)
        assert state.state == "foods"


def test_unmatched_text_reasks_with_the_options(engine: Engine) -> None:
    state = agreed(engine)
    events = engine.handle(state, TextInput("purple"))
    assert state.state == "color" and not answers(events)
    assert events[0] == ShowNotice(Notice.CHOOSE_OR_TYPE_NUMBER)
    assert isinstance(events[1], ShowMessage) and [c.number for c in events[1].options] == [1, 2]


def test_multiple_choice_ticks_then_done(engine: Engine) -> None:
    state = agreed(engine)
    engine.handle(state, ChoiceInput(1, "0"))
    [toggled] = engine.handle(state, ChoiceInput(2, "t2"))
    assert isinstance(toggled, ShowMessage) and toggled.replace
    ticked = {c.label: c.selected for c in toggled.options}
    assert ticked == {"Rice": False, "Beans": False, "Fish": True}
    # each button says which way it goes: a second "tick fish" (a double tap) leaves fish ticked
    assert {c.label: c.token for c in toggled.options} == {"Rice": "t0", "Beans": "t1", "Fish": "u2"}
    [again] = engine.handle(state, ChoiceInput(2, "t2"))
    assert isinstance(again, ShowMessage) and [c.selected for c in again.options] == [False, False, True]
    engine.handle(state, ChoiceInput(2, "t0"))
    engine.handle(state, ChoiceInput(2, "u2"))  # untick fish
    engine.handle(state, ChoiceInput(2, "u1"))  # beans was not ticked: nothing changes
    events = engine.handle(state, ChoiceInput(2, "d"))
    assert answers(events)[0].codes == ("rice",)
    # the message step shows and moves straight on to the free-text question
    shown = [e.text for e in events if isinstance(e, ShowMessage)]
    assert shown == ["Almost done.", "Idea?"]
    assert state.state == "idea"


def test_done_with_nothing_chosen_counts_as_skipped(engine: Engine) -> None:
    state = agreed(engine)
    engine.handle(state, ChoiceInput(1, "0"))
    [answer] = answers(engine.handle(state, ChoiceInput(2, "d")))
    assert answer.skipped and answer.codes is None


def test_every_question_can_be_skipped_by_button_and_command(engine: Engine) -> None:
    state = agreed(engine)
    assert answers(engine.handle(state, ChoiceInput(1, "s")))[0].skipped
    assert answers(engine.handle(state, CommandInput(Command.SKIP)))[0].skipped
    events = engine.handle(state, ChoiceInput(4, "s"))
    assert answers(events)[0].skipped
    assert isinstance(events[-1], FlowCompleted) and state.status is Status.COMPLETED


def test_free_text_empty_reasks_and_long_is_cut_at_the_limit(engine: Engine) -> None:
    state = agreed(engine)
    engine.handle(state, ChoiceInput(1, "s"))
    engine.handle(state, ChoiceInput(2, "s"))
    assert not answers(engine.handle(state, TextInput("   ")))
    assert state.state == "idea"
    events = engine.handle(state, TextInput("x" * 10_000))
    [answer] = answers(events)
    # the step's max_length (below the engine-wide 50), applied when the answer is stored, after its redaction
    assert answer.text == "x" * 10_000 and answer.limit == 20
    assert any(isinstance(e, ShowMessage) and "first 20 characters" in e.text for e in events)
    assert state.status is Status.COMPLETED


def test_stale_button_changes_nothing(engine: Engine) -> None:
    state = agreed(engine)
    engine.handle(state, ChoiceInput(1, "0"))
    before = copy.deepcopy(state)
    assert engine.handle(state, ChoiceInput(1, "1")) == [StaleInput()]
    assert engine.handle(state, ChoiceInput(2, "99")) == [StaleInput()]
    assert state == before


def test_unsupported_input_gets_one_line_pointing_to_the_question_on_screen(engine: Engine) -> None:
    """Issue 10, item 5: the question was sent again for each sticker, leaving live-looking copies of it."""
    state = agreed(engine)
    assert engine.handle(state, UnsupportedInput("sticker")) == [ShowNotice(Notice.QUESTION_ABOVE)]
    assert engine.handle(state, UnsupportedInput("command")) == [ShowNotice(Notice.UNKNOWN_COMMAND)]
    assert state.state == "color"


def test_stop_pauses_and_start_resumes_at_the_same_question(engine: Engine) -> None:
    state = agreed(engine)
    engine.handle(state, ChoiceInput(1, "0"))
    events = engine.handle(state, CommandInput(Command.STOP))
    assert isinstance(events[0], SessionPaused) and state.status is Status.STOPPED
    restored = SessionState.from_row(state.state, state.language, state.status, state.to_json())
    events = engine.handle(restored, Start())
    assert restored.status is Status.ACTIVE
    assert events[-1].text.startswith("Foods?")  # type: ignore[union-attr]
    assert restored.choices == {"consent": ["agree"], "color": ["red"]}


def test_session_state_round_trips_without_free_text(engine: Engine) -> None:
    state = agreed(engine)
    engine.handle(state, ChoiceInput(1, "s"))
    engine.handle(state, ChoiceInput(2, "s"))
    engine.handle(state, TextInput("my secret idea"))
    assert "secret" not in state.to_json()


def test_a_copied_state_is_equal_and_changes_apart(engine: Engine) -> None:
    state = agreed(engine)
    engine.handle(state, ChoiceInput(1, "0"))
    copied = state.copy()
    assert copied == state and copied.to_json() == state.to_json()
    engine.handle(state, ChoiceInput(2, "s"))  # the next question answered on the original only
    state.choices["color"].append("blue")
    state.selections.append("rice")
    assert copied.history == ["consent", "color"] and copied.choices == {"consent": ["agree"], "color": ["red"]}
    assert copied.selections == [] and copied.state == "foods"
    assert SessionState.from_row(copied.state, copied.language, copied.status, copied.to_json()) == copied
    for name in (f.name for f in dataclasses.fields(SessionState)):  # a field added later is copied apart too
        value = getattr(copied, name)
        assert not isinstance(value, list | dict | set) or value is not getattr(state, name), name


def test_machines_are_shared_and_models_removed() -> None:
    flow = shipped_library().latest("roadmap_feedback")
    engine = Engine(flow)
    for _ in range(50):
        state = engine.new_session("en")
        engine.handle(state, ChoiceInput(0, "y"))
        engine.handle(state, ChoiceInput(1, "0"))
    assert engine.machine.machine.models == []


def test_a_choice_from_the_current_question_resumes_a_paused_session(engine: Engine) -> None:
    state = agreed(engine)
    engine.handle(state, CommandInput(Command.PAUSE))
    assert state.status is Status.PAUSED
    assert engine.handle(state, ChoiceInput(0, "y")) == [StaleInput()]  # an old message: still paused
    assert state.status is Status.PAUSED
    [answer] = answers(engine.handle(state, ChoiceInput(1, "1")))
    assert answer.codes == ("blue",) and state.live  # active again


def test_consent_names_the_organisation_and_retention_just_before_its_question() -> None:
    doc = copy.deepcopy(MINIMAL)
    doc["steps"][0]["text"] = {"en": "About this survey.\n\nDo you agree?", "fr": "À propos.\n\nD'accord ?"}
    engine = Engine(parse_flow(doc, "terms"))
    terms = Terms(retention_days=30, organisation="CSO Lima", min_cell=12)
    [shown] = engine.handle(engine.new_session("en"), Start(), terms)
    assert isinstance(shown, ShowMessage)
    assert shown.text == (
        "About this survey.\n\nThere is 1 question. This consultation is run by CSO Lima. Your answers are kept "
        "until 30 days after the consultation closes; then only the totals remain, and no total smaller than 12 "
        "is ever shown.\n\nDo you agree?"
    )
    [alone] = engine.handle(engine.new_session("en"), Start(), Terms(retention_days=1))
    assert isinstance(alone, ShowMessage)
    assert alone.text.startswith("About this survey.\n\nThere is 1 question. Your answers are kept until 1 day after")


def test_the_consent_counts_the_questions_of_its_flow() -> None:
    """Issue 10, item 7: the consent said 7 questions while the README said six. The number now comes from the
    flow: every question (the age band too), and "at most" when some are asked only after certain answers."""
    doc = copy.deepcopy(MINIMAL)
    doc["steps"][0]["text"] = {"en": "About this survey.\n\nDo you agree?", "fr": "À propos.\n\nD'accord ?"}
    extra = {"id": "why", "type": "free_text", "text": {"en": "Why?", "fr": "Pourquoi ?"}}
    doc["steps"].insert(-1, {**extra, "relevant": f"${{{doc['steps'][1]['id']}}} != ''"})
    engine = Engine(parse_flow(doc, "count"))
    [shown] = engine.handle(engine.new_session("fr"), Start(), Terms(retention_days=30))
    assert isinstance(shown, ShowMessage)
    assert shown.text.startswith("À propos.\n\nIl y a au plus 2 questions. Vos réponses sont gardées")
    for flow_id in shipped_library().ids():
        flow = shipped_library().latest(flow_id)
        counted = Engine(flow).questions
        assert counted.number == sum(1 for step in flow.steps if REGISTRY[step.type].question)
    assert Engine(shipped_library().latest("roadmap_feedback")).questions == QuestionCount(7, at_most=False)
