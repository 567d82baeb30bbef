"""Compile a flow definition into one shared `transitions` machine; step a session through it."""

from __future__ import annotations

from typing import Any

from transitions import Machine, MachineError

from config.errors import FlowError
from flows.schema import FlowDefinition

NEXT = "next"


class Cursor:
    """The model a machine moves for one step; holds only what conditions may read (choice codes)."""

    state: str

    def __init__(self, choices: dict[str, list[str]]) -> None:
        self.choices = choices


def machine_config(flow: FlowDefinition) -> dict[str, Any]:
    """The flow as a transitions MachineConfig: states are step ids, `next` edges follow the definition."""
    transitions = [
        {"trigger": NEXT, "source": step.id, "dest": target}
        for step in flow.steps
        if step.type != "end" and (target := flow.next_of(step)) is not None
    ]
    return {
        "states": [step.id for step in flow.steps],
        "transitions": transitions,
        "initial": flow.steps[0].id,
        "auto_transitions": False,
        "send_event": False,
    }


class FlowMachine:
    """One machine per (flow id, version), built once; models are added and removed per step."""

    def __init__(self, flow: FlowDefinition) -> None:
        self.flow = flow
        self.machine = Machine(model=None, **machine_config(flow))

    def next_state(self, current: str, choices: dict[str, list[str]]) -> str:
        cursor = Cursor(choices)
        self.machine.add_model(cursor, initial=current)
        try:
            cursor.trigger(NEXT)  # type: ignore[attr-defined]
            return cursor.state
        except MachineError as exc:
            raise FlowError(f"flow {self.flow.id} v{self.flow.version}: no way on from {current!r}") from exc
        finally:
            self.machine.remove_model(cursor)


_MACHINES: dict[tuple[str, int], FlowMachine] = {}


def machine_for(flow: FlowDefinition) -> FlowMachine:
    machine = _MACHINES.get(flow.key)
    if machine is None or machine.flow is not flow:
        machine = _MACHINES[flow.key] = FlowMachine(flow)
    return machine
