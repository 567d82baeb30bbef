"""A consultation summary as data, language-neutral: what a publication freezes (JSON in `publication.payload`)
and what every renderer reads. Labels are kept in every language of the consultation, so a publication can be
read in any of them long after the flow or the raw answers are gone."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from summaries.tables import ALL, RESPONDENTS, CellKey, Dimension, Kind, Population, QuestionShape, Tables

FORMATS = ("html", "pdf", "csv", "xlsx", "json", "md", "console")
"""The formats `summaries.render` writes (here, so the command line lists them without importing renderers)."""

PAYLOAD_VERSION = 1

Texts = dict[str, str]
"""{language: text}"""


@dataclass
class QuestionInfo:
    id: str
    type: str  # the step type: single_choice, multiple_choice, rating, yes_no, age_gate, integer, decimal, ...
    text: Texts
    tags: list[str] = field(default_factory=list)
    row_labels: dict[str, Texts] = field(default_factory=dict)
    bins: list[float] | None = None  # the edges of a number's bins
    scale: tuple[int, int] | None = None  # a rating's lowest and highest point
    ends: tuple[Texts, Texts] | None = None  # a rating's words at both ends


@dataclass
class QuoteInfo:
    question_id: str
    text: str
    language: str | None = None


@dataclass
class ConsultationInfo:
    code: str
    title: str
    country: str
    kind: str
    cycle_year: int | None
    flow_id: str
    flow_version: int
    flow_title: Texts
    audience: str
    languages: list[str]
    default_language: str
    organisation: str | None
    opened_on: str  # ISO dates
    closed_on: str | None


@dataclass
class Summary:
    consultation: ConsultationInfo
    tables: Tables
    questions: list[QuestionInfo]
    population_labels: dict[str, Texts] = field(default_factory=dict)
    numeric_medians: dict[tuple[str, str], float] = field(default_factory=dict)
    quotes: list[QuoteInfo] = field(default_factory=list)
    number: int | None = None  # publication number (None: a live preview, which never leaves the system)
    final: bool = False
    made_on: str = ""  # ISO date of the publication (or of the preview)
    carried_from: int | None = None
    """A final publication made with fewer than k new respondents since the previous one repeats that one's
    figures (anything newer would single those people out): the previous publication's number."""

    @property
    def k(self) -> int:
        return self.tables.k

    @property
    def respondents(self) -> int | None:
        return self.tables.counts.get((ALL, "", RESPONDENTS))

    def info(self, question_id: str) -> QuestionInfo:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)

    def count(self, key: CellKey) -> int | None:
        return self.tables.counts.get(key)

    # ---- JSON (the publication payload) ----

    def to_json(self) -> str:
        t = self.tables
        payload: dict[str, Any] = {
            "version": PAYLOAD_VERSION,
            "consultation": asdict(self.consultation),
            "number": self.number,
            "final": self.final,
            "made_on": self.made_on,
            "carried_from": self.carried_from,
            "k": t.k,
            "populations": [p.key for p in t.populations],
            "shapes": [
                {
                    "id": q.id,
                    "kind": q.kind.value,
                    "rows": list(q.rows),
                    "broken_down": q.broken_down,
                    "group_question": q.group_question,
                }
                for q in t.questions
            ],
            "counts": [[*key, value] for key, value in t.counts.items()],
            "medians": [[pop, question, row] for (pop, question), row in t.medians.items()],
            "quote_counts": t.quotes,
            "ordered": list(t.ordered),
            "questions": [asdict(q) for q in self.questions],
            "population_labels": self.population_labels,
            "numeric_medians": [[pop, question, value] for (pop, question), value in self.numeric_medians.items()],
            "quotes": [asdict(q) for q in self.quotes],
        }
        return json.dumps(payload, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Summary:
        data = json.loads(text)
        tables = Tables(
            k=data["k"],
            populations=[Population.parse(key) for key in data["populations"]],
            questions=[
                QuestionShape(s["id"], Kind(s["kind"]), tuple(s["rows"]), s["broken_down"], s["group_question"])
                for s in data["shapes"]
            ],
            counts={(pop, q, row): value for pop, q, row, value in data["counts"]},
            medians={(pop, q): row for pop, q, row in data["medians"]},
            quotes=dict(data["quote_counts"]),
            publication=data["number"] or 0,
            ordered=tuple(data.get("ordered", ())),
        )
        questions = []
        for q in data["questions"]:
            q["scale"] = tuple(q["scale"]) if q.get("scale") else None
            q["ends"] = tuple(q["ends"]) if q.get("ends") else None
            questions.append(QuestionInfo(**q))
        return cls(
            consultation=ConsultationInfo(**data["consultation"]),
            tables=tables,
            questions=questions,
            population_labels=data["population_labels"],
            numeric_medians={(pop, q): value for pop, q, value in data["numeric_medians"]},
            quotes=[QuoteInfo(**q) for q in data["quotes"]],
            number=data["number"],
            final=data["final"],
            made_on=data["made_on"],
            carried_from=data.get("carried_from"),
        )


def group_populations(summary: Summary) -> list[Population]:
    return [p for p in summary.tables.populations if p.dimension is Dimension.GROUP]
