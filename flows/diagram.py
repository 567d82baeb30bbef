"""A questionnaire as a Mermaid state diagram, drawn by `transitions` from the same machine the engine runs."""

from __future__ import annotations

import re
from typing import Any

from flows.machine import machine_config
from flows.schema import FlowDefinition

_UNSAFE = re.compile(r'["\n\r;`]')


def _label(text: str, limit: int = 80) -> str:
    """Mermaid-safe: no quotes, semicolons or line breaks; long conditions shortened."""
    cleaned = " ".join(_UNSAFE.sub(lambda m: "'" if m.group() in '"`' else " ", text).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _condition_name(condition: Any) -> str:
    return str(getattr(condition, "__name__", None) or condition)


def mermaid(flow: FlowDefinition) -> str:
    """`stateDiagram-v2` source: one state per step ('id · type'), `next` edges labelled with their conditions
    (`if ...`), and a note on each step that is shown only when its `relevant` holds."""
    from transitions import State
    from transitions.extensions import GraphMachine

    class LabelledState(State):
        def __init__(self, *args: Any, label: str = "", **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.label = label

    class Machine(GraphMachine):
        state_cls = LabelledState

    config = machine_config(flow)
    transitions: list[dict[str, Any]] = []
    for transition in config["transitions"]:
        drawn = {key: transition[key] for key in ("trigger", "source", "dest")}
        conditions = [_condition_name(c) for c in transition.get("conditions", ())]
        unless = [f"not {_condition_name(c)}" for c in transition.get("unless", ())]
        drawn["label"] = _label("if " + " and ".join(conditions + unless)) if conditions or unless else "then"
        transitions.append(drawn)
    states = [{"name": step.id, "label": _label(f"{step.id} · {step.type}")} for step in flow.steps]

    class Model:
        pass

    model = Model()
    Machine(
        model=model,
        states=states,
        transitions=transitions,
        initial=config["initial"],
        auto_transitions=False,
        title=f"title: {flow.id} v{flow.version}",
        graph_engine="mermaid",
    )
    source: str = model.get_graph().draw(None)  # type: ignore[attr-defined]
    lines = [
        line.removesuffix(": then")
        for line in source.splitlines()
        if not line.lstrip().startswith(("Class ", "classDef "))  # styling of a live model: noise on paper
    ]
    lines += [f"  {step.id} --> [*]" for step in flow.steps if step.type == "end"]
    lines += [f"  note right of {step.id}: only when {_label(step.relevant)}" for step in flow.steps if step.relevant]
    return "\n".join(lines) + "\n"
