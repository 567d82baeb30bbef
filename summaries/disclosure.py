"""Disclosure control: from true counts to publishable ones. Primary suppression hides every count from 1 to
k-1 and drops every population (participant group, invite channel) of fewer than k people; complementary
suppression then hides more cells until the auditor (`summaries.audit`) finds nothing a reader could work out,
from this summary alone and together with the consultation's earlier publications."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING

from config.errors import VoicesError
from storage.repository import DEFAULT_MIN_CELL, MIN_CELL
from summaries.tables import (
    ALL,
    ANSWERED,
    NOT_REACHED,
    RESPONDENTS,
    CellKey,
    Dimension,
    Kind,
    Population,
    Tables,
    is_remainder,
    structure,
)

if TYPE_CHECKING:  # the auditor (scipy) is imported when suppression runs, not by every importer
    from summaries.audit import Finding

MIN_K = MIN_CELL
DEFAULT_K = DEFAULT_MIN_CELL
MAX_ROUNDS = 10_000


class DisclosureError(VoicesError):
    """Suppression could not make a summary safe (a bug: it should always end, at worst hiding everything)."""


def check_k(k: int) -> int:
    if k < MIN_K:
        raise VoicesError(f"the minimum cell size k must be at least {MIN_K} (got {k})")
    return k


def suppress(true: Tables, previous: Sequence[Tables] = ()) -> Tables:
    """The publishable version of `true` (which holds every true count, for every population), safe alone and
    after `previous` (the consultation's earlier publications, oldest first)."""
    k = check_k(true.k)
    out = copy.deepcopy(true)
    respondents = true.counts.get((ALL, "", RESPONDENTS)) or 0
    if respondents < k:
        return _nothing(out)
    kept = [
        p
        for p in true.populations
        if p.dimension is Dimension.ALL or (true.counts.get((p.key, "", RESPONDENTS)) or 0) >= k
    ]
    _keep_populations(out, true, kept)
    for key, value in out.counts.items():
        if value is not None and 1 <= value <= k - 1:
            out.counts[key] = None
    _keep_medians(out)
    _row_rules(out, true, previous)
    from summaries.audit import audit  # scipy: loaded only where a summary is computed

    for _ in range(MAX_ROUNDS):
        findings = audit([*previous, out], only=len(previous)).findings
        if not findings:
            _keep_medians(out)
            cells = set(out.cells())
            out.counts = {key: value for key, value in out.counts.items() if key in cells}
            return out
        touched: set[str] = set()
        for finding in findings:  # one fix per question per round: each question's tables are mostly apart
            if finding.cell[1] in touched or (touched and not finding.cell[1]):
                continue
            touched.add(finding.cell[1])
            _fix(out, true, finding)
            if not finding.cell[1]:
                break
        _row_rules(out, true, previous)
        _keep_medians(out)
    raise DisclosureError("complementary suppression did not converge")


def _nothing(out: Tables) -> Tables:
    out.populations = [p for p in out.populations if p.dimension is Dimension.ALL]
    out.counts = dict.fromkeys(out.cells())
    out.medians = {}
    out.quotes = {}
    return out


def _keep_populations(out: Tables, true: Tables, kept: list[Population]) -> None:
    out.populations = kept
    keys = set(out.cells())
    out.counts = {key: true.counts.get(key, 0) if key in keys else None for key in out.cells()}
    out.counts = {key: value for key, value in out.counts.items() if key in keys}
    out.medians = {key: row for key, row in out.medians.items() if key[0] in {p.key for p in kept}}


def _keep_medians(out: Tables) -> None:
    """A median is published only with its question's answered count, and only when that count is at least k."""
    out.medians = {
        (pop, q): row
        for (pop, q), row in out.medians.items()
        if (answered := out.counts.get((pop, q, ANSWERED))) is not None and answered >= out.k
    }


def _protected(out: Tables, key: CellKey) -> bool:
    """Cells never hidden to protect another: a population's respondents (the population is dropped instead)."""
    return key[2] == RESPONDENTS


def _drop_population(out: Tables, true: Tables, population: str) -> None:
    if population == ALL:
        _nothing(out)
        return
    hidden = {key for key, value in out.counts.items() if value is None}
    _keep_populations(out, true, [p for p in out.populations if p.key != population])
    for key in hidden:
        if key in out.counts:
            out.counts[key] = None
    group = out.group_question()
    parsed = Population.parse(population)
    if group is not None and parsed.dimension is Dimension.GROUP:
        out.counts[(ALL, group.id, f"option:{parsed.code}")] = None


def _hide(out: Tables, true: Tables, key: CellKey) -> None:
    if key not in out.counts:
        return  # its population was dropped meanwhile
    if _protected(out, key):
        _drop_population(out, true, key[0])
    else:
        out.counts[key] = None


def _true_value(true: Tables, out: Tables, var: tuple[int, str, str, str]) -> int:
    _, pop, question, row = var
    if not is_remainder(pop):
        return true.counts.get((pop, question, row), 0) or 0
    dimension = Dimension(pop[1:])
    total = true.counts.get((ALL, question, row), 0) or 0
    members = [p.key for p in out.populations if p.dimension is dimension]
    return total - sum(true.counts.get((m, question, row), 0) or 0 for m in members)


def _row_rules(out: Tables, true: Tables, previous: Sequence[Tables] = ()) -> None:
    """Fast first pass: in every equation a reader knows, the hidden cells must not add up to a known number
    from 1 to k-1, and one hidden cell must not be alone (it would be the difference); a cell shown in an earlier
    publication or live view must not be shown with a change from 1 to k-1 (either way)."""
    k = out.k
    for _ in range(MAX_ROUNDS):
        changed = False
        for earlier in previous:
            for key, value in list(out.counts.items()):
                before = earlier.counts.get(key)
                if value is None or before is None:
                    continue  # not reached too: its change is people who stopped early, or went on
                if 1 <= abs(value - before) <= k - 1:
                    _hide(out, true, key)
                    changed = True
        if changed:
            continue
        for dimension in {p.dimension for p in out.populations} - {Dimension.ALL}:
            members = [p for p in out.populations if p.dimension is dimension]
            rest = (out.counts.get((ALL, "", RESPONDENTS)) or 0) - sum(
                out.counts.get((p.key, "", RESPONDENTS)) or 0 for p in members
            )
            if 1 <= rest <= k - 1:
                smallest = min(members, key=lambda p: out.counts.get((p.key, "", RESPONDENTS)) or 0)
                _drop_population(out, true, smallest.key)
                changed = True
                break
        if changed:
            continue
        for constraint in structure(out):
            if not constraint.equal:
                continue
            hidden = [
                (var, c) for var, c in constraint.terms if is_remainder(var[1]) or out.counts.get(var[1:]) is None
            ]
            if not hidden or len({c > 0 for _, c in hidden}) != 1:
                continue
            mass = sum(_true_value(true, out, var) for var, _ in hidden)
            lonely = len(hidden) == 1 and not is_remainder(hidden[0][0][1]) and mass >= 1
            if not (1 <= mass <= k - 1 or lonely):
                continue
            shown = [
                var[1:]
                for var, _ in constraint.terms
                if not is_remainder(var[1]) and out.counts.get(var[1:]) is not None
            ]
            if not shown:
                continue
            choice = _cheapest(out, shown, prefer_nonzero=mass < k)
            _hide(out, true, choice)
            changed = True
            break
        if not changed:
            return
    raise DisclosureError("row rules did not converge")


def _cheapest(out: Tables, keys: list[CellKey], *, prefer_nonzero: bool) -> CellKey:
    """The published cell whose hiding loses least: not a respondents count if avoidable, a small count (a
    non-zero one when more hidden people are needed), and not-reached before answered."""

    def cost(key: CellKey) -> tuple[int, int, int, int]:
        value = out.counts.get(key) or 0
        return (
            int(_protected(out, key)),
            int(prefer_nonzero and value == 0),
            value,
            int(key[2] == ANSWERED) - int(key[2] == NOT_REACHED),
        )

    return min(keys, key=cost)


def _neighbours(out: Tables, cell: CellKey, depth: int = 3) -> list[CellKey]:
    """Published cells (respondents last) in the equations around `cell`: those sharing an equation with it, or,
    when there are none, with the hidden cells that do (and so on, `depth` times)."""
    equations = [[var[1:] for var, _ in c.terms] for c in structure(out)]
    frontier, visited = {cell}, {cell}
    for _ in range(depth):
        shown: list[CellKey] = []
        hidden: set[CellKey] = set()
        for variables in equations:
            if not frontier.intersection(variables):
                continue
            for key in variables:
                if is_remainder(key[0]) or out.counts.get(key) is None:
                    hidden.add(key)
                elif key not in shown:
                    shown.append(key)
        usable = [key for key in shown if not _protected(out, key)]
        if usable:
            return usable
        frontier = hidden - visited
        visited |= hidden
        if not frontier:
            return shown
    return []


def _fix(out: Tables, true: Tables, finding: Finding) -> None:
    """Hide one more cell (or drop a population) to remove one finding."""
    pop = finding.cell[0]
    if not is_remainder(pop) and out.counts.get(finding.cell) is not None:
        _hide(out, true, finding.cell)  # a published cell whose change since the last publication is small
        return
    neighbours = _neighbours(out, finding.cell)
    if neighbours:
        exact = finding.low == finding.high and finding.high >= out.k
        _hide(out, true, _cheapest(out, neighbours, prefer_nonzero=not exact))
        return
    if is_remainder(pop):
        dimension = Dimension(pop[1:])
        members = [p for p in out.populations if p.dimension is dimension]
        if members:
            _drop_population(out, true, min(members, key=lambda p: out.counts.get((p.key, "", RESPONDENTS)) or 0).key)
            return
    _drop_population(out, true, pop if not is_remainder(pop) else ALL)


def question_kinds(tables: Tables) -> dict[str, Kind]:
    return {q.id: q.kind for q in tables.questions}
