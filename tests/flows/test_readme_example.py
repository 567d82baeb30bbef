"""The questionnaire example in README is a valid flow (documentation that cannot drift)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from flows.engine import Engine
from flows.events import ChoiceInput, Start, TextInput
from flows.loader import FlowYamlLoader, parse_flow

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_yaml_example_loads_and_runs() -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"## Writing a questionnaire.*?```yaml\n(.*?)```", text, re.S)
    assert block is not None
    flow = parse_flow(yaml.load(block.group(1), Loader=FlowYamlLoader), "README.md")
    engine = Engine(flow)
    state = engine.new_session("fr")
    engine.handle(state, Start())
    engine.handle(state, ChoiceInput(0, "y"))
    engine.handle(state, ChoiceInput(1, "2"))
    engine.handle(state, ChoiceInput(2, "0"))
    assert state.state == "where"
    events = engine.handle(state, TextInput("À la radio"))
    assert state.status == "completed" and events


def test_readme_xlsform_example_imports(tmp_path: Path) -> None:
    from flows.xlsform import import_xlsform

    text = README.read_text(encoding="utf-8")
    block = re.search(r"### From an XLSForm.*?```\n(\| survey \|.*?)```", text, re.S)
    assert block is not None
    form = tmp_path / "plan_survey.md"
    form.write_text(block.group(1), encoding="utf-8")
    result = import_xlsform(form)
    flow = parse_flow(result.document, "README.md")
    assert flow.id == "plan_survey" and flow.version == 3 and set(flow.languages) == {"en", "fr"}
    steps = {step.id: step for step in flow.steps}
    assert steps["where"].relevant == "${heard} = 'yes'"
    assert steps["staff"].type == "integer" and steps["staff"].constraint == ". <= 5000"
