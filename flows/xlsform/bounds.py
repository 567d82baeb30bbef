"""Bounds for integer and decimal questions, which every number question needs: taken from the constraint
where it states them (`. >= 0 and . <= 120`), otherwise plausible defaults; the import report says which."""

from __future__ import annotations

import math
from dataclasses import dataclass

from flows.expressions import Binary, Current, Literal, Negate, Node
from flows.steps.integer import LARGEST

DEFAULT_LOW = 0
DEFAULT_HIGH = 100_000
"""Answers a survey's counts and amounts plausibly lie between, when the form does not say (a phone number,
typed by mistake or on purpose, is far above it)."""

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}


@dataclass(frozen=True)
class Bounds:
    low: int | float
    high: int | float
    note: str
    """For the report: where the bounds came from."""


def number_bounds(kind: str, constraint: Node | None) -> Bounds | None:
    """The bounds of an integer or decimal question (None when its constraint accepts no number at all)."""
    whole = kind == "integer"
    lows: list[float] = []
    highs: list[float] = []
    for op, value in _comparisons_with_answer(constraint):
        if op in (">=", "=") or (op == ">" and not whole):
            lows.append(value)
        elif op == ">":
            lows.append(math.floor(value) + 1)
        if op in ("<=", "=") or (op == "<" and not whole):
            highs.append(value)
        elif op == "<":
            highs.append(math.ceil(value) - 1)
    found_low = max(lows) if lows else None
    found_high = min(highs) if highs else None
    low: float
    high: float
    if found_low is None and found_high is None:
        note = "the form gives no range, so a default"
        low, high = DEFAULT_LOW, DEFAULT_HIGH
    elif found_high is None:
        low = found_low if found_low is not None else DEFAULT_LOW
        high = max(float(DEFAULT_HIGH), low * 10)
        note = "the constraint gives only the smallest answer; the largest is a default"
    elif found_low is None:
        high = found_high
        low = DEFAULT_LOW if high >= 0 else high - DEFAULT_HIGH
        note = "the constraint gives only the largest answer; the smallest is a default"
    else:
        low, high = found_low, found_high
        note = "from the constraint"
    low, high = max(low, -LARGEST), min(high, LARGEST)
    if whole:
        low, high = math.ceil(low), math.floor(high)
    if low > high:
        return None
    return Bounds(_tidy(low), _tidy(high), note)


def _comparisons_with_answer(node: Node | None) -> list[tuple[str, float]]:
    """(operator, number) for each `. op number` (or `number op .`) that must hold for the whole constraint."""
    if node is None:
        return []
    if isinstance(node, Binary) and node.op == "and":
        return _comparisons_with_answer(node.left) + _comparisons_with_answer(node.right)
    if not isinstance(node, Binary) or node.op not in _FLIP:
        return []
    left, right = _number(node.left), _number(node.right)
    if isinstance(node.left, Current) and right is not None:
        return [(node.op, right)]
    if isinstance(node.right, Current) and left is not None:
        return [(_FLIP[node.op], left)]
    return []


def _number(node: Node) -> float | None:
    if isinstance(node, Literal) and isinstance(node.value, float) and math.isfinite(node.value):
        return node.value
    if isinstance(node, Negate) and (inner := _number(node.operand)) is not None:
        return -inner
    return None


def _tidy(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
