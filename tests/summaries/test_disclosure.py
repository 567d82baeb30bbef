"""Disclosure control, proven on random tables: nothing hidden can be worked out from what is published."""

from __future__ import annotations

import copy
import itertools
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.describe import describe
from flows.loader import parse_flow, shipped_library
from summaries.audit import audit, cell_is_safe
from summaries.build import _ordered
from summaries.disclosure import suppress
from summaries.tables import (
    ALL,
    ANSWERED,
    NO_THEME,
    NOT_REACHED,
    RESPONDENTS,
    SKIPPED,
    Dimension,
    Kind,
    Population,
    QuestionShape,
    Tables,
    remainder_key,
    structure,
)
from tests.flows.test_loader import MINIMAL

AGE = QuestionShape("age", Kind.SINGLE, ("option:18_24", "option:25_34", "option:35_49", "option:50_plus"))


def age_table(k: int, bands: tuple[int, int, int, int]) -> Tables:
    counts = {(ALL, "", RESPONDENTS): sum(bands), (ALL, "age", ANSWERED): sum(bands)}
    counts[(ALL, "age", SKIPPED)] = counts[(ALL, "age", NOT_REACHED)] = 0
    counts.update({(ALL, "age", row): n for row, n in zip(AGE.rows, bands, strict=True)})
    return Tables(k, [Population(Dimension.ALL)], [AGE], dict(counts))


def test_issue_13_age_example_hidden_cell_was_4() -> None:
    """Issue 13: answered 10, "18 to 24" 6, "25 to 34" shown as <5, other bands 0: the hidden cell was 4."""
    naive = age_table(5, (6, 4, 0, 0))
    naive.counts[(ALL, "age", "option:25_34")] = None
    found = audit([naive]).findings
    assert [(f.cell, f.low, f.high) for f in found] == [((ALL, "age", "option:25_34"), 4, 4)]

    published = suppress(age_table(5, (6, 4, 0, 0)))
    assert published.counts[(ALL, "age", "option:25_34")] is None
    assert published.counts[(ALL, "age", "option:18_24")] is None  # complementary: 6 hides the 4
    result = audit([published], exact=True)
    assert result.safe
    assert result.ranges[(0, (ALL, "age", "option:25_34"))] == (0, 10)


def test_issue_13_differencing_one_more_person() -> None:
    """Issue 13: one more person answers and stops; comparing the two summaries must not give their age band."""
    first = suppress(age_table(5, (6, 0, 0, 6)))
    second_true = age_table(5, (6, 0, 1, 6))
    naive = suppress(second_true)  # safe alone...
    assert audit([naive]).safe
    assert not audit([first, naive]).safe  # ...but not after the first publication
    second = suppress(second_true, [first])
    assert audit([first, second], exact=True).safe


# ---- random tables made from random people, so every table is consistent ----


@st.composite
def people_tables(draw: st.DrawFn) -> Tables:
    k = draw(st.sampled_from([5, 10]))
    rng = random.Random(draw(st.integers(0, 10**6)))
    n_groups = draw(st.integers(0, 3))
    groups = [f"g{i}" for i in range(n_groups)]
    questions = []
    for i in range(draw(st.integers(1, 2))):
        kind = draw(st.sampled_from([Kind.SINGLE, Kind.MULTIPLE]))
        rows = tuple(f"option:o{j}" for j in range(draw(st.integers(2, 4))))
        questions.append(QuestionShape(f"q{i}", kind, rows))
    if groups:
        questions.insert(
            0, QuestionShape("group", Kind.SINGLE, tuple(f"option:{g}" for g in groups), group_question=True)
        )
    people = draw(st.integers(0, 45))
    skew = [rng.random() ** 2 for _ in range(6)]
    populations = [Population(Dimension.ALL)] + [Population(Dimension.GROUP, g) for g in groups]
    counts: dict[tuple[str, str, str], int] = {}
    for _ in range(people):
        answers: dict[str, tuple[str, ...] | None] = {}
        stop = rng.choice([99, 99, 99, 0, 1])
        for position, q in enumerate(questions):
            if position > stop:
                answers[q.id] = None
            elif rng.random() < 0.1:
                answers[q.id] = ()
            elif q.kind is Kind.SINGLE:
                answers[q.id] = (rng.choices(q.rows, skew[: len(q.rows)])[0],)
            else:
                answers[q.id] = tuple(r for r in q.rows if rng.random() < 0.5) or (q.rows[0],)
        group = answers.get("group")
        pops = [ALL] + ([f"group:{group[0].removeprefix('option:')}"] if group else [])
        for pop in pops:
            counts[(pop, "", RESPONDENTS)] = counts.get((pop, "", RESPONDENTS), 0) + 1
            for q in questions:
                if q.group_question and pop != ALL:
                    continue
                given = answers[q.id]
                row = NOT_REACHED if given is None else SKIPPED if given == () else ANSWERED
                counts[(pop, q.id, row)] = counts.get((pop, q.id, row), 0) + 1
                for option in given or ():
                    counts[(pop, q.id, option)] = counts.get((pop, q.id, option), 0) + 1
    tables = Tables(k, populations, questions, ordered=tuple(q.id for q in questions))  # people stop, in order
    tables.counts = {key: counts.get(key, 0) for key in tables.cells()}
    return tables


def _criterion_holds(tables: Tables) -> None:
    result = audit([tables], exact=True)
    for (_, key), (low, high) in result.ranges.items():
        if key[0].startswith("~"):
            continue
        assert not (low == high >= 1), f"{key} can be worked out: exactly {low}"
        assert cell_is_safe(low, high, tables.k), f"{key} is known to be between {low} and {high}"
    assert result.safe


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people_tables())
def test_no_hidden_cell_can_be_worked_out(true: Tables) -> None:
    published = suppress(true)
    for key, value in published.counts.items():
        assert value is None or value == 0 or value >= true.k, f"{key} shows {value}"
        assert value is None or value == true.counts.get(key), "a published count must be the true one"
    _criterion_holds(published)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people_tables(), st.integers(0, 12))
def test_two_publications_together_reveal_nothing(true: Tables, more: int) -> None:
    first = suppress(true)
    later = _grown(true, more)
    second = suppress(later, [first])
    result = audit([first, second], exact=True)
    assert result.safe, [f.describe() for f in result.findings]


def _grown(true: Tables, more: int) -> Tables:
    """The same table after `more` people answered the first option of every question."""
    grown = Tables(true.k, list(true.populations), list(true.questions), dict(true.counts))
    for key in list(grown.counts):
        pop, question, row = key
        if pop != ALL:
            continue
        q = next((x for x in true.questions if x.id == question), None)
        if row in (RESPONDENTS, ANSWERED) or (q is not None and row == q.rows[0]):
            grown.counts[key] = (grown.counts[key] or 0) + more
    if any(p.dimension is Dimension.GROUP for p in true.populations):
        group = next(q for q in true.questions if q.group_question)
        first = Population(Dimension.GROUP, group.rows[0].removeprefix("option:")).key
        if first not in [p.key for p in grown.populations]:
            return grown
        for key in list(grown.counts):
            pop, question, row = key
            q = next((x for x in true.questions if x.id == question), None)
            if pop == first and (row in (RESPONDENTS, ANSWERED) or (q is not None and row == q.rows[0])):
                grown.counts[key] = (grown.counts[key] or 0) + more
    return grown


def test_the_integer_program_agrees_with_brute_force() -> None:
    """On tiny tables, the auditor's ranges are exactly those found by trying every possible table."""
    rng = random.Random(13)
    for _ in range(40):
        bands = tuple(rng.choice([0, 0, 1, 2, 3, 6, 8]) for _ in range(4))
        tables = age_table(5, bands)  # type: ignore[arg-type]
        for key in rng.sample(tables.cells(), rng.randint(1, 4)):
            if key[2] != RESPONDENTS:
                tables.counts[key] = None
        result = audit([tables], exact=True)
        hidden = [key for key in tables.cells() if tables.counts[key] is None]
        found: dict[tuple[str, str, str], set[int]] = {key: set() for key in hidden}
        total = sum(bands)
        for values in itertools.product(range(total + 1), repeat=len(hidden)):
            trial = dict(tables.counts)
            trial.update(zip(hidden, values, strict=True))
            if _satisfies(tables, trial):
                for key, value in zip(hidden, values, strict=True):
                    found[key].add(value)
        for key in hidden:
            assert result.ranges[(0, key)] == (min(found[key]), max(found[key])), key


def _satisfies(tables: Tables, values: dict[tuple[str, str, str], int | None]) -> bool:
    for constraint in structure(tables):
        total = sum(c * (values[var[1:]] or 0) for var, c in constraint.terms if not var[1].startswith("~"))
        if constraint.equal and total != constraint.rhs:
            return False
        if not constraint.equal and total > constraint.rhs:
            return False
    return True


def test_remainder_is_modelled() -> None:
    assert remainder_key(Dimension.GROUP) == "~group"


# ---- facts found by an outside audit: the no-theme row, and "not reached" along the questionnaire ----

RECOMMENDATION = QuestionShape("ideas", Kind.MULTIPLE, ("theme:shelters", NO_THEME), broken_down=False)


def test_the_no_theme_row_is_not_left_as_a_difference() -> None:
    """20 written answers, 18 in the one theme: "no theme" is the other 2 (an answer in a theme is in no
    "no theme"), so hiding it alone hides nothing."""
    true = Tables(10, [Population(Dimension.ALL)], [RECOMMENDATION])
    true.counts = {
        (ALL, "", RESPONDENTS): 30,
        (ALL, "ideas", ANSWERED): 20,
        (ALL, "ideas", SKIPPED): 10,
        (ALL, "ideas", NOT_REACHED): 0,
        (ALL, "ideas", "theme:shelters"): 18,
        (ALL, "ideas", NO_THEME): 2,
    }
    naive = Tables(true.k, true.populations, true.questions, {**true.counts, (ALL, "ideas", NO_THEME): None})
    assert [(f.cell, f.low, f.high) for f in audit([naive]).findings] == [((ALL, "ideas", NO_THEME), 2, 2)]
    published = suppress(true)
    assert published.counts[(ALL, "ideas", NO_THEME)] is None
    _criterion_holds(published)


def linear(k: int, reached: list[tuple[int, int]], respondents: int) -> Tables:
    """Questions q0, q1, ... asked in this order, each (answered, skipped); one option each."""
    questions = [QuestionShape(f"q{i}", Kind.SINGLE, ("option:x",)) for i in range(len(reached))]
    tables = Tables(k, [Population(Dimension.ALL)], questions, ordered=tuple(q.id for q in questions))
    tables.counts = {(ALL, "", RESPONDENTS): respondents}
    for q, (answered, skipped) in zip(questions, reached, strict=True):
        tables.counts[(ALL, q.id, ANSWERED)] = tables.counts[(ALL, q.id, "option:x")] = answered
        tables.counts[(ALL, q.id, SKIPPED)] = skipped
        tables.counts[(ALL, q.id, NOT_REACHED)] = respondents - answered - skipped
    return tables


def test_not_reached_can_only_grow_along_the_questionnaire() -> None:
    """20 people, 5 stop before q0; of the other 15, 2 skip q1. Hiding q1's skipped (2) and not reached (5) is
    not enough: q0 and q2 both show 5 not reached, and nobody reaches q2 without passing q1."""
    true = linear(5, [(15, 0), (13, 2), (15, 0)], 20)
    naive = copy.deepcopy(true)
    naive.counts[(ALL, "q1", SKIPPED)] = naive.counts[(ALL, "q1", NOT_REACHED)] = None
    found = {(f.cell, f.low, f.high) for f in audit([naive]).findings}
    assert ((ALL, "q1", SKIPPED), 2, 2) in found
    unordered = copy.deepcopy(naive)
    unordered.ordered = ()
    assert audit([unordered]).safe  # without the order, the two hidden cells hide each other
    published = suppress(true)
    assert published.counts[(ALL, "q1", SKIPPED)] is None
    _criterion_holds(published)


def test_the_order_is_a_fact_only_where_the_flow_has_no_jump_or_condition() -> None:
    roadmap = describe(shipped_library().latest("roadmap_feedback"))
    assert roadmap.ordered == tuple(q.id for q in roadmap.questions)
    cso = describe(shipped_library().latest("cso_consultation"))
    assert "barriers_other" not in cso.ordered and "barriers" in cso.ordered  # shown only on a condition
    document = copy.deepcopy(MINIMAL)
    document["steps"][1]["next"] = "size"  # the next step in the file anyway
    document["steps"][2:2] = [{"id": "size", "type": "yes_no", "text": {"en": "Big?", "fr": "Grand ?"}}]
    assert describe(parse_flow(copy.deepcopy(document), "plain.yaml")).ordered == ("color", "size")
    document["steps"][1]["next"] = [{"if": "${color} = 'red'", "goto": "bye"}, {"goto": "size"}]
    assert describe(parse_flow(document, "jumps.yaml")).ordered == ()


def test_an_order_the_counts_do_not_follow_is_not_assumed() -> None:
    """People who took an earlier version may have reached a later question without one added before it."""
    true = linear(5, [(15, 0), (13, 2), (15, 0)], 20)
    assert _ordered(true, ("q0", "q1", "q2")) == ("q0", "q1", "q2")
    grown = linear(5, [(15, 0), (10, 0), (15, 0)], 20)
    assert _ordered(grown, ("q0", "q1", "q2")) == ()
