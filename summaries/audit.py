"""The auditor: from published tables alone, the range of values each hidden cell can take (integer programming
over everything a reader knows, `summaries.tables.structure`), for one publication or a sequence of them.

The disclosure criterion (k = the consultation's threshold):
- a hidden cell is safe when the largest value it can take is 0 (it is known to be empty: nobody is in it), or
  when it can take a value of at least k and it cannot be pinned to one value. So a reader can never tell that a
  hidden cell holds between 1 and k-1 people, nor that any group made of hidden cells does (a sum of hidden
  cells known to be small bounds each of them below k), nor any hidden value exactly;
- between two publications of the same consultation, the people who came (or whose answers changed) in between
  form a table of their own; a cell of that difference table must not be known to be between 1 and k-1 either
  (between -1 and -(k-1) for people who left). A reader is assumed to know that counts only grow between
  publications, which narrows every range; when the published figures contradict that (answers were erased),
  the auditor says so and drops the assumption.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from config.errors import VoicesError
from summaries.tables import ALL, NOT_REACHED, RESPONDENTS, CellKey, Constraint, Tables, Var, is_remainder, structure

INFINITE = math.inf


class AuditError(VoicesError):
    """A published file could not be audited (unreadable, or its figures contradict each other)."""


@dataclass(frozen=True)
class Finding:
    """A disclosure: what a reader can work out that they must not."""

    publication: int
    cell: CellKey
    low: float
    high: float
    previous: int | None = None
    """For a difference between two publications: the earlier one's number."""

    @property
    def difference(self) -> bool:
        return self.previous is not None

    def describe(self) -> str:
        pop, question, row = self.cell
        where = f"{pop}/{question or '-'}/{row}"
        value = _range(self.low, self.high)
        if self.previous is not None:
            return f"publication {self.previous}->{self.publication}: the change in {where} is {value}"
        return f"publication {self.publication}: hidden cell {where} is {value}"


@dataclass
class AuditResult:
    k: int
    ranges: dict[tuple[int, CellKey], tuple[float, float]] = field(default_factory=dict)
    """(publication index, cell) -> (lowest, highest) value a reader can work out, for every hidden cell."""
    findings: list[Finding] = field(default_factory=list)
    growth_assumed: bool = True

    @property
    def safe(self) -> bool:
        return not self.findings


def _range(low: float, high: float) -> str:
    if low == high:
        return f"exactly {low:g}"
    return f"between {low:g} and {'∞' if high == INFINITE else f'{high:g}'}"


def cell_is_safe(low: float, high: float, k: int) -> bool:
    """The criterion for one hidden cell (see the module docstring)."""
    return high <= 0 or (high >= k and low < high)


def remainder_is_safe(low: float, high: float, k: int) -> bool:
    """The people in no published population of a breakdown are never shown: their counts may be known exactly,
    but never known to be between 1 and k-1."""
    return high <= 0 or high >= k


def difference_is_safe(low: float, high: float, k: int) -> bool:
    """The criterion for the change of a cell between two publications."""
    if 1 <= high <= k - 1:
        return False
    return not (high <= 0 and -(k - 1) <= low <= -1)


def audit(chain: Sequence[Tables], *, only: int | None = None, exact: bool = False) -> AuditResult:
    """Audit a consultation's publications in order (one or more). `only`: check the differences between that
    index (the one being built) and the earlier ones only; hidden cells are checked in every publication.
    `exact`: compute every hidden cell's exact range (otherwise a safe cell's range may be reported narrower than
    it is: the search stops once it is known to be safe)."""
    if not chain:
        raise AuditError("nothing to audit")
    k = max(t.k for t in chain)
    result = AuditResult(k)
    known: dict[Var, int] = {}
    hidden: list[Var] = []
    seen: set[Var] = set()
    constraints: list[Constraint] = []
    for index, tables in enumerate(chain):
        for key in tables.cells():
            count = tables.counts.get(key)
            var = (index, *key)
            if count is None:
                hidden.append(var)
            else:
                known[var] = count
        constraints += structure(tables, index)
    growth: list[Constraint] = []
    pairs: list[tuple[int, int, CellKey]] = []
    for index in range(1, len(chain)):
        before, after = set(chain[index - 1].cells()), chain[index].cells()
        for key in after:
            if key in before and key[2] != NOT_REACHED:
                growth.append(Constraint((((index - 1, *key), 1), ((index, *key), -1)), False, 0))
    for later in range(1, len(chain)):
        keys = set(chain[later].cells())
        for earlier in range(later):
            pairs += [(earlier, later, key) for key in chain[earlier].cells() if key in keys and key[2] != NOT_REACHED]
    for constraint in constraints:
        for var, _ in constraint.terms:
            if is_remainder(var[1]) and var not in seen:
                seen.add(var)
                hidden.append(var)
    upper = {index: _upper_bound(tables) for index, tables in enumerate(chain)}
    system = _System(constraints + growth, known, upper)
    if growth and not system.feasible():
        result.growth_assumed = False
        system = _System(constraints, known, upper)
    if not system.feasible():
        raise AuditError("the published figures contradict each other (a file was altered, or is not one summary)")
    # Every hidden cell of every publication: a new one can narrow what an earlier one hid.
    targets: list[tuple[Var, bool]] = [(var, is_remainder(var[1])) for var in hidden]
    ranges = system.ranges([var for var, _ in targets], k, exact=exact)
    for var, remainder in targets:
        low, high = ranges[var]
        cell: CellKey = (var[1], var[2], var[3])
        result.ranges[(var[0], cell)] = (low, high)
        safe = remainder_is_safe(low, high, k) if remainder else cell_is_safe(low, high, k)
        if not safe:
            result.findings.append(Finding(chain[var[0]].publication or var[0], cell, low, high))
    for earlier, later, key in pairs:
        if only is not None and later != only:
            continue
        a, b = (earlier, *key), (later, *key)
        if a in known and b in known:
            low = high = known[b] - known[a]
        elif system.seen_at_least(
            {v: c for v, c in ((b, 1), (a, -1)) if v not in known}, k - known.get(b, 0) + known.get(a, 0)
        ):
            continue  # a point of the system already has this change at k or more: it is not known to be small
        else:
            low, high = system.range({b: 1, a: -1}, k)
        if not difference_is_safe(low, high, k):
            result.findings.append(
                Finding(
                    chain[later].publication or later, key, low, high, previous=chain[earlier].publication or earlier
                )
            )
    return result


def _upper_bound(tables: Tables) -> int:
    respondents = tables.counts.get((ALL, "", RESPONDENTS))
    return respondents if respondents is not None else 10**9


def _note(low: np.ndarray, high: np.ndarray, point: np.ndarray) -> None:
    np.minimum(low, point, out=low)
    np.maximum(high, point, out=high)


class _System:
    """The constraints with published values substituted, split into independent components."""

    def __init__(self, constraints: Iterable[Constraint], known: dict[Var, int], upper: dict[int, int]) -> None:
        self.upper = upper
        self.rows: list[tuple[dict[Var, int], bool, int]] = []
        self.consistent = True
        parent: dict[Var, Var] = {}

        def find(x: Var) -> Var:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        self.fixed: dict[Var, int] = {}
        """Unknowns that one equation alone pins down (found before solving anything; reported as exact)."""
        pending: list[tuple[dict[Var, int], bool, int]] = []
        for constraint in constraints:
            terms: dict[Var, int] = {}
            rhs = constraint.rhs
            for var, coefficient in constraint.terms:
                if var in known and not is_remainder(var[1]):
                    rhs -= coefficient * known[var]
                else:
                    terms[var] = terms.get(var, 0) + coefficient
            pending.append(({var: c for var, c in terms.items() if c}, constraint.equal, rhs))
        changed = True
        while changed:  # substitute values pinned by a single-unknown equation, until none is left
            changed = False
            for terms, equal, rhs in pending:
                live = {var: c for var, c in terms.items() if var not in self.fixed}
                if equal and len(live) == 1:
                    ((var, c),) = live.items()
                    rest = rhs - sum(c2 * self.fixed[v2] for v2, c2 in terms.items() if v2 in self.fixed)
                    if rest % c == 0 and rest // c >= 0:
                        self.fixed[var] = rest // c
                        changed = True
        for terms, equal, rhs in pending:
            rhs -= sum(c * self.fixed[var] for var, c in terms.items() if var in self.fixed)
            terms = {var: c for var, c in terms.items() if var not in self.fixed}
            if not terms:
                if (equal and rhs != 0) or (not equal and rhs < 0):
                    self.consistent = False
                continue
            self.rows.append((terms, equal, rhs))
            first = next(iter(terms))
            parent.setdefault(first, first)
            for var in terms:
                parent.setdefault(var, var)
                root_a, root_b = find(first), find(var)
                if root_a != root_b:
                    parent[root_b] = root_a
        self.component: dict[Var, Var] = {var: find(var) for var in parent}
        self.members: dict[Var, list[Var]] = {}
        for var, root in self.component.items():
            self.members.setdefault(root, []).append(var)
        self.by_root: dict[Var, list[int]] = {}
        for index, (terms, _, _) in enumerate(self.rows):
            self.by_root.setdefault(self.component[next(iter(terms))], []).append(index)
        self._cache: dict[Var, tuple[list[Var], dict[Var, int], LinearConstraint | None, Bounds]] = {}
        self._signatures: dict[Var, tuple[object, ...]] = {}
        self.points: dict[Var, list[np.ndarray]] = {}
        """Solutions found so far, per component: each is a table consistent with everything published."""

    def feasible(self) -> bool:
        if not self.consistent:
            return False
        for root in self.members:
            signature = self.signature(root)
            found = _FEASIBLE_CACHE.get(signature)
            if found is None:
                variables, _, linear, bounds = self._problem(root)
                res = milp(
                    np.zeros(len(variables)),
                    constraints=linear or (),
                    integrality=np.ones(len(variables)),
                    bounds=bounds,
                )
                found = res.status != 2
                if len(_FEASIBLE_CACHE) > 16384:
                    _FEASIBLE_CACHE.clear()
                _FEASIBLE_CACHE[signature] = found
            if not found:
                return False
        return True

    def _problem(self, root: Var) -> tuple[list[Var], dict[Var, int], LinearConstraint | None, Bounds]:
        cached = self._cache.get(root)
        if cached is not None:
            return cached
        variables = sorted(self.members[root])  # canonical order: cached solutions stay meaningful
        position = {var: i for i, var in enumerate(variables)}
        row_ids = self.by_root.get(root, [])
        matrix = lil_matrix((len(row_ids), len(variables)))
        low = np.empty(len(row_ids))
        high = np.empty(len(row_ids))
        for r, index in enumerate(row_ids):
            terms, equal, rhs = self.rows[index]
            for var, coefficient in terms.items():
                matrix[r, position[var]] = coefficient
            low[r] = rhs if equal else -np.inf
            high[r] = rhs
        linear = LinearConstraint(matrix.tocsr(), low, high) if row_ids else None
        bounds = Bounds(np.zeros(len(variables)), np.array([self.upper.get(var[0], 10**9) for var in variables], float))
        problem = (variables, position, linear, bounds)
        self._cache[root] = problem
        return problem

    def _solve(self, root: Var, objective: dict[Var, int], sense: int) -> tuple[float, np.ndarray]:
        variables, position, linear, bounds = self._problem(root)
        vector = np.zeros(len(variables))
        for var, coefficient in objective.items():
            vector[position[var]] = sense * coefficient
        res = milp(vector, constraints=linear or (), integrality=np.ones(len(variables)), bounds=bounds)
        if res.status != 0:
            raise AuditError("the published figures contradict each other")
        point = np.round(res.x)
        self.points.setdefault(root, []).append(point)
        return float(round(sense * res.fun)), point

    def seen_at_least(self, expression: dict[Var, int], k: int) -> bool:
        """Whether a solution found so far gives `expression` a value of at least k (variables in one component,
        or constants known from the publications)."""
        k -= sum(c * self.fixed[var] for var, c in expression.items() if var in self.fixed)
        expression = {var: c for var, c in expression.items() if var not in self.fixed}
        roots = {self.component.get(var) for var in expression}
        if len(roots) != 1 or None in roots:
            return False
        root = roots.pop()
        if root is None or root not in self.points:
            return False
        _, position, _, _ = self._problem(root)
        return any(sum(c * point[position[var]] for var, c in expression.items()) >= k for point in self.points[root])

    def range(self, expression: dict[Var, int], k: int | None = None) -> tuple[float, float]:
        """Lowest and highest value of sum(coefficient * var) over the integer points of the system."""
        roots: dict[Var, dict[Var, int]] = {}
        low = high = 0.0
        for var, coefficient in expression.items():
            root = self.component.get(var)
            if var in self.fixed:
                low, high = low + coefficient * self.fixed[var], high + coefficient * self.fixed[var]
                continue
            if root is None:  # in no constraint: any value from 0 to the bound
                top = float(self.upper.get(var[0], 10**9))
                low, high = low + min(0.0, coefficient * top), high + max(0.0, coefficient * top)
                continue
            roots.setdefault(root, {})[var] = coefficient
        for root, part in roots.items():
            signature = (self.signature(root), tuple(sorted(part.items())))
            cached = _RANGE_CACHE.get(signature)
            if cached is None:
                before = len(self.points.get(root, []))
                bottom, top = self._solve(root, part, 1)[0], self._solve(root, part, -1)[0]
                cached = (bottom, top, self.points.get(root, [])[before:])
                if len(_RANGE_CACHE) > 16384:
                    _RANGE_CACHE.clear()
                _RANGE_CACHE[signature] = cached
            else:
                self.points.setdefault(root, []).extend(cached[2])
            low, high = low + cached[0], high + cached[1]
        return low, high

    def ranges(self, targets: list[Var], k: int, *, exact: bool = False) -> dict[Var, tuple[float, float]]:
        """The range of each target variable. Exact where it matters: each solution found along the way is a
        point of the system, so a variable already seen both at or above k and at two different values is known
        safe without solving for it (its true range can only be wider); the others are solved exactly."""
        out: dict[Var, tuple[float, float]] = {}
        by_root: dict[Var, list[Var]] = {}
        for var in targets:
            root = self.component.get(var)
            if var in self.fixed:
                out[var] = (float(self.fixed[var]), float(self.fixed[var]))
            elif root is None:
                out[var] = (0.0, float(self.upper.get(var[0], 10**9)))
            else:
                by_root.setdefault(root, []).append(var)
        for root, variables in by_root.items():
            signature = (self.signature(root), tuple(variables), k, exact)
            cached = _CACHE.get(signature)
            if cached is not None:
                found, points = cached
                out.update(found)
                self.points.setdefault(root, []).extend(points)
                continue
            before = len(self.points.get(root, []))
            found = self._component_ranges(root, variables, k, exact)
            out.update(found)
            if len(_CACHE) > 4096:
                _CACHE.clear()
            _CACHE[signature] = (found, self.points.get(root, [])[before:])
        return out

    def signature(self, root: Var) -> tuple[object, ...]:
        """What a component's ranges depend on: its equations and bounds (cached across audits of a summary
        being made, where most components do not change from one round to the next)."""
        known = self._signatures.get(root)
        if known is not None:
            return known
        members, _, _, _ = self._problem(root)
        rows = tuple(
            sorted(
                (tuple(sorted(terms.items())), equal, rhs)
                for terms, equal, rhs in (self.rows[i] for i in self.by_root.get(root, []))
            )
        )
        signature = (rows, tuple(sorted((var, self.upper.get(var[0], 10**9)) for var in members)))
        self._signatures[root] = signature
        return signature

    def _component_ranges(self, root: Var, variables: list[Var], k: int, exact: bool) -> dict[Var, tuple[float, float]]:
        out: dict[Var, tuple[float, float]] = {}
        members, position, _, _ = self._problem(root)
        seen_low = np.full(len(members), np.inf)
        seen_high = np.full(len(members), -np.inf)

        everything = dict.fromkeys(variables, 1)
        _note(seen_low, seen_high, self._solve(root, everything, -1)[1])
        _note(seen_low, seen_high, self._solve(root, everything, 1)[1])
        spread = random.Random(len(variables))  # a few varied corners of the set: each proves many cells safe
        for _ in range(min(4, len(variables) // 4)):
            weights = {var: spread.choice((-1, 1)) * spread.randint(1, 5) for var in variables}
            _note(seen_low, seen_high, self._solve(root, weights, -1)[1])
        for var in variables:
            i = position[var]
            if not exact and seen_high[i] >= k and seen_low[i] < seen_high[i]:
                out[var] = (float(seen_low[i]), float(seen_high[i]))  # known wide enough; not exact
                continue
            high, point = self._solve(root, {var: 1}, -1)
            _note(seen_low, seen_high, point)
            if not exact and high >= k and seen_low[i] < high:
                out[var] = (float(seen_low[i]), high)
                continue
            low, point = self._solve(root, {var: 1}, 1)
            _note(seen_low, seen_high, point)
            out[var] = (low, high)
        return out


_CACHE: dict[tuple[object, ...], tuple[dict[Var, tuple[float, float]], list[np.ndarray]]] = {}
_FEASIBLE_CACHE: dict[tuple[object, ...], bool] = {}
"""Whether a component has an integer point, by its equations and bounds (as _RANGE_CACHE)."""
_RANGE_CACHE: dict[tuple[object, ...], tuple[float, float, list[np.ndarray]]] = {}
"""The range of an expression (a change between two tables) over a component, by the component's equations and
bounds: suppression audits a new table round after round, and most components, with the changes between the
earlier tables and the new one, do not change from one round to the next."""
