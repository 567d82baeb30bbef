"""`flows lint` and start-up refuse what would fail or mislead mid-conversation, and warn about what a CSO flow
should think twice about; the library picks up flows written while the bot runs."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from config.errors import FlowError
from flows.loader import DEFINITIONS_DIR, FlowLibrary, advise, flow_files, load_flow, parse_flow
from flows.schema import GROUP_STEP
from tests.flows.test_loader import MINIMAL

NUMBER = {"id": "staff", "type": "integer", "min": 0, "max": 500, "text": {"en": "Staff?", "fr": "Personnel ?"}}


def flow_with(*steps: dict[str, Any], audience: str = "cso") -> dict[str, Any]:
    document = copy.deepcopy(MINIMAL)
    document["audience"] = audience
    extra = [copy.deepcopy(s) for s in steps]
    if audience == "survivor":
        extra.insert(0, {"id": "age", "type": "age_gate", "text": {"en": "Age?", "fr": "Âge ?"}})
    document["steps"][1:1] = extra
    return document


def problems(document: dict[str, Any]) -> str:
    with pytest.raises(FlowError) as raised:
        parse_flow(document, "lint.yaml")
    return str(raised.value)


def text(en: str) -> dict[str, str]:
    return {"en": en, "fr": en}


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        (
            {**NUMBER, "min": None, "max": None},
            "step 'staff': an integer step needs `min` and `max`",
        ),
        ({**NUMBER, "type": "decimal", "max": None}, "step 'staff': a decimal step needs `min` and `max`"),
        ({**NUMBER, "min": 10, "max": 1}, "step 'staff': `min` is larger than `max`"),
        ({**NUMBER, "max": 10**16}, "step 'staff': `min` and `max` must lie within"),
        ({**NUMBER, "max": 2.5}, "`min` and `max` of an integer step must be whole numbers"),
        (
            {**NUMBER, "tags": ["indicators", "timelines", "indicators"]},
            "step 'staff': tag 'indicators' is listed more than once",
        ),
        (
            {**NUMBER, "tags": ["indicators", "budgets"]},
            "step 'staff': tag 'budgets' is not a roadmap element (known: priorities, key_actions,",
        ),
        ({**NUMBER, "relevant": "FALSE"}, "step 'staff': relevant: `FALSE` is not a value in an expression"),
        ({**NUMBER, "relevant": ". > 1"}, "relevant: `.` (the answer being checked) means something only in a"),
        ({**NUMBER, "constraint": "regex(., '(?=1)')"}, "constraint: regex() pattern '(?=1)' cannot be used"),
        ({**NUMBER, "relevant": "${bye} = ''"}, "relevant: refers to bye, which has no answer"),
        ({**NUMBER, "choice_filter": "name = 'x'"}, "`choice_filter` applies to single_choice and multiple_choice"),
        ({**NUMBER, "calculation": "1 + 1"}, "`calculation` applies to calculate steps only"),
        (
            {"id": "intro", "type": "note", "text": text("Hi"), "constraint": ". = 1"},
            "`constraint` applies to questions only",
        ),
    ],
)
def test_lint_refuses(step: dict[str, Any], problem: str) -> None:
    step = {k: v for k, v in step.items() if v is not None}
    assert problem in problems(flow_with(step))


def test_the_last_step_needs_an_unconditional_way_on() -> None:
    document = copy.deepcopy(MINIMAL)
    document["steps"][-1] = {
        "id": "last",
        "type": "yes_no",
        "text": text("Last?"),
        "next": [{"if": "${last} = 'yes'", "goto": "color"}],
    }
    assert "step 'last': `next` needs a branch without `if`" in problems(document)


IDENTIFYING = [
    ({"id": "who", "type": "free_text", "text": {"en": "What is your name?", "fr": "Quel est votre nom ?"}}, "a name"),
    ({"id": "q1", "type": "free_text", "text": {"en": "Where?", "fr": "Votre adresse ?"}}, "an address"),
    ({"id": "mobile", "type": "integer", "min": 0, "max": 10**12, "text": text("Your number?")}, "a phone number"),
    (
        {"id": "q2", "type": "date", "text": {"en": "Date of birth?", "fr": "Date de naissance ?"}},
        "an exact date of birth",
    ),
    ({"id": "q3", "type": "free_text", "text": text("Your e-mail?")}, "an e-mail address"),
    ({"id": "q4", "type": "free_text", "text": text("Passport number?")}, "an ID or document number"),
]


@pytest.mark.parametrize(("step", "kind"), IDENTIFYING)
def test_identifying_questions_are_refused_in_survivor_flows(step: dict[str, Any], kind: str) -> None:
    found = problems(flow_with(step, audience="survivor"))
    assert f"step {step['id']!r}: asks for {kind}, which would identify a person" in found
    assert "survivor flows never ask this" in found


@pytest.mark.parametrize(("step", "kind"), IDENTIFYING)
def test_identifying_questions_are_a_warning_in_cso_flows(step: dict[str, Any], kind: str) -> None:
    flow = parse_flow(flow_with(step), "cso.yaml")
    assert [w for w in advise(flow) if f"asks for {kind}" in w]


def test_words_that_ask_not_to_give_something_are_not_a_question_for_it() -> None:
    step = {
        "id": "idea",
        "type": "free_text",
        "text": {"en": "What should change? Please do not write names or phone numbers.", "fr": "Quoi ?"},
    }
    assert parse_flow(flow_with(step, audience="survivor"), "ok.yaml")


def test_shipped_flows_have_no_problem_and_cso_flows_no_group_question() -> None:
    for path in sorted(DEFINITIONS_DIR.glob("*.yaml")):
        flow = load_flow(path)
        assert advise(flow) == [], path
        assert (flow.group_step is not None) == (flow.audience == "survivor"), path
        for step in flow.steps:
            assert len(set(step.tags)) == len(step.tags), (path, step.id)
    barriers_other = load_flow(DEFINITIONS_DIR / "cso_consultation.yaml").steps
    follow_up = next(s for s in barriers_other if s.id == "barriers_other")
    assert follow_up.relevant == "selected(${barriers}, 'other')" and not follow_up.required
    assert len(follow_up.text) == 6 and follow_up.hint is not None and len(follow_up.hint) == 6


def test_the_participant_group_question_is_the_step_called_group() -> None:
    survivor = load_flow(DEFINITIONS_DIR / "roadmap_feedback.yaml")
    assert GROUP_STEP == "group" and survivor.group_step is not None and survivor.group_step.type == "single_choice"


def test_earlier_versions_stay_available_for_consultations_pinned_to_them() -> None:
    library = FlowLibrary.from_directory()
    assert library.get("cso_consultation", 1).version == 1
    assert library.latest("cso_consultation").version == 2
    assert any(p.parent.name == "previous" for p in flow_files())


def test_cli_lint_prints_warnings_and_fails_on_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    step = {"id": "who", "type": "free_text", "text": {"en": "Your full name?", "fr": "Votre nom ?"}}
    cso = tmp_path / "cso.yaml"
    cso.write_text(yaml.safe_dump(flow_with(step), allow_unicode=True), encoding="utf-8")
    survivor = tmp_path / "survivor.yaml"
    survivor.write_text(yaml.safe_dump(flow_with(step, audience="survivor"), allow_unicode=True), encoding="utf-8")
    assert main(["flows", "lint", str(cso)]) == 0
    assert "warning: step 'who': asks for a name" in capsys.readouterr().out
    assert main(["flows", "lint", str(survivor)]) == 1
    assert "FAIL" in capsys.readouterr().out


# ---------------------------------------------------------------- flows added while the bot runs


def test_a_flow_written_while_running_is_picked_up_without_restart(tmp_path: Path) -> None:
    directory = tmp_path / "definitions"
    directory.mkdir()
    shutil.copy(DEFINITIONS_DIR / "roadmap_feedback.yaml", directory)
    library = FlowLibrary.from_directory(directory)
    with pytest.raises(FlowError, match="no flow named 'mini'"):
        library.latest("mini")
    (directory / "mini.yaml").write_text(yaml.safe_dump(MINIMAL, allow_unicode=True), encoding="utf-8")
    assert library.get("mini", 1).id == "mini"
    newer = {**copy.deepcopy(MINIMAL), "version": 2}
    (directory / "previous").mkdir()
    (directory / "previous" / "mini.v2.yaml").write_text(yaml.safe_dump(newer), encoding="utf-8")
    assert library.latest("mini").version == 2


def test_a_broken_or_changed_file_never_stops_the_running_library(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "definitions"
    directory.mkdir()
    (directory / "mini.yaml").write_text(yaml.safe_dump(MINIMAL, allow_unicode=True), encoding="utf-8")
    library = FlowLibrary.from_directory(directory)
    (directory / "broken.yaml").write_text("steps: [unclosed", encoding="utf-8")
    changed = copy.deepcopy(MINIMAL)
    changed["title"] = {"en": "Changed", "fr": "Changé"}
    (directory / "mini.yaml").write_text(yaml.safe_dump(changed, allow_unicode=True), encoding="utf-8")
    with pytest.raises(FlowError, match="version 7 is not available"):
        library.get("mini", 7)
    assert library.get("mini", 1).title["en"] == "Mini"
    assert "broken.yaml: cannot read" in caplog.text and "already in use" in caplog.text
