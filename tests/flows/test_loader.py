"""Loader and validator: good flows load; broken ones fail at load time naming the file, step and problem."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.errors import FlowError
from flows.loader import DEFINITIONS_DIR, FlowLibrary, load_flow, parse_flow

MINIMAL: dict[str, Any] = {
    "spec_version": 1,
    "id": "mini",
    "version": 1,
    "audience": "cso",
    "languages": ["en", "fr"],
    "default_language": "en",
    "title": {"en": "Mini", "fr": "Mini"},
    "steps": [
        {
            "id": "consent",
            "type": "consent",
            "version": 1,
            "text": {"en": "Agree?", "fr": "D'accord ?"},
            "decline_text": {"en": "Fine.", "fr": "Bien."},
        },
        {
            "id": "color",
            "type": "single_choice",
            "text": {"en": "Colour?", "fr": "Couleur ?"},
            "options": [
                {"code": "red", "label": {"en": "Red", "fr": "Rouge"}},
                {"code": "blue", "label": {"en": "Blue", "fr": "Bleu"}},
            ],
        },
        {"id": "bye", "type": "end", "text": {"en": "Bye", "fr": "Salut"}},
    ],
}


def broken(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(MINIMAL)
    for path, value in changes.items():
        target: Any = doc
        *parents, last = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return doc


def test_minimal_flow_loads() -> None:
    flow = parse_flow(copy.deepcopy(MINIMAL), "mini.yaml")
    assert [s.id for s in flow.steps] == ["consent", "color", "bye"]


def test_every_shipped_flow_loads() -> None:
    library = FlowLibrary.from_directory(DEFINITIONS_DIR)
    assert "roadmap_feedback" in library.ids()
    flow = library.latest("roadmap_feedback")
    questions = [s for s in flow.steps if s.type in ("single_choice", "multiple_choice", "free_text")]
    assert 5 <= len(questions) <= 8
    assert set(flow.languages) >= {"en", "fr"}
    # an earlier version stays available for the consultations still on it
    assert library.get("roadmap_feedback", 1).version == 1 and flow.version > 1


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        (broken(steps__1__id="consent"), "step 'consent': id used more than once"),
        (broken(steps__1__next="nowhere"), "step 'color': next 'nowhere' is not a step of this flow"),
        (broken(steps__1__text={"en": "Colour?"}), "step 'color': text: missing text in fr"),
        (broken(steps__1__type="teleport"), "step 'color': unknown type 'teleport'"),
        (broken(steps__1__options=[]), "step 'color': a single_choice step needs at least 2 options"),
        (broken(steps__0__decline_text=None), "step 'consent': a consent step needs `decline_text`"),
        (broken(default_language="es"), "default_language 'es' is not among languages"),
        (broken(spec_version=99), "spec_version 99 is newer than this program understands"),
        (broken(steps__2__type="message"), "step 'bye': the last step must be an end step"),
    ],
)
def test_broken_flows_fail_with_file_step_and_problem(doc: dict[str, Any], problem: str) -> None:
    with pytest.raises(FlowError) as raised:
        parse_flow(doc, "broken.yaml")
    assert str(raised.value).startswith("broken.yaml: ")
    assert problem in str(raised.value)


def test_unreachable_step_is_reported() -> None:
    doc = copy.deepcopy(MINIMAL)
    doc["steps"][0]["next"] = "bye"  # skips 'color'
    with pytest.raises(FlowError, match="step 'color': cannot be reached from the first step"):
        parse_flow(doc, "x.yaml")


def test_option_label_in_undeclared_language_is_reported() -> None:
    doc = copy.deepcopy(MINIMAL)
    doc["steps"][1]["options"][0]["label"]["de"] = "Rot"
    with pytest.raises(FlowError, match="option 'red': text in undeclared language de"):
        parse_flow(doc, "x.yaml")


def test_yaml_yes_and_no_stay_words(tmp_path: Path) -> None:
    doc = copy.deepcopy(MINIMAL)
    doc["steps"][1]["options"][0]["label"] = {"en": "PLACEHOLDER_YES", "fr": "Oui"}
    text = yaml.safe_dump(doc, allow_unicode=True).replace("PLACEHOLDER_YES", "Yes")
    path = tmp_path / "yes.yaml"
    path.write_text(text, encoding="utf-8")
    flow = load_flow(path)
    assert flow.steps[1].options[0].label["en"] == "Yes"


def test_unreadable_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("steps: [unclosed", encoding="utf-8")
    with pytest.raises(FlowError, match=r"bad\.yaml: cannot read"):
        load_flow(path)


def test_survivor_flows_must_ask_the_age_band_after_consent() -> None:
    doc = copy.deepcopy(MINIMAL)
    doc["audience"] = "survivor"
    with pytest.raises(FlowError, match="must ask the age band"):
        parse_flow(doc, "x.yaml")
    doc["steps"].insert(1, {"id": "age", "type": "age_gate", "text": {"en": "Age?", "fr": "Âge ?"}})
    assert parse_flow(doc, "x.yaml").steps[1].type == "age_gate"


def test_required_is_refused_in_survivor_flows() -> None:
    doc = copy.deepcopy(MINIMAL)
    doc["audience"] = "survivor"
    doc["steps"].insert(1, {"id": "age", "type": "age_gate", "text": {"en": "Age?", "fr": "Âge ?"}})
    doc["steps"][2]["required"] = True
    with pytest.raises(FlowError, match="step 'color': `required` is not allowed in a survivor flow"):
        parse_flow(doc, "x.yaml")


def test_every_choice_of_a_step_can_be_carried_back() -> None:
    """A choice comes back as (step index, token); a token has at most MAX_TOKEN_LENGTH characters, so a step
    offers at most 10,000 options (the channels' button data is sized for that: see bot/callback_data.py)."""
    doc = copy.deepcopy(MINIMAL)
    options = [{"code": f"o{i}", "label": {"en": f"O{i}", "fr": f"O{i}"}} for i in range(10_000)]
    doc["steps"][1]["options"] = options
    assert len(parse_flow(copy.deepcopy(doc), "x.yaml").steps[1].options) == 10_000
    doc["steps"][1]["options"] = [*options, {"code": "one_more", "label": {"en": "More", "fr": "Plus"}}]
    with pytest.raises(FlowError, match="step 'color': 10001 options are too many to offer"):
        parse_flow(doc, "x.yaml")
