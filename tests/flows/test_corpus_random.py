"""Every corpus XLSForm that imports is answered many times through the engine with random (seeded) answers:
buttons, typed labels and numbers, numbers far out of range or 400 digits long, odd text, dates, /skip, /back,
/pause, stickers, stale presses. Nothing may raise, no expression may fail (every one was checked at load),
every run must reach the end, and every number recorded must lie within its question's bounds."""

from __future__ import annotations

import logging
import random
import string
from decimal import Decimal
from pathlib import Path

import pytest

from config.errors import FlowError
from flows.engine import Engine
from flows.events import (
    AnswerRecorded,
    ChoiceInput,
    Command,
    CommandInput,
    ConsentDeclined,
    Event,
    ExitRequested,
    Input,
    ShowMessage,
    Start,
    TextInput,
    Timeout,
    Underage,
    UnsupportedInput,
)
from flows.loader import parse_flow
from flows.schema import FlowDefinition, Step
from flows.session import SessionState, Status
from flows.steps.base import EXIT, SKIP
from flows.xlsform import import_xlsform

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "xlsforms"
if not CORPUS.is_dir():
    pytest.skip(f"the XLSForm corpus is not here ({CORPUS}); CI always has it", allow_module_level=True)

RUNS = 12
RANDOM_INPUTS = 250
"""After this many random inputs a run answers plainly (Skip, or the first option) so it can finish."""
ODD_TEXTS = [
    "",
    " \u200b ",
    "x" * 10_000,
    "\ud800 lone surrogate",
    "🙂🙂",
    "مرحبا",
    "1e400",
    "-0",
    "NaN",
    "Infinity",
    "9" * 400,
    "0.5",
    "1,5",
    "12 000",
    "٤٢",
    "2020-02-30",
    "31/12/1999",
    "/start",
]


def imported_forms() -> list[tuple[str, str]]:
    found = []
    for path in sorted(CORPUS.iterdir()):
        if path.suffix not in (".xlsx", ".xls", ".csv", ".md"):
            continue
        for audience in ("cso", "survivor"):
            try:
                import_xlsform(path, audience=audience, skip_unsupported=True)
            except FlowError:
                continue  # pyxform refuses it (the corpus test says which and why)
            found.append((path.name, audience))
    return found


FORMS = imported_forms()


def flow_of(name: str, audience: str) -> FlowDefinition:
    result = import_xlsform(CORPUS / name, audience=audience, skip_unsupported=True)
    return parse_flow(result.document, name)


def test_the_corpus_has_forms_to_run() -> None:
    assert len(FORMS) >= 20


def random_text(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return rng.choice(ODD_TEXTS)
    alphabet = string.ascii_letters + string.digits + " .,-'éçñ"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))


def number_text(rng: random.Random, step: Step) -> str:
    low = Decimal(str(step.min)) if step.min is not None else Decimal(0)
    high = Decimal(str(step.max)) if step.max is not None else Decimal(100)
    roll = rng.random()
    if roll < 0.55:
        value = low + (high - low) * Decimal(rng.random())
        return str(value.to_integral_value() if step.type == "integer" else value.quantize(Decimal("0.01")))
    if roll < 0.7:
        return str(high + rng.randint(1, 10**6))
    if roll < 0.8:
        return str(low - rng.randint(1, 10**6))
    return random_text(rng)


def date_text(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return f"{rng.randint(1950, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return random_text(rng)


def tokens(prompt: ShowMessage) -> list[str]:
    return [choice.token for choice in prompt.choices if choice.token != EXIT]


def random_input(rng: random.Random, engine: Engine, state: SessionState, prompt: ShowMessage) -> Input:
    step = engine.step_of(state)
    index = engine.flow.step_index(step.id)
    roll = rng.random()
    if roll < 0.08:
        return CommandInput(Command.SKIP)
    if roll < 0.12:
        return CommandInput(Command.BACK)
    if roll < 0.13:
        return CommandInput(rng.choice([Command.PAUSE, Command.STOP]))
    if roll < 0.14:
        return UnsupportedInput("sticker")
    if roll < 0.15:
        return ChoiceInput(index + rng.choice([-1, 1, 7]), "0")
    if roll < 0.16:
        return Timeout(72)
    if step.type in ("integer", "decimal"):
        return TextInput(number_text(rng, step))
    if step.type == "date":
        return TextInput(date_text(rng))
    if step.type == "free_text":
        return TextInput(random_text(rng))
    choices = tokens(prompt)
    if step.type in ("single_choice", "multiple_choice", "rating", "yes_no", "age_gate") and rng.random() < 0.2:
        return TextInput(str(rng.randint(0, 12)) if rng.random() < 0.7 else random_text(rng))
    if step.type == "consent" and rng.random() < 0.9:
        return ChoiceInput(index, "y")
    if choices:
        return ChoiceInput(index, rng.choice(choices))
    return TextInput(random_text(rng))


PLAIN_TEXTS = ["Better labour inspection", "0712345678", "5", "yes"]
"""Typed answers that meet common constraints (a required question with a phone-number pattern, say)."""


def plain_input(engine: Engine, state: SessionState, prompt: ShowMessage, attempt: int) -> Input:
    """An answer that moves on: Skip, OK, Done, the first option, the smallest number, a plausible text."""
    step = engine.step_of(state)
    index = engine.flow.step_index(step.id)
    choices = tokens(prompt)
    if step.type in ("integer", "decimal"):
        return TextInput(str(int(step.min)) if step.min is not None and float(step.min).is_integer() else "1")
    if step.type == "date":
        return TextInput("2020-01-15")
    if step.type == "free_text":
        return TextInput(PLAIN_TEXTS[attempt % len(PLAIN_TEXTS)])
    if SKIP in choices:
        return ChoiceInput(index, SKIP)
    if step.type == "multiple_choice":
        return ChoiceInput(index, choices[0]) if state.selections == [] else ChoiceInput(index, "d")
    if step.type == "age_gate":
        return ChoiceInput(index, "2")
    if step.type == "consent":
        return ChoiceInput(index, "y")
    return ChoiceInput(index, choices[0]) if choices else CommandInput(Command.SKIP)


def check_recorded(flow: FlowDefinition, events: list[Event]) -> None:
    steps = {step.id: step for step in flow.steps}
    for event in events:
        if not isinstance(event, AnswerRecorded) or event.codes is None:
            continue
        step = steps[event.question_id]
        if step.type in ("integer", "decimal"):
            [code] = event.codes
            assert step.min is not None and step.max is not None
            assert Decimal(str(step.min)) <= Decimal(code) <= Decimal(str(step.max)), (step.id, code)
        elif step.type in ("single_choice", "multiple_choice"):
            assert set(event.codes) <= {o.code for o in step.options}, (step.id, event.codes)


def run_once(engine: Engine, rng: random.Random) -> Status:
    state = engine.new_session(rng.choice([*engine.flow.languages, "xx"]))
    events = engine.handle(state, Start())
    for count in range(RANDOM_INPUTS * 4):
        if state.finished:
            return state.status
        if not state.live:
            events = engine.handle(state, Start())
            continue
        prompt = engine.prompt(state)
        if count < RANDOM_INPUTS:
            given = random_input(rng, engine, state, prompt)
        else:
            given = plain_input(engine, state, prompt, count)
        events = engine.handle(state, given)
        check_recorded(engine.flow, events)
        if any(isinstance(e, ExitRequested | ConsentDeclined | Underage) for e in events) and not state.finished:
            return state.status
        assert state.state in {s.id for s in engine.flow.steps}
    raise AssertionError(f"{engine.flow.id}: no end after {RANDOM_INPUTS * 4} inputs (stuck at {state.state})")


@pytest.mark.parametrize(("name", "audience"), FORMS)
def test_random_answers_never_break_an_imported_form(
    name: str, audience: str, caplog: pytest.LogCaptureFixture
) -> None:
    flow = flow_of(name, audience)
    engine = Engine(flow)
    outcomes: dict[Status, int] = {}
    with caplog.at_level(logging.WARNING, logger="flows"):
        for run in range(RUNS):
            status = run_once(engine, random.Random(f"{name}:{audience}:{run}"))
            outcomes[status] = outcomes.get(status, 0) + 1
    assert not [r for r in caplog.records if getattr(r, "event", "") == "flow.expression_failed"], caplog.text
    assert outcomes.get(Status.COMPLETED, 0) >= RUNS // 2, outcomes
