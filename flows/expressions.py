"""Conditions and calculations in XLSForm's expression syntax (`${q} = 'yes' and selected(${p}, 'x')`).

One tokenizer and one parser, for flow files and for the XLSForm importer alike. An expression is parsed once,
checked at load time for the place it is used in (`check`), and evaluated against the session's answer values
(choice codes and numbers only: free text is never available here, only whether it was given). Evaluation is
total: any answers give a value, never an exception. The importer changes parsed expressions (`transform`) and
writes them back as text (`render`).
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any, ClassVar

import re2

from config.errors import FlowError

Value = str | float | bool
Values = Mapping[str, Sequence[str]]
"""Answers by step id: option codes, or a number or date as text; free text only as TEXT_GIVEN."""

TEXT_GIVEN = "\u2063text"
"""Stands for 'a free-text answer was given' (its content never reaches the engine's state)."""

MAX_DEPTH = 40
"""Deepest nesting of brackets and calls an expression may have (questionnaires need a handful)."""


class Place(StrEnum):
    """Where an expression is used in a step; what it may contain depends on it."""

    RELEVANT = "relevant"
    CONSTRAINT = "constraint"
    CHOICE_FILTER = "choice_filter"
    CALCULATION = "calculation"
    NEXT = "next"


@dataclass(frozen=True)
class Scope:
    """What an expression can see: earlier answers, the answer being checked (`.`), option attributes."""

    values: Values
    current: Sequence[str] | None = None
    attributes: Mapping[str, str] | None = None


# ---------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"""(?P<ref>\$\{[^}\s]+\})
      | (?P<number>\d+(?:\.\d+)?|\.\d+)
      | (?P<string>'[^']*'|"[^"]*")
      | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|\(|\)|,)
      | (?P<name>[A-Za-z_][\w\-:]*)
      | (?P<dot>\.)""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    """ref, number, string, op, name or dot."""
    text: str
    start: int
    end: int


def tokenize(source: str) -> list[Token]:
    """The tokens of an expression, with their positions; FlowError at the first character that is none."""
    tokens: list[Token] = []
    position = 0
    while position < len(source):
        if source[position].isspace():
            position += 1
            continue
        match = _TOKEN.match(source, position)
        if match is None:
            raise FlowError(f"cannot read expression {source!r} at {source[position : position + 12]!r}")
        kind = match.lastgroup or ""
        tokens.append(Token(kind, match.group(kind), match.start(), match.end()))
        position = match.end()
    return tokens


# ---------------------------------------------------------------- nodes


class Node(ABC):
    """An expression node; `evaluate` returns a string, a number or a boolean, whatever the answers."""

    @abstractmethod
    def evaluate(self, scope: Scope) -> Value:
        """The node's value in this scope."""

    def children(self) -> tuple[Node, ...]:
        return ()

    def rebuild(self, children: tuple[Node, ...]) -> Node:
        """The same node over other children (for `transform`)."""
        return self

    def references(self) -> set[str]:
        found: set[str] = set()
        for child in self.children():
            found |= child.references()
        return found

    def walk(self) -> list[Node]:
        """This node and every node under it, parents first."""
        found: list[Node] = [self]
        for child in self.children():
            found += child.walk()
        return found


@dataclass(frozen=True)
class Literal(Node):
    value: Value
    text: str | None = field(default=None, compare=False)
    """A number as it was written (`0.50` stays `0.50` when the expression is written back)."""

    def evaluate(self, scope: Scope) -> Value:
        return self.value


@dataclass(frozen=True)
class Ref(Node):
    """`${step_id}`: the answer to an earlier step (multiple codes joined by spaces; '' if none)."""

    name: str

    def evaluate(self, scope: Scope) -> Value:
        return " ".join(scope.values.get(self.name, ()))

    def references(self) -> set[str]:
        return {self.name}


@dataclass(frozen=True)
class Current(Node):
    """`.`: the answer being checked by a constraint."""

    def evaluate(self, scope: Scope) -> Value:
        return " ".join(scope.current or ())


@dataclass(frozen=True)
class Attribute(Node):
    """A bare name in a choice_filter: the option's attribute (`name` is the option code)."""

    name: str

    def evaluate(self, scope: Scope) -> Value:
        return (scope.attributes or {}).get(self.name, "")


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node

    def evaluate(self, scope: Scope) -> Value:
        if self.op == "and":
            return truthy(self.left.evaluate(scope)) and truthy(self.right.evaluate(scope))
        if self.op == "or":
            return truthy(self.left.evaluate(scope)) or truthy(self.right.evaluate(scope))
        a, b = self.left.evaluate(scope), self.right.evaluate(scope)
        if self.op in ("+", "-", "*", "div", "mod"):
            return arithmetic(self.op, number(a), number(b))
        return compare(self.op, a, b)

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

    def rebuild(self, children: tuple[Node, ...]) -> Node:
        return Binary(self.op, children[0], children[1])


@dataclass(frozen=True)
class Negate(Node):
    operand: Node

    def evaluate(self, scope: Scope) -> Value:
        return -number(self.operand.evaluate(scope))

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def rebuild(self, children: tuple[Node, ...]) -> Node:
        return Negate(children[0])


@dataclass(frozen=True)
class Call(Node):
    function: str
    arguments: tuple[Node, ...]

    def evaluate(self, scope: Scope) -> Value:
        return FUNCTIONS[self.function].call(self.arguments, scope)

    def children(self) -> tuple[Node, ...]:
        return self.arguments

    def rebuild(self, children: tuple[Node, ...]) -> Node:
        return Call(self.function, children)


def transform(node: Node, change: Callable[[Node], Node | None]) -> Node:
    """A copy of the tree, children first, where `change` may replace any node (None keeps it)."""
    children = node.children()
    if children:
        rebuilt = tuple(transform(child, change) for child in children)
        if rebuilt != children:
            node = node.rebuild(rebuilt)
    replaced = change(node)
    return node if replaced is None else replaced


# ---------------------------------------------------------------- values


def truthy(value: Value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return value != 0 and not math.isnan(value)
    return value != ""


def number(value: Value) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    try:
        return float(value)
    except ValueError:
        return math.nan


def arithmetic(op: str, x: float, y: float) -> float:
    """`+ - * div mod` on numbers; a result that is not a number is NaN, never an exception."""
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if y == 0 or not (math.isfinite(x) and math.isfinite(y)):
        return x / y if op == "div" and y != 0 else math.nan
    return x / y if op == "div" else math.fmod(x, y)


def compare(op: str, a: Value, b: Value) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        x: Value = truthy(a)
        y: Value = truthy(b)
    elif isinstance(a, float) or isinstance(b, float):
        x, y = number(a), number(b)
        if math.isnan(x) or math.isnan(y):
            x, y = _as_text(a), _as_text(b)
    else:
        x, y = a, b
        if _looks_numeric(a) and _looks_numeric(b):
            x, y = float(a), float(b)
    if op == "=":
        return x == y
    if op == "!=":
        return x != y
    if type(x) is not type(y):
        return False
    if op == "<":
        return x < y  # type: ignore[operator]
    if op == "<=":
        return x <= y  # type: ignore[operator]
    if op == ">":
        return x > y  # type: ignore[operator]
    return x >= y  # type: ignore[operator]


def _looks_numeric(text: str) -> bool:
    return bool(re.fullmatch(r"-?\d+(?:\.\d+)?", text))


def _as_text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return value


# ---------------------------------------------------------------- functions (registered, one small class each)


class Function(ABC):
    """A function expressions may call. `places`: where it means something (None: anywhere)."""

    name: ClassVar[str]
    arity: ClassVar[tuple[int, int]]  # min, max number of arguments
    places: ClassVar[frozenset[Place] | None] = None

    @abstractmethod
    def call(self, arguments: tuple[Node, ...], scope: Scope) -> Value:
        """The function's value for these (unevaluated) arguments."""

    def problems(self, arguments: tuple[Node, ...]) -> list[str]:
        """What is wrong with these arguments, found before any answer is given (empty when fine)."""
        return []


FUNCTIONS: dict[str, Function] = {}


def function(cls: type[Function]) -> type[Function]:
    FUNCTIONS[cls.name] = cls()
    return cls


@function
class Selected(Function):
    """`selected(${q}, 'code')`: the option was chosen."""

    name, arity = "selected", (2, 2)

    def call(self, arguments: tuple[Node, ...], scope: Scope) -> Value:
        chosen = _as_text(arguments[0].evaluate(scope)).split()
        return _as_text(arguments[1].evaluate(scope)) in chosen


@function
class CountSelected(Function):
    name, arity = "count-selected", (1, 1)

    def call(self, arguments: tuple[Node, ...], scope: Scope) -> Value:
        return float(len(_as_text(arguments[0].evaluate(scope)).split()))


@function
class Not(Function):
    name, arity = "not", (1, 1)

    def call(self, arguments: tuple[Node, ...], scope: Scope) -> Value:
        return not truthy(arguments[0].evaluate(scope))


@function
class TrueFunction(Function):
    name, arity = "true", (0, 0)

    def call(self, arguments: tuple[Node, ...], scope: Scope) -> Value:
        return True


@function
class FalseFunction(Function):
    name, arity = "false", (0, 0)

    def call(self, arguments: tuple[Node, ...], scope: Scope) -> Value:
        return False


@function
class If(Function):
    name, arity = "if", (3, 3)

    def call(self, arguments: tuple[Node, ...], scope: Scope) -> Value:
        chosen = arguments[1] if truthy(arguments[0].evaluate(scope)) else arguments[2]
        return chosen.evaluate(scope)


@function
class StringLength(Function):
    name, arity = "string-length", (1, 1)

    def call(self, arguments: tuple[Node, ...], scope: Scope) -> Value:
        return float(len(_as_text(arguments[0].evaluate(scope))))


@function
class Regex(Function):
    """`regex(., 'pattern')`, run by RE2 in time linear in the text (a pattern can never freeze the bot).

    The pattern must be written in the expression, so it is compiled, and refused if RE2 cannot run it
    (back-references, look-around), when the flow is loaded."""

    name, arity = "regex", (2, 2)

    def call(self, arguments: tuple[Node, ...], scope: Scope) -> Value:
        try:
            pattern = compile_regex(_as_text(arguments[1].evaluate(scope)))
        except re2.error:  # only a pattern computed from answers can get here (load refuses written ones)
            return False
        return pattern.search(_well_formed(_as_text(arguments[0].evaluate(scope)))) is not None

    def problems(self, arguments: tuple[Node, ...]) -> list[str]:
        pattern = arguments[1]
        if not isinstance(pattern, Literal) or not isinstance(pattern.value, str):
            return ["regex() needs its pattern written as a text in quotes, e.g. regex(., '^[0-9]+$')"]
        problem = regex_problem(pattern.value)
        return [problem] if problem else []


@function
class Today(Function):
    name, arity = "today", (0, 0)

    def call(self, arguments: tuple[Node, ...], scope: Scope) -> Value:
        return datetime.now(UTC).date().isoformat()


@function
class Int(Function):
    name, arity = "int", (1, 1)

    def call(self, arguments: tuple[Node, ...], scope: Scope) -> Value:
        value = number(arguments[0].evaluate(scope))
        return float(math.trunc(value)) if math.isfinite(value) else value


@function
class Number(Function):
    name, arity = "number", (1, 1)

    def call(self, arguments: tuple[Node, ...], scope: Scope) -> Value:
        return number(arguments[0].evaluate(scope))


@function
class Coalesce(Function):
    name, arity = "coalesce", (2, 2)

    def call(self, arguments: tuple[Node, ...], scope: Scope) -> Value:
        first = arguments[0].evaluate(scope)
        return first if truthy(first) else arguments[1].evaluate(scope)


@function
class Concat(Function):
    name, arity = "concat", (1, 20)

    def call(self, arguments: tuple[Node, ...], scope: Scope) -> Value:
        return "".join(_as_text(a.evaluate(scope)) for a in arguments)


# ---------------------------------------------------------------- regular expressions (RE2)


def _re2_options() -> Any:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is reported to the author, not printed by RE2
    return options


@lru_cache(maxsize=256)
def compile_regex(pattern: str) -> Any:
    """The RE2 program for a pattern (cached); re2.error when RE2 cannot run it."""
    return re2.compile(pattern, _re2_options())


def regex_problem(pattern: str) -> str | None:
    """Why RE2 cannot run this pattern, in words for a questionnaire author (None when it can)."""
    try:
        compile_regex(pattern)
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        return (
            f"regex() pattern {pattern!r} cannot be used ({detail}); patterns run in linear time, so "
            "back-references (\\1) and look-ahead or look-behind ((?=…), (?!…), (?<=…)) are not available"
        )
    return None


def _well_formed(text: str) -> str:
    """The text with any lone surrogate (which UTF-8 cannot hold) replaced by U+FFFD, for RE2."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


# ---------------------------------------------------------------- parser (precedence climbing)

_PRECEDENCE = {
    "or": 1,
    "and": 2,
    "=": 3,
    "!=": 3,
    "<": 4,
    "<=": 4,
    ">": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "div": 6,
    "mod": 6,
}
_WORD_OPERATORS = ("and", "or", "div", "mod")


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.position = 0
        self.depth = 0

    def fail(self, problem: str) -> FlowError:
        return FlowError(f"expression {self.source!r}: {problem}")

    def peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def peek_text(self) -> str | None:
        token = self.peek()
        return None if token is None else token.text

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise self.fail("ends too early")
        self.position += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise self.fail(f"expected {text!r}, found {token.text!r}")

    def parse(self) -> Node:
        if not self.tokens:
            raise self.fail("is empty")
        node = self.expression(0)
        if (extra := self.peek()) is not None:
            raise self.fail(f"unexpected {extra.text!r}")
        return node

    def operator(self) -> str | None:
        token = self.peek()
        if token is None:
            return None
        if token.kind == "op" and token.text in _PRECEDENCE:
            return token.text
        if token.kind == "name" and token.text in _WORD_OPERATORS:
            return token.text
        return None

    def expression(self, minimum: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"is nested more than {MAX_DEPTH} levels deep")
        left = self.unary()
        while (op := self.operator()) is not None and _PRECEDENCE[op] > minimum:
            self.take()
            right = self.expression(_PRECEDENCE[op])
            left = Binary(op, left, right)
        self.depth -= 1
        return left

    def unary(self) -> Node:
        if self.peek_text() == "-":
            self.take()
            return Negate(self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "ref":
            return Ref(token.text[2:-1])
        if token.kind == "number":
            return Literal(float(token.text), token.text)
        if token.kind == "string":
            return Literal(token.text[1:-1])
        if token.kind == "dot":
            return Current()
        if token.text == "(":
            node = self.expression(0)
            self.expect(")")
            return node
        if token.kind == "name":
            if self.peek_text() == "(":
                return self.call(token.text)
            return Attribute(token.text)
        raise self.fail(f"unexpected {token.text!r}")

    def call(self, name: str) -> Node:
        if name not in FUNCTIONS:
            raise self.fail(f"function {name}() is not supported (supported: {', '.join(sorted(FUNCTIONS))})")
        self.expect("(")
        arguments: list[Node] = []
        if self.peek_text() not in (")", None):
            arguments.append(self.expression(0))
            while self.peek_text() == ",":
                self.take()
                arguments.append(self.expression(0))
        self.expect(")")
        low, high = FUNCTIONS[name].arity
        if not low <= len(arguments) <= high:
            raise self.fail(f"{name}() takes {low}{'' if low == high else f'–{high}'} argument(s)")
        return Call(name, tuple(arguments))


def parse(source: str) -> Node:
    """Parse an expression (FlowError naming the expression and the problem)."""
    return _Parser(source).parse()


# ---------------------------------------------------------------- writing an expression back as text


def render(node: Node) -> str:
    """The expression as text, with the brackets it needs and no others (parse(render(n)) == n)."""
    return _render(node, 0)


def _render(node: Node, context: int) -> str:
    if isinstance(node, Literal):
        return _literal(node)
    if isinstance(node, Ref):
        return f"${{{node.name}}}"
    if isinstance(node, Current):
        return "."
    if isinstance(node, Attribute):
        return node.name
    if isinstance(node, Negate):
        operand = node.operand
        inner = _render(operand, 0)
        return f"-({inner})" if isinstance(operand, Binary | Negate) else f"-{inner}"
    if isinstance(node, Call):
        return f"{node.function}({', '.join(_render(a, 0) for a in node.arguments)})"
    if isinstance(node, Binary):
        precedence = _PRECEDENCE[node.op]
        # operators group to the left: a right operand of the same precedence needs brackets
        text = f"{_render(node.left, precedence - 1)} {node.op} {_render(node.right, precedence)}"
        return f"({text})" if precedence <= context else text
    raise FlowError(f"cannot write expression node {node!r}")


def _literal(node: Literal) -> str:
    value = node.value
    if isinstance(value, bool):
        return "true()" if value else "false()"
    if isinstance(value, float):
        if node.text is not None:
            return node.text
        return str(int(value)) if value.is_integer() else format(Decimal(repr(value)), "f")
    return f'"{value}"' if "'" in value else f"'{value}'"


# ---------------------------------------------------------------- checks at load time

TRUE_FALSE_WORDS = frozenset({"true", "false", "TRUE", "FALSE", "True", "False", "yes", "no", "YES", "NO"})


def check(node: Node, place: Place) -> list[str]:
    """What in this expression cannot work where it is used (empty when all is well), before anyone answers:
    `.` outside a constraint, a bare name outside a choice_filter (`FALSE` included), a function outside its
    place, a regex() RE2 cannot run."""
    problems: list[str] = []
    for part in node.walk():
        if isinstance(part, Current) and place is not Place.CONSTRAINT:
            problems.append("`.` (the answer being checked) means something only in a constraint")
        elif isinstance(part, Attribute) and place is not Place.CHOICE_FILTER:
            if part.name in TRUE_FALSE_WORDS:
                word = "true()" if part.name.lower() in ("true", "yes") else "false()"
                problems.append(f"`{part.name}` is not a value in an expression: write {word}")
            else:
                problems.append(
                    f"`{part.name}` is an option attribute, which only a choice_filter can test "
                    f"(an earlier answer is written ${{{part.name}}})"
                )
        elif isinstance(part, Call):
            used = FUNCTIONS[part.function]
            if used.places is not None and place not in used.places:
                where = " or ".join(sorted(p.value for p in used.places))
                problems.append(f"{part.function}() can only be used in {where}")
            problems += used.problems(part.arguments)
    return list(dict.fromkeys(problems))


# ---------------------------------------------------------------- compiled expressions


@dataclass(frozen=True)
class Expression:
    """A parsed expression with its source text (the text is what diagrams and errors show)."""

    source: str
    node: Node

    @property
    def __name__(self) -> str:  # transitions labels conditions by their __name__
        return self.source

    def holds(self, scope: Scope) -> bool:
        return truthy(self.node.evaluate(scope))

    def value(self, scope: Scope) -> str:
        return _as_text(self.node.evaluate(scope))


def compile_expression(source: str) -> Expression:
    return Expression(source, parse(source))


def as_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
