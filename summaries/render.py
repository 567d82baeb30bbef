"""Renderers: a Report as JSON (documented schema, README), tidy CSV and XLSX (one row per cell), a self-contained
HTML page (inline SVG charts, print stylesheet), PDF (the same page through WeasyPrint), Markdown and a console
table. Hidden cells are never given a value: `count: null, suppressed: true`, an empty count column, "hidden"."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from summaries.charts import bar_chart
from summaries.model import FORMATS as FORMATS  # re-exported: the formats render() writes
from summaries.report import CellView, Report, TableView

SCHEMA = "voices87-summary/1"
TEMPLATES = Path(__file__).resolve().parent / "templates"
COLUMNS = (
    "consultation",
    "publication",
    "final",
    "published_on",
    "language",
    "k",
    "population",
    "population_label",
    "question",
    "question_text",
    "question_kind",
    "defines_groups",
    "row",
    "row_label",
    "count",
    "suppressed",
    "share",
    "value",
    "in_row",
)


def _cell(view: CellView) -> dict[str, Any]:
    return {
        "count": view.count,
        "suppressed": view.count is None,
        "share": None if view.share is None else round(view.share, 4),
    }


def to_document(report: Report) -> dict[str, Any]:
    """The JSON document (schema `voices87-summary/1`, README "The summary file")."""
    s = report.summary
    c = s.consultation
    questions = []
    for q in report.questions:
        tables = []
        for t in q.tables:
            table: dict[str, Any] = {
                "population": t.population,
                "answered": _cell(t.answered),
                "skipped": _cell(t.skipped),
                "not_reached": _cell(t.not_reached),
                "rows": [{"key": r.key, **_cell(r.cell)} for r in t.rows],
                "median": None,
            }
            if t.median is not None:
                table["median"] = {"row": t.median_row, "value": t.median_value, "label": t.median}
            tables.append(table)
        questions.append(
            {
                "id": q.id,
                "type": q.type,
                "kind": q.kind,
                "text": q.text,
                "tags": [{"element": code, "label": label} for code, label in q.tags],
                "defines_groups": q.defines_groups,
                "in_order": q.in_order,
                "rows": [{"key": key, "label": label} for key, label in q.rows],
                "tables": tables,
                "quotes": q.quotes,
            }
        )
    return {
        "schema": SCHEMA,
        "language": report.language,
        "consultation": {
            "code": c.code,
            "title": c.title,
            "country": c.country,
            "kind": c.kind,
            "cycle_year": c.cycle_year,
            "flow": {"id": c.flow_id, "version": c.flow_version},
            "audience": c.audience,
            "languages": c.languages,
            "opened_on": c.opened_on,
            "closed_on": c.closed_on,
        },
        "publication": None
        if s.number is None
        else {"number": s.number, "final": s.final, "published_on": s.made_on, "carried_from": s.carried_from},
        "k": s.k,
        "respondents": _cell(report.respondents),
        "populations": [
            {"key": key, "dimension": dimension, "label": label, "respondents": _cell(view)}
            for key, dimension, label, view in report.populations
        ],
        "questions": questions,
        "framework": [
            {
                "element": e.element,
                "label": e.label,
                "questions": [q.id for q in e.questions],
                "findings": [{"question": f.question, "population": f.population, "text": f.text} for f in e.findings],
            }
            for e in report.framework
        ],
        "methodology": [{"term": term, "text": text} for term, text in report.methodology],
    }


def to_json(report: Report) -> str:
    return json.dumps(to_document(report), ensure_ascii=False, indent=2) + "\n"


def tidy_rows(report: Report) -> list[dict[str, Any]]:
    """One row per cell (and one per median and per quote), as CSV and XLSX hold them."""
    s = report.summary
    base = {
        "consultation": s.consultation.code,
        "publication": "" if s.number is None else s.number,
        "final": s.final,
        "published_on": s.made_on,
        "language": report.language,
        "k": s.k,
    }
    labels = {key: label for key, _, label, _ in report.populations}
    out: list[dict[str, Any]] = []

    def add(
        pop: str,
        question: str,
        text: str,
        kind: str,
        groups: bool,
        row: str,
        label: str,
        view: CellView | None,
        value: Any = "",
        in_row: str = "",
    ) -> None:
        out.append(
            {
                **base,
                "population": pop,
                "population_label": labels.get(pop, pop),
                "question": question,
                "question_text": text,
                "question_kind": kind,
                "defines_groups": groups,
                "row": row,
                "row_label": label,
                "count": "" if view is None or view.count is None else view.count,
                "suppressed": view is not None and view.count is None,
                "share": "" if view is None or view.share is None else round(view.share, 4),
                "value": value,
                "in_row": in_row,
            }
        )

    for key, _, _, view in report.populations:
        add(key, "", "", "", False, "respondents", report.texts["respondents"], view)
    for q in report.questions:
        for t in q.tables:
            args = (t.population, q.id, q.text, q.kind, q.defines_groups)
            for status in ("answered", "skipped", "not_reached"):
                add(*args, status, report.texts[status], getattr(t, status))
            for r in t.rows:
                add(*args, r.key, r.label, r.cell)
            if t.median is not None:
                add(
                    *args,
                    "median",
                    t.median,
                    None,
                    "" if t.median_value is None else t.median_value,
                    t.median_row or "",
                )
        for text in q.quotes:
            add(ALL_POP, q.id, q.text, q.kind, q.defines_groups, "quote", "", None, text)
    return out


ALL_POP = "all"


def to_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in tidy_rows(report):
        writer.writerow(
            {
                **row,
                "final": str(row["final"]).lower(),
                "suppressed": str(row["suppressed"]).lower(),
                "defines_groups": str(row["defines_groups"]).lower(),
            }
        )
    return buffer.getvalue()


def to_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    if sheet is None:
        sheet = book.create_sheet()
    sheet.title = "cells"
    sheet.append(list(COLUMNS))
    for row in tidy_rows(report):
        sheet.append([None if row[c] == "" else row[c] for c in COLUMNS])
    about = book.create_sheet("methodology")
    for term, text in report.methodology:
        about.append([term, text])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_environment = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def to_html(report: Report) -> str:
    charts = {}
    for q in report.questions:
        everyone: TableView = q.everyone
        charts[q.id] = bar_chart(
            everyone, report.texts["hidden"], rtl=report.direction == "rtl", title=q.text, ident=q.id
        )
    data = json.dumps(to_document(report), ensure_ascii=False).replace("</", "<\\/")
    return _environment.get_template("report.html").render(r=report, charts=charts, data=data)


def to_pdf(report: Report) -> bytes:
    from weasyprint import HTML

    for name in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)  # its progress notes are not the operator's business
    pdf: bytes = HTML(string=to_html(report)).write_pdf()
    return pdf


def to_markdown(report: Report) -> str:
    t = report.texts
    lines = [
        f"# {report.title}",
        "",
        f"*{t['summary']} — {report.subtitle}*",
        "",
        f"**{t['respondents']}:** {report.respondents.text}",
        "",
    ]
    lines += [f"## {t['methodology']}", ""]
    lines += [f"- **{term}:** {text}" if term else f"- {text}" for term, text in report.methodology]
    lines += ["", f"## {t['framework']}", ""]
    for e in report.framework:
        lines.append(f"### {e.label}")
        if not e.questions:
            lines += [t["no_questions"], ""]
            continue
        for q in e.questions:
            lines.append(f"- {q.text}")
            lines += [f"  - {t['most_chosen']} — {f.text}" for f in e.findings if f.question == q.id]
        lines.append("")
    for q in report.questions:
        a = q.everyone
        lines += [f"## {q.text}", ""]
        if q.tags:
            lines += [f"{t['roadmap_elements']}: " + ", ".join(label for _, label in q.tags), ""]
        status = f"{t['answered']}: {a.answered.text} · {t['skipped']}: {a.skipped.text}"
        status += f" · {t['not_reached']}: {a.not_reached.text}"
        if a.median:
            status += f" · {t['median']}: {a.median}"
        lines += [status, ""]
        if a.rows:
            lines += [f"| {t['answer']} | {t['count']} | {t['share']} |", "|---|---:|---:|"]
            lines += [f"| {r.label} | {r.cell.text} | {r.cell.share_text} |" for r in a.rows]
            lines.append("")
        for dimension in ("group", "channel"):
            parts = q.breakdown(dimension)
            if not parts:
                continue
            lines += [f"**{t['by_group'] if dimension == 'group' else t['by_channel']}**", ""]
            lines.append("| | " + " | ".join(p.label for p in parts) + " |")
            lines.append("|---|" + "---:|" * len(parts))
            lines.append(f"| {t['answered']} | " + " | ".join(p.answered.text for p in parts) + " |")
            for key, label in q.rows:
                if parts[0].rows:
                    values = [next(r.cell.text for r in p.rows if r.key == key) for p in parts]
                    lines.append(f"| {label} | " + " | ".join(values) + " |")
            lines.append("")
        for text in q.quotes:
            lines += [f"> {text}", ""]
    return "\n".join(lines).rstrip() + "\n"


def to_console(report: Report) -> str:
    t = report.texts
    rows: list[tuple[str, ...]] = []
    for q in report.questions:
        a = q.everyone
        tags = ", ".join(label for _, label in q.tags)
        median = f"{t['median']}: {a.median}" if a.median else ""
        rows.append((q.text[:60], tags, "", a.answered.text, "", a.skipped.text, median))
        for r in a.rows:
            rows.append(("", "", r.label[:40], r.cell.text, r.cell.share_text, "", ""))
    header = (t["question"], t["roadmap_elements"], t["answer"], t["answered"], t["share"], t["skipped"], t["median"])
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=False)]
    out = [f"{report.title} — {report.subtitle}", f"{t['respondents']}: {report.respondents.text}", ""]
    out.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    out += ["", t["suppression"]]
    return "\n".join(out) + "\n"


def render(report: Report, fmt: str) -> bytes:
    """The report in one of FORMATS, as bytes ready for a file."""
    if fmt == "pdf":
        return to_pdf(report)
    if fmt == "xlsx":
        return to_xlsx(report)
    text = {"html": to_html, "csv": to_csv, "json": to_json, "md": to_markdown, "console": to_console}[fmt](report)
    return text.encode()
