"""Read a published summary file back into tables, for the auditor: JSON, CSV, XLSX, or the HTML report (which
carries its figures as JSON next to the page). Only what the file says is used."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from summaries.audit import AuditError
from summaries.render import SCHEMA
from summaries.tables import ALL, RESPONDENTS, STATUS_ROWS, Kind, Population, QuestionShape, Tables

_SCRIPT = re.compile(r'<script type="application/json" id="voices-summary">(.*?)</script>', re.DOTALL)


@dataclass(frozen=True)
class PublishedFile:
    path: str
    consultation: str
    number: int | None
    tables: Tables


def read_file(path: Path) -> PublishedFile:
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            return _from_document(str(path), json.loads(path.read_text(encoding="utf-8")))
        if suffix in (".html", ".htm"):
            match = _SCRIPT.search(path.read_text(encoding="utf-8"))
            if match is None:
                raise AuditError(f"{path}: not a Voices 8.7 HTML report (no figures inside)")
            return _from_document(str(path), json.loads(match.group(1).replace("<\\/", "</")))
        if suffix == ".csv":
            rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
            return _from_rows(str(path), rows)
        if suffix == ".xlsx":
            return _from_rows(str(path), _xlsx_rows(path))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AuditError(f"{path}: cannot read it as a summary ({type(exc).__name__}: {exc})") from exc
    raise AuditError(f"{path}: unknown format (json, csv, xlsx or html)")


def _xlsx_rows(path: Path) -> list[dict[str, Any]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    sheet = book["cells"]
    lines = list(sheet.iter_rows(values_only=True))
    header = [str(h) for h in lines[0]]
    return [{h: ("" if v is None else v) for h, v in zip(header, line, strict=False)} for line in lines[1:]]


def _count(cell: dict[str, Any]) -> int | None:
    if cell.get("suppressed") or cell.get("count") is None:
        return None
    return int(cell["count"])


def _from_document(path: str, data: dict[str, Any]) -> PublishedFile:
    if data.get("schema") != SCHEMA:
        raise AuditError(f"{path}: not a {SCHEMA} document")
    populations = [Population.parse(p["key"]) for p in data["populations"]]
    counts: dict[tuple[str, str, str], int | None] = {
        (p["key"], "", RESPONDENTS): _count(p["respondents"]) for p in data["populations"]
    }
    questions = []
    medians: dict[tuple[str, str], int] = {}
    quotes: dict[str, int] = {}
    for q in data["questions"]:
        rows = tuple(r["key"] for r in q["rows"])
        broken = any(t["rows"] for t in q["tables"] if t["population"] != ALL) or len(populations) == 1
        questions.append(QuestionShape(q["id"], Kind(q["kind"]), rows, broken, q["defines_groups"]))
        for t in q["tables"]:
            pop = t["population"]
            for status in STATUS_ROWS:
                counts[(pop, q["id"], status)] = _count(t[status])
            for r in t["rows"]:
                counts[(pop, q["id"], r["key"])] = _count(r)
            if t.get("median"):
                medians[(pop, q["id"])] = rows.index(t["median"]["row"])
        if q.get("quotes"):
            quotes[q["id"]] = len(q["quotes"])
    publication = data.get("publication") or {}
    ordered = tuple(q["id"] for q in data["questions"] if q.get("in_order"))
    tables = Tables(
        int(data["k"]), populations, questions, counts, medians, quotes, publication.get("number") or 0, ordered
    )
    return PublishedFile(path, data["consultation"]["code"], publication.get("number"), tables)


def _from_rows(path: str, rows: list[dict[str, Any]]) -> PublishedFile:
    if not rows:
        raise AuditError(f"{path}: no cells")
    first = rows[0]
    k = int(first["k"])
    populations: list[Population] = []
    shapes: dict[str, dict[str, Any]] = {}
    counts: dict[tuple[str, str, str], int | None] = {}
    medians: dict[tuple[str, str], str] = {}
    quotes: dict[str, int] = {}
    for row in rows:
        pop, question, key = str(row["population"]), str(row["question"]), str(row["row"])
        if key == RESPONDENTS and not question:
            populations.append(Population.parse(pop))
        elif key == "quote":
            quotes[question] = quotes.get(question, 0) + 1
            continue
        elif key == "median":
            medians[(pop, question)] = str(row["in_row"])
            continue
        else:
            shape = shapes.setdefault(
                question,
                {
                    "kind": row["question_kind"],
                    "rows": [],
                    "broken": False,
                    "groups": str(row["defines_groups"]).lower() == "true",
                },
            )
            if key not in STATUS_ROWS:
                if key not in shape["rows"]:
                    shape["rows"].append(key)
                if pop != ALL:
                    shape["broken"] = True
        suppressed = str(row["suppressed"]).lower() == "true"
        counts[(pop, question, key)] = None if suppressed or row["count"] in ("", None) else int(row["count"])
    questions = [
        QuestionShape(q, Kind(s["kind"]), tuple(s["rows"]), s["broken"] or len(populations) == 1, s["groups"])
        for q, s in shapes.items()
    ]
    rows_of = {q.id: q.rows for q in questions}
    publication = int(first["publication"]) if str(first["publication"]).strip() else None
    tables = Tables(
        k,
        populations,
        questions,
        counts,
        {key: rows_of[key[1]].index(row) for key, row in medians.items()},
        quotes,
        publication or 0,
    )
    return PublishedFile(path, str(first["consultation"]), publication, tables)
