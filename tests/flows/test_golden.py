"""Golden tests, goflow style: each step type has fixtures in testdata/steps/<type>.yaml — a small flow,
inputs, and the expected events. `UPDATE_GOLDEN=1 pytest tests/flows/test_golden.py` rewrites expectations;
review the diff. A step type without a fixture fails the registry walk below."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.engine import Engine
from flows.events import (
    AnswerDiscarded,
    AnswerRecorded,
    Choice,
    ChoiceInput,
    Command,
    CommandInput,
    ConsentDeclined,
    ConsentGiven,
    Event,
    ExitRequested,
    FlowCompleted,
    Input,
    SessionPaused,
    ShowMessage,
    ShowNotice,
    StaleInput,
    Start,
    TextInput,
    Timeout,
    Underage,
    UnsupportedInput,
)
from flows.loader import parse_flow
from flows.steps import REGISTRY

TESTDATA = Path(__file__).parent / "testdata" / "steps"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

CONSENT = {
    "id": "consent",
    "type": "consent",
    "version": 1,
    "text": {"en": "Agree?"},
    "decline_text": {"en": "Fine."},
}
END = {"id": "bye", "type": "end", "text": {"en": "Thank you."}}


def fixture_files() -> list[Path]:
    return sorted(TESTDATA.glob("*.yaml"))


def build_flow(fixture: dict[str, Any]) -> Engine:
    document = {
        "spec_version": 2,
        "id": "golden",
        "version": 1,
        "audience": fixture.get("audience", "cso"),
        "languages": ["en"],
        "default_language": "en",
        "title": {"en": "Golden"},
        "steps": [CONSENT, *fixture["steps"], END],
    }
    return Engine(parse_flow(document, "golden"), max_text_length=int(fixture.get("max_text_length", 100)))


def to_input(spec: str) -> Input:
    kind, _, rest = spec.partition(" ")
    if kind == "start":
        return Start()
    if kind == "press":
        index, _, token = rest.partition(".")
        return ChoiceInput(int(index), token)
    if kind == "text":
        return TextInput(rest)
    if kind == "command":
        return CommandInput(Command(rest))
    if kind == "media":
        return UnsupportedInput(rest)
    if kind == "timeout":
        return Timeout(int(rest))
    raise ValueError(f"unknown input {spec!r}")


def describe_choice(choice: Choice) -> str:
    """`label=token`, then `#n` when it may be typed as a number, and `✓` when ticked."""
    number = f" #{choice.number}" if choice.number is not None else ""
    return f"{choice.label}={choice.token}{number}{' ✓' if choice.selected else ''}"


def describe(event: Event) -> Any:
    if isinstance(event, ShowMessage):
        shown: dict[str, Any] = {"show": event.text}
        if event.options:
            shown["options"] = " | ".join(describe_choice(c) for c in event.options)
        if event.controls:
            shown["controls"] = [" | ".join(describe_choice(c) for c in group) for group in event.controls]
        if event.replace:
            shown["replace"] = True
        return shown
    if isinstance(event, ShowNotice):
        return {"notice": str(event.notice)}
    if isinstance(event, AnswerRecorded):
        if event.skipped:
            return {"skipped": event.question_id}
        if event.codes is not None:
            return {"answer": event.question_id, "codes": list(event.codes)}
        if event.limit is not None:
            return {"answer": event.question_id, "text": event.text, "limit": event.limit}
        return {"answer": event.question_id, "text": event.text}
    if isinstance(event, AnswerDiscarded):
        return {"discarded": event.question_id}
    names = {
        ConsentGiven: "consent given",
        ConsentDeclined: "consent declined",
        FlowCompleted: "completed",
        SessionPaused: "paused",
        StaleInput: "stale",
        Underage: "under 18",
        ExitRequested: "exit requested",
    }
    return names[type(event)]


def run_case(engine: Engine, inputs: list[str]) -> list[dict[str, Any]]:
    state = engine.new_session("en")
    transcript = []
    for spec in inputs:
        events = engine.handle(state, to_input(spec))
        transcript.append({"input": spec, "events": [describe(e) for e in events], "at": state.state})
    return transcript


def test_every_step_type_has_a_fixture() -> None:
    covered = {path.stem for path in fixture_files()}
    assert set(REGISTRY) - covered == set(), "step types without golden fixtures"


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: p.stem)
def test_golden(path: Path) -> None:
    fixture = yaml.safe_load(path.read_text(encoding="utf-8"))
    engine = build_flow(fixture)
    changed = False
    for case in fixture["cases"]:
        got = run_case(engine, case["inputs"])
        if UPDATE:
            changed |= case.get("expected") != got
            case["expected"] = got
        else:
            assert "expected" in case, f"{path.name}: case {case['name']!r} has no expectations (UPDATE_GOLDEN=1)"
            assert got == case["expected"], f"{path.name}: case {case['name']!r}"
    if UPDATE and changed:
        path.write_text(yaml.safe_dump(fixture, allow_unicode=True, sort_keys=False, width=110), encoding="utf-8")
