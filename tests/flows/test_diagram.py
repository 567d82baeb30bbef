"""`flows diagram`: a Mermaid state diagram drawn by transitions from the engine's own machine config."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.cli import main
from flows.diagram import mermaid
from flows.loader import DEFINITIONS_DIR, parse_flow, shipped_library
from flows.machine import machine_config


def test_roadmap_feedback_diagram_has_every_step_and_edge() -> None:
    flow = shipped_library().latest("roadmap_feedback")
    source = mermaid(flow)
    assert source.startswith("---\ntitle: roadmap_feedback v2\n---\nstateDiagram-v2\n")
    for step in flow.steps:
        assert f'state "{step.id} · {step.type}" as {step.id}' in source
    edges = set(re.findall(r"^\s*(\w+) --> (\w+)", source, re.M))
    expected = {(t["source"], t["dest"]) for t in machine_config(flow)["transitions"]}
    assert expected <= edges and len(expected) == len(flow.steps) - 1
    assert f"[*] --> {flow.steps[0].id}" in source and "thanks --> [*]" in source


def test_conditions_label_their_edges_and_relevant_is_noted() -> None:
    document: dict[str, Any] = {
        "spec_version": 2,
        "id": "branching",
        "version": 3,
        "audience": "cso",
        "languages": ["en"],
        "default_language": "en",
        "title": {"en": "Branching"},
        "steps": [
            {"id": "consent", "type": "consent", "version": 1, "text": {"en": "OK?"}, "decline_text": {"en": "Bye"}},
            {
                "id": "works",
                "type": "yes_no",
                "text": {"en": "Do you work?"},
                "next": [{"if": "${works} = 'no'", "goto": "thanks"}],
            },
            {
                "id": "hours",
                "type": "integer",
                "min": 0,
                "max": 100,
                "text": {"en": "Hours?"},
                "relevant": "${works} = 'yes'",
            },
            {"id": "thanks", "type": "end", "text": {"en": "Thanks"}},
        ],
    }
    source = mermaid(parse_flow(document, "test"))
    assert "works --> thanks: if ${works} = 'no'" in source
    assert re.search(r"^\s*works --> hours$", source, re.M)
    assert "note right of hours: only when ${works} = 'yes'" in source


def test_cli_diagram_by_id_and_by_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "diagram", "roadmap_feedback"]) == 0
    by_id = capsys.readouterr().out
    assert "stateDiagram-v2" in by_id
    assert main(["flows", "diagram", str(DEFINITIONS_DIR / "roadmap_feedback.yaml")]) == 0
    assert capsys.readouterr().out == by_id
    assert main(["flows", "diagram", "no_such_flow"]) == 2
    assert "no flow named 'no_such_flow'" in capsys.readouterr().err
