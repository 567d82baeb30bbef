"""The published counts of a summary as tables of cells, and the linear facts any reader knows about them.

This is the language-neutral core that suppression, the auditor and every renderer share. A cell is
(population, question, row): `("all", "", "respondents")`, `("group:survivor", "awareness", "answered")`,
`("all", "priorities", "option:justice")`. A count of None is a hidden (suppressed) cell.

What a reader knows without being told (the constraints the auditor uses):
- in every population, for every question: answered + skipped + not reached = respondents;
- a single-answer question (one choice, yes/no, rating, age band, a number's bins): its rows add up to answered;
- a multiple-answer question (multiple choice, themes of written answers): each row is at most answered, and the
  rows add up to at least answered;
- a written answer in "no theme" is in no theme: the no-theme row and any theme's row add up to at most answered;
- along a questionnaire without jumps, everyone who reached a question that is always asked reached the always
  asked ones before it: answered + skipped can only fall from one to the next (`Tables.ordered`);
- a breakdown (participant group, invite channel) splits everyone: for every cell, the value in "all" is the sum
  of the values in each published population of the breakdown plus those of the people in none of them (the
  "remainder", never published); a group's respondents are the answers of that group to the group question;
- a published median of a rating or a number puts half of the answers at or below its row;
- a published quote is at least one written answer to its question;
- every count is a whole number, at least 0.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from enum import StrEnum

ALL = "all"
RESPONDENTS = "respondents"
ANSWERED = "answered"
SKIPPED = "skipped"
NOT_REACHED = "not_reached"
STATUS_ROWS = (ANSWERED, SKIPPED, NOT_REACHED)
NO_THEME = "theme:"
"""The row of a written-answer question's answers coded into no theme (or not coded yet)."""

CellKey = tuple[str, str, str]
"""(population key, question id ("" for the respondents cell), row)."""


class Kind(StrEnum):
    SINGLE = "single"  # each answer is in exactly one row
    MULTIPLE = "multiple"  # each answer is in one row or more
    COUNT = "count"  # no rows: only answered / skipped / not reached


class Dimension(StrEnum):
    ALL = "all"
    GROUP = "group"
    CHANNEL = "channel"


@dataclass(frozen=True)
class Population:
    """Everyone ("all"), or the people of one participant group or invite channel."""

    dimension: Dimension
    code: str = ""

    @property
    def key(self) -> str:
        return ALL if self.dimension is Dimension.ALL else f"{self.dimension.value}:{self.code}"

    @classmethod
    def parse(cls, key: str) -> Population:
        if key == ALL:
            return cls(Dimension.ALL)
        dimension, _, code = key.partition(":")
        return cls(Dimension(dimension), code)


EVERYONE = Population(Dimension.ALL)


def remainder_key(dimension: Dimension) -> str:
    """The never-published population of the people in no published population of a breakdown."""
    return f"~{dimension.value}"


@dataclass(frozen=True)
class QuestionShape:
    id: str
    kind: Kind
    rows: tuple[str, ...] = ()
    broken_down: bool = True
    """Its rows are published per population too (themes of written answers are published for everyone only)."""
    group_question: bool = False
    """The question whose answers define the group populations (not broken down by group: that is its diagonal)."""

    def rows_in(self, population: str) -> tuple[str, ...]:
        return self.rows if population == ALL or self.broken_down else ()

    def in_population(self, population: Population | str) -> bool:
        key = population if isinstance(population, str) else population.key
        return not (self.group_question and (key.startswith("group:") or key == remainder_key(Dimension.GROUP)))


@dataclass
class Tables:
    """The counts of one summary (None: hidden), with what is needed to know how they relate."""

    k: int
    populations: list[Population]
    questions: list[QuestionShape]
    counts: dict[CellKey, int | None] = field(default_factory=dict)
    medians: dict[tuple[str, str], int] = field(default_factory=dict)
    """(population, question) -> index in the question's rows of the row holding the (lower) median."""
    quotes: dict[str, int] = field(default_factory=dict)
    """question -> number of quotes published for it."""
    publication: int = 0
    """Its number in the consultation's sequence of publications (0: not a publication)."""
    ordered: tuple[str, ...] = ()
    """Questions everyone passes in this order on their way further (a questionnaire without jumps, the questions
    without a condition): whoever reached one reached those before it."""

    def has_question(self, question_id: str) -> bool:
        return any(q.id == question_id for q in self.questions)

    def question(self, question_id: str) -> QuestionShape:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)

    def cells(self) -> list[CellKey]:
        """Every cell of the tables, in reading order."""
        out: list[CellKey] = []
        for population in self.populations:
            out.append((population.key, "", RESPONDENTS))
            for q in self.questions:
                if not q.in_population(population):
                    continue
                out += [(population.key, q.id, row) for row in (*STATUS_ROWS, *q.rows_in(population.key))]
        return out

    def group_population(self, code: str) -> Population | None:
        for population in self.populations:
            if population.dimension is Dimension.GROUP and population.code == code:
                return population
        return None

    def group_question(self) -> QuestionShape | None:
        return next((q for q in self.questions if q.group_question), None)


@dataclass(frozen=True)
class Constraint:
    """sum(coefficient * cell) == rhs (or <= rhs). Cells are keyed (publication index, population, question, row)."""

    terms: tuple[tuple[tuple[int, str, str, str], int], ...]
    equal: bool
    rhs: int = 0


Var = tuple[int, str, str, str]


def structure(tables: Tables, index: int = 0) -> list[Constraint]:
    """Every linear fact a reader knows about one publication's cells (hidden or not), as constraints over
    variables keyed (index, population, question, row); remainder populations are included."""
    out: list[Constraint] = []

    def v(pop: str, question: str, row: str) -> Var:
        return (index, pop, question, row)

    def add(terms: list[tuple[Var, int]], equal: bool, rhs: int = 0) -> None:
        out.append(Constraint(tuple(terms), equal, rhs))

    dimensions = sorted({p.dimension for p in tables.populations if p.dimension is not Dimension.ALL})
    populations = [p.key for p in tables.populations] + [remainder_key(d) for d in dimensions]
    for pop in populations:
        respondents = v(pop, "", RESPONDENTS)
        for q in tables.questions:
            if not q.in_population(pop):
                continue
            a, s, n = (v(pop, q.id, row) for row in STATUS_ROWS)
            add([(a, 1), (s, 1), (n, 1), (respondents, -1)], True)
            rows = [v(pop, q.id, row) for row in q.rows_in(pop)]
            if not rows:
                continue
            if q.kind is Kind.SINGLE:
                add([*((r, 1) for r in rows), (a, -1)], True)
            elif q.kind is Kind.MULTIPLE:
                for r in rows:
                    add([(r, 1), (a, -1)], False)
                add([(a, 1), *((r, -1) for r in rows)], False)
                if NO_THEME in q.rows_in(pop):
                    none = v(pop, q.id, NO_THEME)
                    for r in rows:
                        if r != none:
                            add([(r, 1), (none, 1), (a, -1)], False)
            median = tables.medians.get((pop, q.id))
            answered = tables.counts.get((pop, q.id, ANSWERED))
            if median is not None and answered is not None and answered > 0:
                half = math.ceil(answered / 2)
                below = rows[:median]
                if below:
                    add([(r, 1) for r in below], False, half - 1)
                add([(r, -1) for r in rows[: median + 1]], False, -half)
        chain = [q for q in tables.ordered if tables.has_question(q) and tables.question(q).in_population(pop)]
        for before, after in itertools.pairwise(chain):
            reached = [(v(pop, after, ANSWERED), 1), (v(pop, after, SKIPPED), 1)]
            add([*reached, (v(pop, before, ANSWERED), -1), (v(pop, before, SKIPPED), -1)], False)
    for dimension in dimensions:
        members = [p.key for p in tables.populations if p.dimension is dimension] + [remainder_key(dimension)]
        cells: list[tuple[str, str]] = [("", RESPONDENTS)]
        for q in tables.questions:
            if q.in_population(members[-1]):
                cells += [(q.id, row) for row in (*STATUS_ROWS, *q.rows_in(members[0]))]
        for question, row in cells:
            add([(v(ALL, question, row), 1), *((v(m, question, row), -1) for m in members)], True)
        if dimension is Dimension.GROUP:
            group = tables.group_question()
            if group is not None:
                for member in members[:-1]:
                    code = Population.parse(member).code
                    add([(v(member, "", RESPONDENTS), 1), (v(ALL, group.id, f"option:{code}"), -1)], True)
    for question, quoted in tables.quotes.items():
        if quoted > 0:
            add([(v(ALL, question, ANSWERED), -1)], False, -quoted)
    return out


def is_remainder(population: str) -> bool:
    return population.startswith("~")
