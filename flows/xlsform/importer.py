"""The import itself: read the form, classify its rows, check every expression, then write the flow document.

pyxform reads the workbook and checks the form as ODK would; the importer then walks the survey sheet row by
row (so every problem names its row), keeps what a Telegram conversation can ask, and refuses the rest with
one line per row. The result is validated by the flow loader before it is returned.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from config.errors import FlowError
from flows.expressions import Place, parse
from flows.identity import LANGUAGES as CHECKED_LANGUAGES
from flows.identity import identifying
from flows.schema import ROADMAP_ELEMENTS
from flows.xlsform import pyxform_api, texts
from flows.xlsform.bounds import number_bounds
from flows.xlsform.choices import ChoiceLists, sanitise, unique
from flows.xlsform.languages import Languages
from flows.xlsform.refusals import locate, pyxform_message, ranges
from flows.xlsform.result import ImportResult, Report
from flows.xlsform.rewriting import CHOICE_KINDS, Names, combine, problem, references, rewritten
from flows.xlsform.rows import Row, classify

SPEC_VERSION = 2
"""The flow spec version the importer writes (the loader migrates it if the spec moves on)."""

SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv", ".md")
MAX_VERSION = 2**31 - 1
"""Flow versions are stored in 32-bit integer columns."""
LABEL_OUTPUT = re.compile(r"\$\{[^}\s]+\}")
"""`${name}` in a label or hint: ODK shows the answer there; the bot never repeats answers."""

STEP_KEYS = [
    "id",
    "type",
    "text",
    "hint",
    "options",
    "min",
    "max",
    "relevant",
    "constraint",
    "constraint_message",
    "required",
    "choice_filter",
    "calculation",
    "tags",
    "bins",
    "keep_links",
]
SOURCES = {
    Place.RELEVANT: "relevant",
    Place.CONSTRAINT: "constraint",
    Place.CALCULATION: "calculate",
}
"""Where each expression is in a row's `bind` columns (choice_filter is a column of its own)."""


def import_xlsform(
    path: Path,
    *,
    skip_unsupported: bool = False,
    audience: str = "cso",
    progress: bool = False,
) -> ImportResult:
    """Convert an XLSForm into a flow document; raise FlowError with every problem (one per line)."""
    return _Importer(Path(path), skip_unsupported, audience, progress).run()


class _Importer:
    def __init__(self, path: Path, skip_unsupported: bool, audience: str, progress: bool) -> None:
        if audience not in ("cso", "survivor"):
            raise FlowError(f"audience must be cso or survivor, not {audience!r}")
        self.path = path
        self.skip = skip_unsupported
        self.audience = audience
        self.progress = progress
        self.report = Report()
        self.rows: list[Row] = []
        self.by_name: dict[str, Row] = {}
        self.by_number: dict[int, Row] = {}
        self.choices = ChoiceLists()
        self.names = Names(self.by_name, self.choices)
        self.untranslated: dict[str, set[str]] = {}
        self.missing: dict[str, int] = {}
        self.taken: set[str] = set()

    # ------------------------------------------------------------ reading

    def run(self) -> ImportResult:
        workbook = self.read()
        settings = dict((workbook.settings or [{}])[0]) if workbook.settings else {}
        default_name = str(settings.get("default_language") or "default")
        survey, choices = pyxform_api.dealias(workbook, default_name, settings)
        self.languages = Languages(default_name)
        self.classify(survey, workbook.survey or [])
        used = {r.list_name for r in self.rows if r.kind in CHOICE_KINDS and r.list_name}
        self.choices.read(choices, used, self.report)
        self.check_choice_counts()
        self.name_steps()
        self.check_identity()
        self.check_bounds()
        self.check_summary_columns()
        self.check_expressions()
        document = self.build(settings, workbook.fallback_form_name or self.path.stem)
        return self.finish(document)

    def read(self) -> Any:
        if self.path.suffix.lower() not in SUFFIXES:
            raise FlowError(f"{self.path}: an XLSForm must be one of {', '.join(SUFFIXES)}")
        if not self.path.is_file():
            raise FlowError(f"{self.path}: no such file")
        try:
            workbook = pyxform_api.read_workbook(self.path)
        except (pyxform_api.PyXFormError, ValueError, KeyError, IndexError, TypeError, OSError) as exc:
            raise FlowError(f"{self.path}: pyxform cannot read this form: {pyxform_message(exc)}") from exc
        try:
            pyxform_api.check_form(workbook)
        except (pyxform_api.PyXFormError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            located = locate(pyxform_message(exc), workbook)
            raise FlowError(f"{self.path}: pyxform refuses this form: {located}") from exc
        return workbook

    # ------------------------------------------------------------ classifying rows

    def classify(self, survey: list[dict[str, Any]], raw_rows: list[dict[str, Any]]) -> None:
        from tqdm import tqdm

        stack: list[Row] = []
        numbered = list(enumerate(survey, start=2))
        bar = tqdm(
            numbered,
            desc="rows",
            unit="row",
            file=sys.stderr,
            disable=not self.progress or len(numbered) < 200,
            leave=False,
        )
        for number, data in bar:
            raw = raw_rows[number - 2] if number - 2 < len(raw_rows) else {}
            kind_text = " ".join(str(data.get("type") or "").split())
            if not kind_text or pyxform_api.yes_no(data.get("disabled")):
                continue
            raw_type = " ".join(str(raw.get("type") or kind_text).split())
            row = Row(number, raw_type, data, container=[r.number for r in stack])
            classify(row, kind_text, self.report)
            if row.kind == "end":
                if stack:
                    stack.pop()
                continue
            if row.kind == "settings":
                continue
            self.rows.append(row)
            self.by_number[row.number] = row
            if row.name:
                self.by_name.setdefault(row.name, row)
            if row.kind == "begin":
                stack.append(row)

    def check_choice_counts(self) -> None:
        for row in self.rows:
            if row.kind in CHOICE_KINDS and not row.refused:
                count = self.choices.count(row.list_name or "", row.other)
                if count < 2:
                    row.problems.append(
                        f"the choice list {row.list_name!r} has {count} choice{'s' if count != 1 else ''}; "
                        "a question needs at least 2"
                    )

    def name_steps(self) -> None:
        taken: set[str] = set()
        for row in self.rows:
            row.step_id = unique(sanitise(row.name or f"row_{row.number}", "q"), taken)
            taken.add(row.step_id)
        for row in self.rows:
            if row.other:
                row.other_id = unique(sanitise(f"{row.step_id}_other", "q"), taken)
                taken.add(row.other_id)
        self.taken = taken

    def included(self, row: Row) -> bool:
        """The row makes it into the flow: not refused, not inside a refused group or repeat."""
        if row.refused:
            return False
        return all(not self.by_number[n].refused for n in row.container)

    # ------------------------------------------------------------ identity, bounds, expressions

    def check_identity(self) -> None:
        """Questions asking for a name, phone, address, e-mail, ID number or date of birth (in any language of
        the form): refused for survivors, a warning for CSOs."""
        for row in self.rows:
            if not self.included(row):
                continue
            shown = [t for column in ("label", "hint") for t in _flatten_values(row.data.get(column))]
            found = identifying(row.kind, row.name, shown)
            if found is None:
                continue
            if self.audience == "survivor":
                row.problems.append(f"{found.describe()}; a survivor flow never asks it")
            else:
                self.report.warnings.append(f"{row.where}: {found.describe()}; keep it only if you must")

    def check_bounds(self) -> None:
        """Integer and decimal questions get bounds: from the constraint, else plausible defaults."""
        for row in self.rows:
            if row.kind not in ("integer", "decimal") or not self.included(row):
                continue
            source = str(row.bind.get("constraint") or "").strip()
            try:
                node = parse(source) if source and not pyxform_api.whole_cell_boolean(source) else None
            except FlowError:
                continue  # the expression check refuses the row and says why
            bounds = number_bounds(row.kind, node)
            if bounds is None:
                row.problems.append("constraint: no number can satisfy it; correct the constraint")
            else:
                row.bounds = bounds

    def check_summary_columns(self) -> None:
        """The columns our flows add to XLSForm for summaries: `tags` (roadmap elements, separated by spaces or
        commas), `bins` (edges for number questions, e.g. `0 10 50 100`) and `keep_links` (yes/no, text
        questions of CSO forms). pyxform passes unknown columns through; a wrong value refuses its row."""
        for row in self.rows:
            if not self.included(row) or row.kind in ("metadata", "hidden", "label_row", "settings", "begin", "end"):
                continue
            tags = _words(row.data.get("tags"))
            unknown = [tag for tag in tags if tag not in ROADMAP_ELEMENTS]
            if unknown:
                row.problems.append(
                    f"tags: {', '.join(unknown)} is not a roadmap element (use: {', '.join(ROADMAP_ELEMENTS)})"
                )
            row.tags = tuple(dict.fromkeys(tags))
            if (bins := _words(row.data.get("bins"))) and (found := self.bins(row, bins)) is not None:
                row.bins = found
            keep = row.data.get("keep_links")
            if keep is not None and str(keep).strip():
                flag = pyxform_api.yes_no(keep)
                if flag is None:
                    row.problems.append(f"keep_links: {str(keep).strip()!r} is neither yes nor no")
                elif flag and row.kind != "free_text":
                    row.problems.append("keep_links: only text questions can keep links")
                elif flag and self.audience != "cso":
                    row.problems.append("keep_links: refused in survivor forms (links could identify a survivor)")
                else:
                    row.keep_links = flag

    def bins(self, row: Row, words: list[str]) -> tuple[float, ...] | None:
        if row.kind not in ("integer", "decimal"):
            row.problems.append("bins: only integer and decimal questions have bins")
            return None
        try:
            edges = tuple(float(word) for word in words)
        except ValueError:
            row.problems.append(f"bins: {' '.join(words)!r} must be numbers, e.g. 0 10 50 100")
            return None
        if not all(math.isfinite(edge) for edge in edges) or any(b <= a for a, b in itertools.pairwise(edges)):
            row.problems.append(f"bins: {' '.join(words)!r} must be increasing numbers, e.g. 0 10 50 100")
            return None
        return tuple(int(edge) if edge.is_integer() else edge for edge in edges)

    def check_expressions(self) -> None:
        """Check every expression with the engine's parser and checks; a refused row refuses the rows that use
        it, until nothing changes."""
        for row in self.rows:
            if row.kind in ("metadata", "hidden", "label_row", "settings"):
                continue
            self.collect_expressions(row)
        changed = True
        while changed:
            changed = False
            for row in self.rows:
                if not self.included(row):
                    continue
                for place, source in list(row.expressions.items()):
                    found = problem(row, place, source, self.names, self.included)
                    if found is not None:
                        row.problems.append(f"{place}: {found}")
                        changed = True
                        break

    def collect_expressions(self, row: Row) -> None:
        sources = {place: row.bind.get(column) for place, column in SOURCES.items()}
        sources[Place.CHOICE_FILTER] = row.data.get("choice_filter")
        for place, value in sources.items():
            if value is None or not str(value).strip():
                continue
            source = str(value).strip()
            if place is Place.CALCULATION and row.kind != "calculate":
                self.report.warnings.append(f"{row.where}: calculation on a question is not used; ignored")
                continue
            if place is Place.CONSTRAINT and row.kind in ("note", "begin", "acknowledge"):
                self.report.warnings.append(
                    f"{row.where}: a constraint on a row without an answer is not used; ignored"
                )
                continue
            if place is not Place.CHOICE_FILTER and (boolean := pyxform_api.whole_cell_boolean(source)):
                # ODK reads a cell that is only yes/no/TRUE/FALSE as true() or false(), as pyxform writes it
                if boolean == "true()" and place in (Place.RELEVANT, Place.CONSTRAINT):
                    continue
                if place is Place.RELEVANT:
                    self.report.warnings.append(f"{row.where}: relevant is {source}, so this row is never shown")
                elif place is Place.CONSTRAINT:
                    row.problems.append(f"constraint: {source} accepts no answer; remove the constraint")
                    continue
                source = boolean
            row.expressions[place] = source

    # ------------------------------------------------------------ building the flow

    def build(self, settings: dict[str, Any], fallback_name: str) -> dict[str, Any]:
        refused = [r for r in self.rows if r.refused]
        if refused and not self.skip:
            lines = [f"{r.where}: {r.problems[0]}" for r in refused]
            raise FlowError(
                f"{self.path}: this form cannot be imported as it is "
                f"({len(lines)} row{'s' if len(lines) != 1 else ''}; "
                "fix them, or use --skip-unsupported to import the rest):\n" + "\n".join(lines)
            )
        self.report.left_out = [f"{r.where}: {r.problems[0]}" for r in refused]
        inside = [r for r in self.rows if not r.refused and not self.included(r) and r.kind not in ("metadata",)]
        if inside:
            numbers = ranges([r.number for r in inside])
            rows = "rows" if len(inside) > 1 else "row"
            self.report.left_out.append(f"survey sheet, {rows} {numbers}: inside a group or repeat that was left out")

        self.collect_languages()
        form_id = sanitise(str(settings.get("form_id") or settings.get("id_string") or fallback_name), "form")
        title_text = str(settings.get("form_title") or settings.get("title") or "").strip() or _humanise(form_id)
        title = {lang: title_text for lang in self.codes_in_order}

        body: list[dict[str, Any]] = []
        filled: set[int] = set()
        """Groups with at least one step that is shown (a section heading alone introduces nothing)."""
        section_of: dict[int, int] = {}
        required_rows: list[int] = []
        group_relevant: dict[int, str] = {}
        for row in self.rows:
            if not self.included(row) or row.kind in ("metadata", "hidden", "settings"):
                continue
            if row.kind == "label_row":
                self.report.warnings.append(f"{row.where}: a label-only row of a table list; dropped")
                continue
            chain = [group_relevant[n] for n in row.container if group_relevant.get(n)]
            own = self.expression(row, Place.RELEVANT)
            if row.kind == "begin":
                if own:
                    group_relevant[row.number] = own
                label = self.text(row, "label")
                if label is not None:
                    body.append(self.step(row, "section", label, combine([*chain, own])))
                    section_of[id(body[-1])] = row.number
                continue
            relevant = combine([*chain, own])
            step = self.question(row, relevant)
            if step is None:
                continue
            if step.get("required"):
                required_rows.append(row.number)
            if step["type"] != "calculate":
                filled.update(row.container)
            body.append(step)
            if row.other:
                body.append(self.other_step(row, relevant))
        body = [s for s in body if id(s) not in section_of or section_of[id(s)] in filled]
        if not any(s["type"] not in ("section", "note") for s in body):
            raise FlowError(f"{self.path}: nothing is left to ask once the unsupported rows are left out")
        if required_rows and self.audience == "survivor":
            for step in body:
                step.pop("required", None)
            self.report.warnings.append(
                "required dropped (every question can be skipped in a survivor flow): rows "
                + ", ".join(str(n) for n in required_rows)
            )
            required_rows = []

        consent_id = unique("consent", self.taken)
        self.taken.add(consent_id)
        steps: list[dict[str, Any]] = [
            {
                "id": consent_id,
                "type": "consent",
                "version": 1,
                "text": self.generated(
                    "consent", lambda lang: texts.consent(lang, title_text, some_required=bool(required_rows))
                ),
                "decline_text": self.generated("decline", texts.FIXED["decline"]),
            }
        ]
        if self.audience == "survivor":
            age_id = unique("age", self.taken)
            self.taken.add(age_id)
            steps.append({"id": age_id, "type": "age_gate", "text": self.generated("age", texts.FIXED["age"])})
        end_id = unique("thanks", self.taken)
        steps += [*body, {"id": end_id, "type": "end", "text": self.generated("end", texts.FIXED["end"])}]
        return {
            "spec_version": SPEC_VERSION,
            "id": form_id,
            "version": self.version(settings.get("version")),
            "audience": self.audience,
            "languages": list(self.codes_in_order),
            "default_language": self.default_code,
            "title": title,
            "steps": steps,
        }

    def expression(self, row: Row, place: Place) -> str | None:
        source = row.expressions.get(place)
        return rewritten(source, row, place, self.names) if source else None

    def question(self, row: Row, relevant: str | None) -> dict[str, Any] | None:
        label = self.text(row, "label")
        if row.kind == "calculate":
            step: dict[str, Any] = {"id": row.step_id, "type": "calculate"}
            step["calculation"] = self.expression(row, Place.CALCULATION)
            if relevant:
                step["relevant"] = relevant
            return step
        if label is None:
            if row.kind == "note":
                self.report.warnings.append(f"{row.where}: a note without text (e.g. only an image); dropped")
                return None
            label = {lang: _humanise(row.name or row.step_id) for lang in self.codes_in_order}
            self.report.warnings.append(f"{row.where}: no label; its name is used as the question")
        step = self.step(row, row.kind, label, relevant)
        hint = self.text(row, "hint")
        if hint is not None:
            step["hint"] = hint
        if row.kind in CHOICE_KINDS:
            step["options"] = self.options(row)
        if row.tags:
            step["tags"] = list(row.tags)
        if row.bins is not None:
            step["bins"] = list(row.bins)
        if row.keep_links:
            step["keep_links"] = True
        if row.bounds is not None:
            step["min"], step["max"] = row.bounds.low, row.bounds.high
            self.report.warnings.append(
                f"{row.where}: answers from {row.bounds.low:,} to {row.bounds.high:,} ({row.bounds.note}); "
                "change `min` and `max` in the flow if other answers are possible"
            )
        if Place.CONSTRAINT in row.expressions:
            step["constraint"] = self.expression(row, Place.CONSTRAINT)
            message = self.text(row, "constraint_message")
            if message is not None:
                step["constraint_message"] = message
        required = row.bind.get("required")
        if required is not None and row.kind not in ("note", "calculate"):
            flag = pyxform_api.yes_no(required)
            if flag is None:
                self.report.warnings.append(f"{row.where}: required only when {required}; imported as optional")
            elif flag:
                step["required"] = True
        if Place.CHOICE_FILTER in row.expressions:
            step["choice_filter"] = self.expression(row, Place.CHOICE_FILTER)
        if row.data.get("default") is not None and row.kind not in ("calculate", "note"):
            self.report.warnings.append(
                f"{row.where}: the default value is not used (a chat has no pre-filled answers)"
            )
        return {key: step[key] for key in sorted(step, key=STEP_KEYS.index)}

    def step(self, row: Row, kind: str, text: dict[str, str], relevant: str | None) -> dict[str, Any]:
        step: dict[str, Any] = {"id": row.step_id, "type": kind, "text": text}
        if relevant:
            step["relevant"] = relevant
        return step

    def options(self, row: Row) -> list[dict[str, Any]]:
        mapping = self.choices.codes.get(row.list_name or "", {})
        parents: dict[str, str] = {}
        """Attribute values that are codes of the lists a choice_filter compares them with (renamed alike)."""
        for name in references(row.expressions.get(Place.CHOICE_FILTER, "")):
            target = self.by_name.get(name)
            if target is not None and target.list_name:
                parents.update(self.choices.codes.get(target.list_name, {}))
        options: list[dict[str, Any]] = []
        for choice in self.choices.lists.get(row.list_name or "", []):
            name = str(choice["name"])
            label = self.texts_of(choice.get("label"))
            if label is None:
                label = {lang: name for lang in self.codes_in_order}
                self.report.warnings.append(
                    f"choices sheet, row {choice.get('__row')}: choice {name!r} has no label; its name is shown"
                )
            option: dict[str, Any] = {"code": mapping[name], "label": label}
            if attributes := self.choices.attributes(choice, parents):
                option["attributes"] = attributes
            options.append(option)
        if row.other and "other" not in mapping.values():
            options.append({"code": "other", "label": self.generated("other", texts.FIXED["other"])})
        return options

    def other_step(self, row: Row, relevant: str | None) -> dict[str, Any]:
        return {
            "id": row.other_id,
            "type": "free_text",
            "text": self.generated("specify", texts.FIXED["specify"]),
            "relevant": combine([relevant, f"selected(${{{row.step_id}}}, 'other')"]),
        }

    # ------------------------------------------------------------ texts and languages

    def collect_languages(self) -> None:
        names: list[str] = []

        def note(value: Any) -> None:
            if isinstance(value, dict):
                names.extend(str(k) for k in value if str(k) not in names)
            elif value is not None and self.languages.default_name not in names:
                names.append(self.languages.default_name)

        for row in self.rows:
            if self.included(row):
                for column in ("label", "hint"):
                    note(row.data.get(column))
        for choices in self.choices.lists.values():
            for choice in choices:
                note(choice.get("label"))
        codes: dict[str, str] = {}
        unknown: list[str] = []
        for name in names:
            code = self.languages.code(name)
            if code is None:
                unknown.append(name)
            else:
                codes[name] = code
        if unknown:
            raise FlowError(
                f"{self.path}: cannot tell which language {', '.join(repr(u) for u in unknown)} is; "
                "name the columns like label::Swahili (sw)"
            )
        self.name_to_code = codes
        default_name = self.languages.default_name
        default = self.languages.code(default_name) if default_name != "default" else None
        ordered = list(dict.fromkeys(codes.values())) or ["en"]
        self.default_code = default if default in ordered else ("en" if "en" in ordered else ordered[0])
        self.codes_in_order = [self.default_code, *[c for c in ordered if c != self.default_code]]
        unchecked = [c for c in self.codes_in_order if c.split("_")[0] not in CHECKED_LANGUAGES]
        if unchecked:
            self.report.warnings.append(
                f"texts in {', '.join(unchecked)} were not checked for questions that ask for a name, phone number, "
                "address, e-mail, ID number or date of birth: check those questions yourself"
            )

    def texts_of(self, value: Any) -> dict[str, str] | None:
        """A label/hint cell (a string, or {language name: text}) as a Text in every flow language."""
        if value is None:
            return None
        raw = value if isinstance(value, dict) else {self.languages.default_name: value}
        found: dict[str, str] = {}
        for name, text in raw.items():
            code = self.name_to_code.get(str(name)) or self.languages.code(str(name))
            if code is None or not str(text).strip():
                continue
            if code not in found or name != "default":
                found[code] = LABEL_OUTPUT.sub("…", str(text).strip())
        if not found:
            return None
        fallback = found.get(self.default_code) or next(iter(found.values()))
        out: dict[str, str] = {}
        for code in self.codes_in_order:
            if code in found:
                out[code] = found[code]
            else:
                out[code] = fallback
                self.missing[code] = self.missing.get(code, 0) + 1
        return out

    def text(self, row: Row, column: str) -> dict[str, str] | None:
        value = row.bind.get("jr:constraintMsg") if column == "constraint_message" else row.data.get(column)
        found = self.texts_of(value)
        if found is not None and any("${" in t for t in _flatten_values(value)):
            self.report.warnings.append(
                f"{row.where}: the {column} shows earlier answers; the bot does not repeat answers, shown as '…'"
            )
        if found is not None and all(not re.sub(r"[\s…:.,;!?-]", "", t) for t in found.values()):
            return None
        return found

    def generated(self, key: str, text: Callable[[str], str]) -> dict[str, str]:
        """A text the importer writes, in every flow language (English where no interface catalog has it)."""
        out: dict[str, str] = {}
        for code in self.codes_in_order:
            out[code] = text(code)
            if not texts.translated(code):
                self.untranslated.setdefault(code, set()).add(key)
        return out

    def version(self, value: Any) -> int:
        if value is None or not str(value).strip():
            return 1
        text = str(value).strip()
        digits = "".join(re.findall(r"\d+", text))
        number = int(digits) if digits else 0
        while number > MAX_VERSION:
            digits = digits[:-1]
            number = int(digits)
        if number < 1:
            self.report.warnings.append(f"settings sheet: version {text!r} has no number; version 1 is used")
            return 1
        if str(number) != text:
            self.report.warnings.append(f"settings sheet: version {text!r} is kept as {number}")
        return number

    # ------------------------------------------------------------ result

    def finish(self, document: dict[str, Any]) -> ImportResult:
        from flows.loader import parse_flow

        for code, count in self.missing.items():
            self.report.warnings.append(
                f"{count} text{'s have' if count != 1 else ' has'} no {code} translation; "
                f"the {self.default_code if code != self.default_code else 'other language'} text is used"
            )
        for code, keys in sorted(self.untranslated.items()):
            if "consent" in keys:
                self.report.warnings.append(f"consent text for {code} needs translating")
            others = [texts.NAMES[k] for k in texts.NAMES if k in keys and k != "consent"]
            if others:
                self.report.warnings.append(f"{', '.join(others)} text for {code} needs translating")
        parse_flow(copy.deepcopy(document), str(self.path))
        report = self.report
        return ImportResult(document, list(dict.fromkeys(report.warnings)), report.left_out, report.dropped)


def _humanise(name: str) -> str:
    text = re.sub(r"[_\-]+", " ", name).strip()
    return text[:1].upper() + text[1:] if text else name


def _words(value: Any) -> list[str]:
    """A cell of words separated by spaces or commas."""
    return [word for word in re.split(r"[\s,;]+", str(value or "").strip()) if word]


def _flatten_values(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(v) for v in value.values()]
    return [str(value)] if value is not None else []
