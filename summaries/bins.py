"""Numbers typed as answers are published only as bins: the flow's `bins`, or automatic bins of "round" edges
that each hold at least k answers, first and last open-ended so that no extreme value shows."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence


def parse_number(code: str) -> float | None:
    try:
        value = float(code)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def bin_rows(edges: Sequence[float], minimum: float | None = None, maximum: float | None = None) -> list[str]:
    """Row keys for edges e0 < e1 < ... < em: below e0, [e0, e1), ..., at least em. Open rows the question's
    own bounds make impossible are left out."""
    rows = []
    if minimum is None or minimum < edges[0]:
        rows.append(f"bin::{_edge(edges[0])}")
    rows += [f"bin:{_edge(a)}:{_edge(b)}" for a, b in itertools.pairwise(edges)]
    if maximum is None or maximum >= edges[-1]:
        rows.append(f"bin:{_edge(edges[-1])}:")
    return rows


def _edge(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def row_bounds(row: str) -> tuple[float | None, float | None]:
    low, _, high = row.removeprefix("bin:").partition(":")
    return (float(low) if low else None, float(high) if high else None)


def row_of(value: float, rows: Sequence[str]) -> str | None:
    for row in rows:
        low, high = row_bounds(row)
        if (low is None or value >= low) and (high is None or value < high):
            return row
    return None


def nice_step(span: float, cells: int = 20) -> float:
    """A step of 1, 2 or 5 times a power of ten giving about `cells` cells over `span`."""
    if span <= 0:
        return 1.0
    raw = span / cells
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return float(factor * power)
    return float(10 * power)


def automatic_edges(values: dict[float, int], k: int, whole: bool = True) -> list[float] | None:
    """Edges on a round grid such that every bin (the open first and last ones included) holds at least k
    answers; None when there are fewer than 2k answers (a single bin says nothing)."""
    total = sum(values.values())
    if total < 2 * k:
        return None
    ordered = sorted(values)
    running, low, high = 0, ordered[0], ordered[-1]
    for value in ordered:  # the grid spans the values between the k-th smallest and the k-th largest answer:
        running += values[value]  # outliers (a phone number typed by mistake) fall in the open end bins
        if running >= k:
            low = value
            break
    running = 0
    for value in reversed(ordered):
        running += values[value]
        if running >= k:
            high = value
            break
    step = nice_step(high - low)
    if whole:
        step = max(1.0, round(step))
    start = math.floor(low / step) * step
    cells = int((high - start) // step) + 1
    counts = [0] * cells
    for value, n in values.items():
        counts[max(0, min(cells - 1, int((value - start) // step)))] += n
    edges: list[float] = []
    held = 0
    for index, n in enumerate(counts):
        held += n
        remaining = sum(counts[index + 1 :])
        if held >= k and remaining >= k:
            edges.append(start + (index + 1) * step)
            held = 0
    return edges or None
