"""Expressions: one tokenizer and parser, written back faithfully, checked for their place at load time, and
evaluated without ever raising, whatever the answers; regex() runs in linear time (RE2)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.errors import FlowError
from flows.expressions import (
    FUNCTIONS,
    Binary,
    Call,
    Current,
    Literal,
    Node,
    Place,
    Ref,
    Scope,
    check,
    compile_expression,
    parse,
    regex_problem,
    render,
    tokenize,
    transform,
)


@pytest.mark.parametrize(
    "source",
    [
        "${role} = 'cso'",
        ". >= 0 and . <= 10000",
        "not(selected(., 'c_1') and selected(., 'c_2'))",
        "count-selected(${sectors}) > 1",
        "(${a} = 'x' or ${b} = 'y') and ${c} != ''",
        "${a} - (${b} - 1)",
        "-(${a} + 1) * 2",
        "region = ${region}",
        ". <= today()",
        '${q} = "it\'s"',
        "0.50 + .5",
    ],
)
def test_render_writes_back_what_was_parsed(source: str) -> None:
    node = parse(source)
    assert render(node) == source
    assert parse(render(node)) == node


def test_render_drops_only_redundant_brackets() -> None:
    assert render(parse("((${a} = 'x')) and (${b} = 'y')")) == "${a} = 'x' and ${b} = 'y'"
    assert render(parse("${a} * (${b} + 1)")) == "${a} * (${b} + 1)"


def test_one_tokenizer_with_positions() -> None:
    tokens = tokenize("${a} = 'x'")
    assert [(t.kind, t.text, t.start, t.end) for t in tokens] == [
        ("ref", "${a}", 0, 4),
        ("op", "=", 5, 6),
        ("string", "'x'", 7, 10),
    ]
    with pytest.raises(FlowError, match="cannot read expression"):
        tokenize("/data/x = 1")


def test_transform_changes_the_tree_not_the_text() -> None:
    node = parse("selected(${Org-Name}, '1') and ${Org-Name} != ''")
    renamed = transform(node, lambda n: Ref("org_name") if isinstance(n, Ref) else None)
    assert render(renamed) == "selected(${org_name}, '1') and ${org_name} != ''"


@pytest.mark.parametrize(
    ("source", "place", "problem"),
    [
        ("FALSE", Place.RELEVANT, "`FALSE` is not a value in an expression: write false()"),
        ("${a} = 'x' or TRUE", Place.NEXT, "`TRUE` is not a value in an expression: write true()"),
        ("region = ${region}", Place.RELEVANT, "`region` is an option attribute"),
        (". > 3", Place.RELEVANT, "`.` (the answer being checked) means something only in a constraint"),
        ("regex(., '(a)\\1')", Place.CONSTRAINT, "cannot be used"),
        ("regex(., '^(?=a)')", Place.CONSTRAINT, "look-ahead"),
        ("regex(., ${pattern})", Place.CONSTRAINT, "needs its pattern written as a text in quotes"),
    ],
)
def test_check_finds_what_would_fail_or_mislead_at_run_time(source: str, place: Place, problem: str) -> None:
    assert any(problem in found for found in check(parse(source), place))


@pytest.mark.parametrize(
    ("source", "place"),
    [
        ("region = ${region}", Place.CHOICE_FILTER),
        (". > 3 and regex(., '^[0-9]+$')", Place.CONSTRAINT),
        ("true()", Place.RELEVANT),
        ("if(${a} = 'x', 1, 0) + int(${n})", Place.CALCULATION),
    ],
)
def test_check_accepts_expressions_in_their_place(source: str, place: Place) -> None:
    assert check(parse(source), place) == []


def test_nesting_has_a_limit_instead_of_a_recursion_error() -> None:
    with pytest.raises(FlowError, match="nested more than"):
        parse("(" * 500 + "1" + ")" * 500)


def test_a_pattern_with_catastrophic_backtracking_returns_at_once() -> None:
    """`^(\\w+\\s?)*$` on "word word … !" takes minutes with a backtracking engine (5.7 s for 8 words, over a
    minute for 12); RE2 runs in time linear in the text. The thread's generous limit is a hang detector only."""
    expression = compile_expression(r"regex(., '^(\w+\s?)*$')")
    results: dict[int, bool] = {}

    def run() -> None:
        for words in (8, 12, 40, 2000):
            results[words] = expression.holds(Scope({}, current=["word " * words + "!"]))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "regex() backtracked"
    assert results == {8: False, 12: False, 40: False, 2000: False}
    assert expression.holds(Scope({}, current=["word " * 40]))


def test_regex_problems_name_the_pattern() -> None:
    assert regex_problem("^[a-z]+$") is None
    problem = regex_problem("(?<=x)y")
    assert problem is not None and "'(?<=x)y'" in problem


def test_regex_on_a_lone_surrogate_does_not_raise() -> None:
    expression = compile_expression("regex(., 'a')")
    assert expression.holds(Scope({}, current=["\ud800a"]))


def test_attribute_outside_a_choice_filter_evaluates_instead_of_raising() -> None:
    """Load refuses it (check); if a flow got past the check, evaluation still gives a value."""
    assert compile_expression("FALSE").holds(Scope({})) is False


# ---------------------------------------------------------------- evaluation never raises

VALUES = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["", "1", "-1", "0", "1e400", "-1e400", "nan", "inf", "2020-01-01", "yes no", "\ud800"]),
    st.integers(-(10**400), 10**400).map(str),
)


def _leaves() -> st.SearchStrategy[Node]:
    return st.one_of(
        st.builds(Ref, st.sampled_from(["a", "b", "c"])),
        st.just(Current()),
        st.builds(Literal, st.floats(allow_nan=True, allow_infinity=True)),
        st.builds(Literal, st.text(max_size=5)),
        st.builds(Literal, st.booleans()),
    )


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    operators = ["or", "and", "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "div", "mod"]
    calls = [
        st.builds(
            lambda name, args: Call(name, tuple(args[: FUNCTIONS[name].arity[1]])),
            st.sampled_from(sorted(n for n, f in FUNCTIONS.items() if f.arity[0] <= 3 and n != "regex")),
            st.lists(children, min_size=3, max_size=3),
        ),
        st.builds(lambda text: Call("regex", (text, Literal("^[a-z]*$"))), children),
    ]
    return st.one_of(st.builds(Binary, st.sampled_from(operators), children, children), *calls)


TREES = st.recursive(_leaves(), _extend, max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(
    node=TREES,
    values=st.dictionaries(st.sampled_from(["a", "b", "c"]), st.lists(VALUES, max_size=2)),
    current=st.lists(VALUES, max_size=2),
)
def test_evaluation_is_total(node: Node, values: dict[str, Any], current: list[str]) -> None:
    """No answers, however strange (huge numbers, NaN, infinities, lone surrogates), make evaluation raise."""
    node.evaluate(Scope(values, current=current, attributes={"name": "x"}))
    node.evaluate(Scope(values))


@settings(max_examples=200, deadline=None)
@given(node=TREES)
def test_render_then_parse_gives_the_same_tree(node: Node) -> None:
    if any(isinstance(part, Literal) and _unwritable(part.value) for part in node.walk()):
        return
    assert parse(render(node)) == node


def _unwritable(value: object) -> bool:
    """Literals no source text produces (the parser reads numbers >= 0 and quotes without both quote marks)."""
    if isinstance(value, bool):
        return True
    if isinstance(value, float):
        return not (value >= 0 and value == value and value != float("inf"))
    return isinstance(value, str) and ("'" in value and '"' in value)
