"""`bins` (integer/decimal steps) and `keep_links` (free-text steps of CSO flows) in the flow schema, and the
plain description of a flow that summaries read."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from config.errors import FlowError
from flows.describe import describe
from flows.loader import parse_flow, shipped_library
from storage.privacy import redact
from tests.flows.test_loader import MINIMAL


def with_step(step: dict[str, Any], audience: str = "cso") -> dict[str, Any]:
    doc = copy.deepcopy(MINIMAL)
    doc["audience"] = audience
    doc["steps"].insert(2, step)
    return doc


def test_bins_and_keep_links_load() -> None:
    flow = parse_flow(
        with_step(
            {
                "id": "staff",
                "type": "integer",
                "text": {"en": "Staff?", "fr": "Effectif ?"},
                "min": 0,
                "max": 5000,
                "bins": [0, 10, 50],
            }
        ),
        "t",
    )
    assert flow.steps[2].bins == (0, 10, 50)
    evidence = {"id": "evidence", "type": "free_text", "text": {"en": "Links?", "fr": "Liens ?"}, "keep_links": True}
    assert parse_flow(with_step(evidence), "t").steps[2].keep_links


@pytest.mark.parametrize(
    ("step", "audience", "problem"),
    [
        ({"id": "x", "type": "integer", "text": {"en": "?", "fr": "?"}, "bins": [10, 5]}, "cso", "must be increasing"),
        ({"id": "x", "type": "free_text", "text": {"en": "?", "fr": "?"}, "bins": [1]}, "cso", "integer and decimal"),
        ({"id": "x", "type": "free_text", "text": {"en": "?", "fr": "?"}, "keep_links": True}, "survivor", "refused"),
        ({"id": "x", "type": "integer", "text": {"en": "?", "fr": "?"}, "keep_links": True}, "cso", "free_text"),
    ],
)
def test_wrong_uses_are_refused(step: dict[str, Any], audience: str, problem: str) -> None:
    with pytest.raises(FlowError, match=problem):
        parse_flow(with_step(step, audience), "t")


def test_keep_links_keeps_only_links() -> None:
    text = "Report: https://example.org/report-2025.pdf — call +254 712 345678 or write to a@b.org"
    kept = redact(text, "KE", keep_links=True)
    assert "https://example.org/report-2025.pdf" in kept
    assert "[phone]" in kept and "[email]" in kept and "345678" not in kept
    assert "[link]" in redact(text, "KE")


def test_description_of_the_survivor_flow() -> None:
    described = describe(shipped_library().latest("roadmap_feedback"))
    assert described.group_question == "group" and described.audience == "survivor"
    age = next(q for q in described.questions if q.id == "age")
    assert [code for code, _ in age.options] == ["18_24", "25_34", "35_49", "50_plus"]  # under 18 is never kept
    assert age.options[0][1]["fr"] == "18 à 24 ans"
    assert describe(shipped_library().latest("cso_consultation")).group_question is None
