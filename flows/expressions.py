"""Conditions and calculations in XLSForm's expression syntax (`${q} = 'yes' and selected(${p}, 'x')`).

Parsed once at load time into small node classes; evaluated against the session's answer values
(choice codes and numbers only: free text is never available here, only whether it was given).
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import ClassVar

from config.errors import FlowError

Value = str | float | bool
Values = Mapping[str, Sequence[str]]
"""Answers by step id: option codes, or a number or date as text; free text only as TEXT_GIVEN."""

TEXT_GIVEN = "\u2063text"
"""Stands for 'a free-text answer was given' (its content never reaches the engine's state)."""


@dataclass(frozen=True)
class Scope:
    """What an expression can see: earlier answers, the answer being checked (`.`), option attributes."""

    values: Values
    current: Sequence[str] | None = None
    attributes: Mapping[str, str] | None = None


# ---------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<ref>\$\{[A-Za-z_][\w.\-]*\})
      | (?P<number>\d+(?:\.\d+)?|\.\d+)
      | (?P<string>'[^']*'|"[^"]*")
      | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|\(|\)|,)
      | (?P<name>[A-Za-z_][\w\-:]*)
      | (?P<dot>\.)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    source = source.strip()
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None or match.end() == position:
            raise FlowError(f"cannot read expression {source!r} at {source[position : position + 12]!r}")
        kind = match.lastgroup or ""
        tokens.append(Token(kind, match.group(kind)))
        position = match.end()
        while position < len(source) and source[position].isspace():
            position += 1
    return tokens


# ---------------------------------------------------------------- nodes


class Node(ABC):
    """An expression node; `evaluate` returns a string, a number or a boolean."""

    @abstractmethod
    def evaluate(self, scope: Scope) -> Value:
        """The node's value in this scope."""

    def references(self) -> set[str]:
        return set()


@dataclass(frozen=True)
class Literal(Node):
    value: Value

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
        if scope.attributes is None:
            raise FlowError(f"{self.name!r} is only meaningful in a choice_filter")
        return scope.attributes.get(self.name, "")


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
            x, y = number(a), number(b)
            if self.op == "+":
                return x + y
            if self.op == "-":
                return x - y
            if self.op == "*":
                return x * y
            if y == 0:
                return math.nan
            return x / y if self.op == "div" else math.fmod(x, y)
        return compare(self.op, a, b)

    def references(self) -> set[str]:
        return self.left.references() | self.right.references()


@dataclass(frozen=True)
class Negate(Node):
    operand: Node

    def evaluate(self, scope: Scope) -> Value:
        return -number(self.operand.evaluate(scope))

    def references(self) -> set[str]:
        return self.operand.references()


@dataclass(frozen=True)
class Call(Node):
    function: str
    arguments: tuple[Node, ...]

    def evaluate(self, scope: Scope) -> Value:
        return FUNCTIONS[self.function].call(self.arguments, scope)

    def references(self) -> set[str]:
        refs: set[str] = set()
        for argument in self.arguments:
            refs |= argument.references()
        return refs


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


def compare(op: str, a: Value, b: Value) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        x: Value = truthy(a)
        y: Value = truthy(b)
    elif isinstance(a, float) or isinstance(b, float):
        x, y = number(a), number(b)
        if math.isnan(x) or math.isnan(y):
            x, y = str(a), str(b)
    else:
        x, y = a, b
        if _looks_numeric(a) and _looks_numeric(b):
            x, y = float(a), float(b)
    if op == "=":
        return x == y
    if op == "!=":
        return x != y
    try:
        if op == "<":
            return x < y  # type: ignore[operator]
        if op == "<=":
            return x <= y  # type: ignore[operator]
        if op == ">":
            return x > y  # type: ignore[operator]
        if op == ">=":
            return x >= y  # type: ignore[operator]
    except TypeError:
        return False
    raise FlowError(f"unknown operator {op!r}")


def _looks_numeric(text: str) -> bool:
    return bool(re.fullmatch(r"-?\d+(?:\.\d+)?", text))


# ---------------------------------------------------------------- functions (registered, one small class each)


class Function(ABC):
    name: ClassVar[str]
    arity: ClassVar[tuple[int, int]]  # min, max number of arguments

    @abstractmethod
    def call(self, arguments: tuple[Node, ...], scope: Scope) -> Value:
        """The function's value for these (unevaluated) arguments."""


FUNCTIONS: dict[str, Function] = {}


def function(cls: type[Function]) -> type[Function]:
    FUNCTIONS[cls.name] = cls()
    return cls


@function
class Selected(Function):
    """`selected(${q}, 'code')`: the option was chosen."""

    name, arity = "selected", (2, 2)

    def call(self, arguments: tuple[Node, ...], scope: Scope) -> Value:
        chosen = str(arguments[0].evaluate(scope)).split()
        return str(arguments[1].evaluate(scope)) in chosen


@function
class CountSelected(Function):
    name, arity = "count-selected", (1, 1)

    def call(self, arguments: tuple[Node, ...], scope: Scope) -> Value:
        return float(len(str(arguments[0].evaluate(scope)).split()))


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
        return float(len(str(arguments[0].evaluate(scope))))


@function
class Regex(Function):
    name, arity = "regex", (2, 2)

    def call(self, arguments: tuple[Node, ...], scope: Scope) -> Value:
        pattern = str(arguments[1].evaluate(scope))
        return re.search(pattern, str(arguments[0].evaluate(scope))) is not None


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
        return value if math.isnan(value) else float(math.trunc(value))


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


def _as_text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return value


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


class _Parser:
    def __init__(self, source: str, resolve: Callable[[str], str]) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.position = 0
        self.resolve = resolve

    def fail(self, problem: str) -> FlowError:
        return FlowError(f"expression {self.source!r}: {problem}")

    def peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

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
        node = self.expression(0)
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek().text!r}")  # type: ignore[union-attr]
        return node

    def operator(self) -> str | None:
        token = self.peek()
        if token is None:
            return None
        if token.kind == "op" and token.text in _PRECEDENCE:
            return token.text
        if token.kind == "name" and token.text in ("and", "or", "div", "mod"):
            return token.text
        return None

    def expression(self, minimum: int) -> Node:
        left = self.unary()
        while (op := self.operator()) is not None and _PRECEDENCE[op] > minimum:
            self.take()
            right = self.expression(_PRECEDENCE[op])
            left = Binary(op, left, right)
        return left

    def unary(self) -> Node:
        token = self.peek()
        if token is not None and token.text == "-":
            self.take()
            return Negate(self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "ref":
            return Ref(self.resolve(token.text[2:-1]))
        if token.kind == "number":
            return Literal(float(token.text))
        if token.kind == "string":
            return Literal(token.text[1:-1])
        if token.kind == "dot":
            return Current()
        if token.text == "(":
            node = self.expression(0)
            self.expect(")")
            return node
        if token.kind == "name":
            following = self.peek()
            if following is not None and following.text == "(":
                return self.call(token.text)
            return Attribute(token.text)
        raise self.fail(f"unexpected {token.text!r}")

    def call(self, name: str) -> Node:
        if name not in FUNCTIONS:
            raise self.fail(f"function {name}() is not supported (supported: {', '.join(sorted(FUNCTIONS))})")
        self.expect("(")
        arguments: list[Node] = []
        if self.peek() is not None and self.peek().text != ")":  # type: ignore[union-attr]
            arguments.append(self.expression(0))
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.take()
                arguments.append(self.expression(0))
        self.expect(")")
        low, high = FUNCTIONS[name].arity
        if not low <= len(arguments) <= high:
            raise self.fail(f"{name}() takes {low}{'' if low == high else f'–{high}'} argument(s)")
        return Call(name, tuple(arguments))


def parse(source: str, resolve: Callable[[str], str] | None = None) -> Node:
    """Parse an expression; `resolve` may rename `${name}` references (the importer maps XLSForm names)."""
    return _Parser(source, resolve or (lambda name: name)).parse()


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
