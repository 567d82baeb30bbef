"""Compile a flow definition into one shared `transitions` machine; step a session through it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from transitions import Machine, MachineError

from config.errors import FlowError
from flows.expressions import Expression, Place, Scope, compile_expression
from flows.schema import FlowDefinition

NEXT = "next"

log = logging.getLogger("flows.engine")


_REPORTED: set[tuple[str, int, str, str]] = set()


def expression_failed(flow: FlowDefinition, step_id: str, place: Place, error: BaseException) -> None:
    """Tell the operator which flow, version, step and expression failed (its type only: never an answer).

    Once per flow version, step and expression in a process: the operator needs the place to fix the flow, but
    a line per person reaching it would trace people's paths through the questionnaire in the log."""
    key = (flow.id, flow.version, step_id, place.value)
    if key in _REPORTED:
        return
    _REPORTED.add(key)
    log.warning(
        "flow %s version %s, step %s: the %s expression failed (%s); the step was passed as not relevant",
        flow.id,
        flow.version,
        step_id,
        place.value,
        type(error).__name__,
        extra={
            "event": "flow.expression_failed",
            "flow": f"{flow.id} v{flow.version}",
            "step": step_id,
            "error": type(error).__name__,
        },
    )


class Cursor:
    """The model a machine moves for one step; holds only what conditions may read (answer codes)."""

    state: str

    def __init__(self, choices: dict[str, list[str]]) -> None:
        self.choices = choices


@dataclass(frozen=True)
class BranchCondition:
    """A `next: [{if: ..., goto: ...}]` condition; transitions calls it with the trigger's arguments. One that
    fails to evaluate does not hold (logged), so the next branch is taken."""

    expression: Expression
    flow: FlowDefinition
    step_id: str

    @property
    def __name__(self) -> str:  # the label diagrams show
        return self.expression.source

    def __call__(self, cursor: Cursor) -> bool:
        try:
            return self.expression.holds(Scope(cursor.choices))
        except Exception as exc:  # any failure at all: the branch is not taken, the person goes on
            expression_failed(self.flow, self.step_id, Place.NEXT, exc)
            return False


def machine_config(flow: FlowDefinition) -> dict[str, Any]:
    """The flow as a transitions MachineConfig: states are step ids; `next` edges (conditional ones first,
    in file order) follow the definition."""
    transitions: list[dict[str, Any]] = []
    for step in flow.steps:
        if step.type == "end":
            continue
        for branch in flow.branches(step):
            transition: dict[str, Any] = {"trigger": NEXT, "source": step.id, "dest": branch.goto}
            if branch.when:
                transition["conditions"] = [BranchCondition(compile_expression(branch.when), flow, step.id)]
            transitions.append(transition)
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
            if not cursor.trigger(NEXT, cursor):  # type: ignore[attr-defined]
                raise MachineError(f"no condition of {current!r} holds")
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
