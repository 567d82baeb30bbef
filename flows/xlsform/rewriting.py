"""XLSForm expressions as flow expressions, changed on the parsed tree (never as text): `${name}` references
become step ids, choice names that had to be renamed follow into the literals compared with them, and whatever
cannot work in a chat is found before anyone answers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from config.errors import FlowError
from flows.expressions import (
    Attribute,
    Binary,
    Call,
    Current,
    Literal,
    Node,
    Place,
    Ref,
    check,
    parse,
    render,
    tokenize,
    transform,
)
from flows.xlsform.choices import ChoiceLists
from flows.xlsform.rows import Row

CHOICE_KINDS = ("single_choice", "multiple_choice")
NO_ANSWER = ("note", "section", "label_row")
ORDER = ("<", "<=", ">", ">=")


class CodeProblem(Exception):
    """An expression that renamed choice codes would change the meaning of."""


@dataclass
class Names:
    """What the rewriting needs to know about the form: its rows by XLSForm name, and its choice codes."""

    by_name: dict[str, Row]
    choices: ChoiceLists

    def target(self, name: str) -> Row:
        return self.by_name[name]


def references(source: str) -> list[str]:
    """The `${name}` references of an expression in order (empty when it cannot even be read)."""
    try:
        return [token.text[2:-1] for token in tokenize(source) if token.kind == "ref"]
    except FlowError:
        return []


def rewrite(source: str, row: Row, place: Place, names: Names) -> Node:
    """The expression of `row` at `place`, parsed, with codes and then references renamed."""
    node = parse(source)
    if names.choices.renamed_codes:
        _numeric_use_of_renamed_codes(node, row, names)
        node = transform(node, lambda n: _renamed_code(n, row, place, names))
    return transform(node, lambda n: _renamed_reference(n, names))


def rewritten(source: str, row: Row, place: Place, names: Names) -> str:
    return render(rewrite(source, row, place, names))


def combine(parts: Iterable[str | None]) -> str | None:
    """Conditions that must all hold, as one expression (None when there are none)."""
    nodes = [parse(p) for p in parts if p]
    if not nodes:
        return None
    combined = nodes[0]
    for node in nodes[1:]:
        combined = Binary("and", combined, node)
    return render(combined)


def problem(row: Row, place: Place, source: str, names: Names, included: Callable[[Row], bool]) -> str | None:
    """Why this expression cannot be imported as it is (None when it can)."""
    for name in references(source):
        target = names.by_name.get(name)
        if target is None:
            return f"refers to ${{{name}}}, which is not a question of this form"
        if target.kind == "metadata" and target.raw_type.removeprefix("uri:") == "today":
            continue
        if target.kind in ("metadata", "hidden"):
            return f"uses ${{{name}}} (type {target.raw_type}), which is not imported"
        if not included(target):
            return f"uses ${{{name}}} (row {target.number}), which cannot be imported"
        if target.kind in NO_ANSWER or (target.kind == "begin" and target is not row):
            return f"uses ${{{name}}}, which has no answer"
    try:
        node = rewrite(source, row, place, names)
    except FlowError as exc:
        return _short(str(exc))
    except CodeProblem as exc:
        return str(exc)
    texts = {r.step_id: r for r in names.by_name.values() if r.kind in ("free_text", "date") and r.step_id}
    found = text_content_use(node, texts)
    if found is not None:
        return found
    placed = check(node, place)
    return placed[0] if placed else None


def _short(message: str) -> str:
    from flows.xlsform.refusals import short_expression_error

    return short_expression_error(message)


def _subject_codes(subject: Node, row: Row, place: Place, names: Names) -> dict[str, str] | None:
    """The codes a literal compared with `subject` is one of: a choice question's list, `.` in a constraint,
    the option `name` in a choice_filter, or any renamed code for a calculation."""
    codes = names.choices.codes
    if isinstance(subject, Current):
        return codes.get(row.list_name or "") if place is Place.CONSTRAINT and row.list_name else None
    if isinstance(subject, Attribute):
        return codes.get(row.list_name or "") if subject.name == "name" and place is Place.CHOICE_FILTER else None
    if isinstance(subject, Ref) and (target := names.by_name.get(subject.name)) is not None:
        if target.kind in CHOICE_KINDS:
            return codes.get(target.list_name or "")
        if target.kind == "calculate":
            return names.choices.renamed_codes
    return None


def _code_literal(literal: Node, subject: Node, row: Row, place: Place, names: Names) -> Literal | None:
    if not isinstance(literal, Literal) or not isinstance(literal.value, str):
        return None
    mapping = _subject_codes(subject, row, place, names)
    if mapping is None or literal.value not in mapping:
        return None
    return Literal(mapping[literal.value])


def _renamed_code(node: Node, row: Row, place: Place, names: Names) -> Node | None:
    if isinstance(node, Binary) and node.op in ("=", "!="):
        if (right := _code_literal(node.right, node.left, row, place, names)) is not None:
            return Binary(node.op, node.left, right)
        if (left := _code_literal(node.left, node.right, row, place, names)) is not None:
            return Binary(node.op, left, node.right)
    if isinstance(node, Call) and node.function == "selected":
        subject, value = node.arguments
        if (code := _code_literal(value, subject, row, place, names)) is not None:
            return Call(node.function, (subject, code))
    return None


def _renamed_reference(node: Node, names: Names) -> Node | None:
    if isinstance(node, Ref):
        target = names.target(node.name)
        return Call("today", ()) if target.kind == "metadata" else Ref(target.step_id)
    return None


def _numeric_use_of_renamed_codes(node: Node, row: Row, names: Names) -> None:
    """Renamed choice codes (`1` -> `c_1`) cannot be compared as numbers: refuse rather than change meaning."""
    for part in node.walk():
        if not isinstance(part, Binary):
            continue
        sides = (part.left, part.right)
        numeric = part.op in ORDER or (
            part.op in ("=", "!=") and any(isinstance(s, Literal) and isinstance(s.value, float) for s in sides)
        )
        if not numeric:
            continue
        for side in sides:
            if isinstance(side, Current):
                target, shown = row, "."
            elif isinstance(side, Ref) and side.name in names.by_name:
                target, shown = names.by_name[side.name], f"${{{side.name}}}"
            else:
                continue
            if target.kind not in CHOICE_KINDS:
                continue
            mapping = names.choices.codes.get(target.list_name or "", {})
            if any(code != name for name, code in mapping.items()):
                raise CodeProblem(
                    f"compares the choices of {shown} as numbers, but option codes must start with a letter "
                    f"({', '.join(list(mapping)[:4])}, ... were renamed); rename the choices or remove the comparison"
                )


def text_content_use(node: Node, texts: dict[str, Row]) -> str | None:
    """Free-text and date answers never reach the engine's state (privacy): only '' comparisons work."""
    if isinstance(node, Binary) and node.op in ("=", "!="):
        for a, b in ((node.left, node.right), (node.right, node.left)):
            if isinstance(a, Ref) and isinstance(b, Literal) and b.value == "":
                return None
    if isinstance(node, Ref) and node.name in texts:
        target = texts[node.name]
        return (
            f"uses what was written in ${{{target.name}}} (a {target.kind.replace('_', ' ')} answer), which the bot "
            f"keeps encrypted and never reads; only ${{{target.name}}} != '' (answered) can be tested"
        )
    for child in node.children():
        found = text_content_use(child, texts)
        if found is not None:
            return found
    return None
