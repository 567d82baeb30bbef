"""Survey-sheet rows and their types: each row becomes one of our step types, a group, metadata, or a refusal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flows.expressions import Place
from flows.xlsform import pyxform_api
from flows.xlsform.bounds import Bounds
from flows.xlsform.refusals import IDENTIFYING_METADATA, REFUSED, SILENT_METADATA
from flows.xlsform.result import Report

CALENDARS = ("ethiopian", "coptic", "islamic", "bikram-sambat", "myanmar", "persian", "buddhist")


@dataclass
class Row:
    """One survey-sheet row, classified."""

    number: int
    raw_type: str
    data: dict[str, Any]
    kind: str = ""  # our step type, "begin", "end", "metadata", "hidden", "label_row", "settings", or ""
    name: str | None = None
    list_name: str | None = None
    other: bool = False
    problems: list[str] = field(default_factory=list)
    container: list[int] = field(default_factory=list)
    """Row numbers of the enclosing groups/repeats, outermost first."""
    control: str = ""  # for begin rows: group, repeat or loop
    step_id: str = ""
    other_id: str = ""
    expressions: dict[Place, str] = field(default_factory=dict)
    """The row's relevant, constraint, choice_filter and calculation, as written in the form."""
    bounds: Bounds | None = None
    """For integer and decimal rows: the range of answers taken."""
    tags: tuple[str, ...] = ()
    """The `tags` column: the roadmap elements the question informs."""
    bins: tuple[float, ...] | None = None
    """The `bins` column (integer and decimal rows): the edges summaries count answers between."""
    keep_links: bool = False
    """The `keep_links` column (text rows of CSO forms): evidence links survive redaction."""

    @property
    def where(self) -> str:
        return f"survey sheet, row {self.number}, type {self.raw_type}"

    @property
    def refused(self) -> bool:
        return bool(self.problems)

    @property
    def bind(self) -> dict[str, Any]:
        bind: dict[str, Any] = self.data.get("bind") or {}
        return bind

    @property
    def appearance(self) -> str:
        return str((self.data.get("control") or {}).get("appearance") or "").strip()


def classify(row: Row, kind_text: str, report: Report) -> None:
    """Set the row's kind (or a refusal) from its `type` cell, as pyxform reads it."""
    data = row.data
    row.name = str(data["name"]) if data.get("name") is not None else None
    if pyxform_api.is_settings_type(kind_text):
        row.kind = "settings"
        return
    if pyxform_api.end_control(kind_text):
        row.kind = "end"
        return
    if (control := pyxform_api.begin_control(kind_text)) is not None:
        row.kind, row.control = "begin", control
        if control in ("repeat", "loop"):
            row.problems.append(REFUSED[control])
        return
    if (select := pyxform_api.select_command(kind_text)) is not None:
        _classify_select(row, *select)
        _check_appearance(row, report)
        return
    if kind_text.startswith(("osm", "select_one_external", "select one external")):
        row.problems.append(REFUSED["osm" if kind_text.startswith("osm") else "select_external"])
        return
    metadata = kind_text.removeprefix("uri:")
    if metadata in IDENTIFYING_METADATA:
        row.kind = "metadata"
        report.dropped.append(f"{row.where}: dropped: would identify the participant")
        return
    if metadata.lower() in SILENT_METADATA:
        row.kind = "metadata"
        return
    known = pyxform_api.QUESTION_TYPE_DICT.get(kind_text)
    if known is None:
        # pyxform accepted it, so it is a type of a newer ODK: refuse rather than guess
        row.problems.append(REFUSED["unsupported"])
        return
    _classify_question(row, kind_text, known, report)


def _classify_select(row: Row, what: str, list_name: str, other: bool) -> None:
    row.list_name, row.other = list_name, other
    if what == "from_file":
        row.problems.append(REFUSED["select_from_file"])
    elif what == "select_one_external":
        row.problems.append(REFUSED["select_external"])
    elif what == "rank":
        row.problems.append(REFUSED["rank"])
    elif "${" in list_name:
        row.problems.append(REFUSED["select_from_answers"])
    elif row.appearance == "label":
        row.kind = "label_row"
    else:
        row.kind = "single_choice" if what == "select_one" else "multiple_choice"


def _classify_question(row: Row, kind_text: str, known: dict[str, Any], report: Report) -> None:
    bind = known.get("bind") or {}
    control = known.get("control") or {}
    preload = bind.get("jr:preloadParams")
    bind_type = bind.get("type")
    if preload:
        row.kind = "metadata"
        if str(preload).removeprefix("uri:") in IDENTIFYING_METADATA:
            report.dropped.append(f"{row.where}: dropped: would identify the participant")
        return
    if kind_text in ("phone number", "phonenumber"):
        row.problems.append(REFUSED["phone number"])
        return
    media = str(control.get("mediatype") or "")
    appearance = row.appearance
    if kind_text == "photo" or media.startswith("image"):
        if appearance in ("signature", "draw", "annotate"):
            row.raw_type = f"{row.raw_type} (appearance {appearance})"
            row.problems.append(REFUSED["signature"])
        else:
            row.problems.append(REFUSED["photo"])
        return
    if kind_text in REFUSED:
        row.problems.append(REFUSED[kind_text])
        return
    if control.get("tag") == "upload" or bind_type == "binary":
        key = media.split("/")[0] if media.split("/")[0] in ("audio", "video") else "file"
        row.problems.append(REFUSED[key])
        return
    if control.get("tag") in ("range", "odk:rank"):
        row.problems.append(REFUSED["range" if control.get("tag") == "range" else "rank"])
        return
    if bind_type in ("geopoint", "geotrace", "geoshape", "barcode", "time", "dateTime"):
        row.problems.append(REFUSED[bind_type])
        return
    if control.get("tag") == "trigger":
        row.kind = "acknowledge"
    elif kind_text == "note" or (bind.get("readonly") == "true()" and control.get("tag") == "input"):
        row.kind = "note"
    elif "calculate" in kind_text:
        row.kind = "calculate"
    elif not control:
        row.kind = "hidden"
        report.warnings.append(f"{row.where}: a hidden field without a question; dropped")
        return
    elif bind_type in ("int", "decimal", "date", "string"):
        row.kind = {"int": "integer", "decimal": "decimal", "date": "date", "string": "free_text"}[bind_type]
    else:
        row.problems.append(REFUSED["unsupported"])
        return
    if bind.get("constraint") and not row.bind.get("constraint"):
        row.data.setdefault("bind", {})["constraint"] = bind["constraint"]
    _check_appearance(row, report)
    if row.kind != "note" and pyxform_api.yes_no(row.bind.get("readonly")):
        report.warnings.append(f"{row.where}: read-only, so shown as a note")
        row.kind = "note"


def _check_appearance(row: Row, report: Report) -> None:
    words = row.appearance.split()
    if any(w.startswith("ex:") for w in words):
        row.problems.append(REFUSED["external app"])
    elif "printer" in words:
        row.problems.append(REFUSED["printer"])
    elif "bearing" in words:
        row.problems.append(REFUSED["bearing"])
    elif row.kind == "date" and words and words[0] in CALENDARS:
        report.warnings.append(f"{row.where}: asked as a Gregorian date (YYYY-MM-DD), not in the {words[0]} calendar")
