"""A summary in one reader's language: every label, number, share and date as that reader reads them, the
Accountability Framework view and the methodology. What every renderer (HTML, PDF, Markdown, console, JSON,
CSV, XLSX) shows; numbers come only from the summary's (already suppressed) tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from summaries.bins import row_bounds
from summaries.model import QuestionInfo, Summary, Texts
from summaries.tables import ALL, ANSWERED, NOT_REACHED, RESPONDENTS, SKIPPED, Dimension, Kind, QuestionShape
from summaries.texts import ELEMENTS, audience_label, element_label, interface, kind_label, row_label

RTL = {"ar", "fa", "he", "ur"}


@dataclass
class CellView:
    count: int | None
    text: str  # the count as the reader writes it, or "hidden"
    share: float | None = None
    share_text: str = ""

    @property
    def suppressed(self) -> bool:
        return self.count is None


@dataclass
class RowView:
    key: str
    label: str
    cell: CellView


@dataclass
class TableView:
    population: str
    label: str
    respondents: CellView
    answered: CellView
    skipped: CellView
    not_reached: CellView
    rows: list[RowView]
    median: str | None = None
    median_value: float | None = None
    median_row: str | None = None


@dataclass
class QuestionView:
    id: str
    type: str
    kind: str
    text: str
    tags: list[tuple[str, str]]
    defines_groups: bool
    rows: list[tuple[str, str]]  # (key, label) in the questionnaire's order
    tables: list[TableView]
    quotes: list[str] = field(default_factory=list)
    in_order: bool = False
    """Asked of everyone who went on, in the questionnaire's order (`Tables.ordered`)."""

    @property
    def everyone(self) -> TableView:
        return self.tables[0]

    def breakdown(self, dimension: str) -> list[TableView]:
        return [t for t in self.tables if t.population.startswith(f"{dimension}:")]


@dataclass
class Finding:
    question: str
    population: str
    text: str  # "Most chosen: Easy (52%)"
    share: float


@dataclass
class ElementView:
    element: str
    label: str
    questions: list[QuestionView]
    findings: list[Finding]


@dataclass
class ComparisonRow:
    question: str
    row: str
    values: list[CellView]  # one per compared publication


@dataclass
class Report:
    summary: Summary
    language: str
    direction: str
    texts: dict[str, str]
    title: str
    subtitle: str
    respondents: CellView
    populations: list[tuple[str, str, str, CellView]]  # (key, dimension, label, respondents)
    questions: list[QuestionView]
    framework: list[ElementView]
    methodology: list[tuple[str, str]]
    comparison_heads: list[str] = field(default_factory=list)
    comparison: list[tuple[str, list[ComparisonRow]]] = field(default_factory=list)

    @property
    def k(self) -> int:
        return self.summary.k


def _locale(lang: str) -> str:
    try:
        Locale.parse(lang)
    except (ValueError, UnknownLocaleError):
        return "en"
    return lang


def number(value: float, lang: str) -> str:
    return format_decimal(value, locale=_locale(lang))


def day(iso: str, lang: str) -> str:
    return format_date(date.fromisoformat(iso), format="long", locale=_locale(lang))


def pick(texts: Texts | None, lang: str, fallback: str = "") -> str:
    if not texts:
        return fallback
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()), fallback)


def cell(count: int | None, lang: str, hidden: str, whole: int | None = None) -> CellView:
    if count is None:
        return CellView(None, hidden)
    view = CellView(count, number(count, lang))
    if whole:
        view.share = count / whole
        view.share_text = format_percent(view.share, locale=_locale(lang))
    return view


def bin_label(row: str, lang: str) -> str:
    from config.i18n import t

    low, high = row_bounds(row)
    if low is None and high is not None:
        return t(lang, "under %(high)s", high=high)
    if high is None and low is not None:
        return t(lang, "%(low)s or more", low=low)
    return t(lang, "%(low)s to under %(high)s", low=low, high=high)


def label_of(info: QuestionInfo, row: str, lang: str) -> str:
    if row.startswith("bin:"):
        return bin_label(row, lang)
    if row in info.row_labels:
        return pick(info.row_labels[row], lang, row.partition(":")[2])
    if row.startswith(("option:", "theme:")) and row != "theme:":
        return row.partition(":")[2]
    return row_label(lang, row)


def build_report(summary: Summary, lang: str, *, compare: Sequence[Summary] = ()) -> Report:
    texts = interface(lang, summary.k)
    hidden = texts["hidden"]
    tables = summary.tables
    c = summary.consultation
    respondents = cell(summary.respondents, lang, hidden)
    populations = []
    for p in tables.populations:
        label = texts["everyone"] if p.key == ALL else pick(summary.population_labels.get(p.key), lang, p.code)
        populations.append(
            (p.key, p.dimension.value, label, cell(tables.counts.get((p.key, "", RESPONDENTS)), lang, hidden))
        )
    pop_labels = {key: label for key, _, label, _ in populations}
    quotes_by_question: dict[str, list[str]] = {}
    for quote in summary.quotes:
        quotes_by_question.setdefault(quote.question_id, []).append(quote.text)
    questions = []
    for shape in tables.questions:
        info = summary.info(shape.id)
        rows = [(row, label_of(info, row, lang)) for row in shape.rows]
        views = []
        for p in tables.populations:
            if not shape.in_population(p):
                continue
            views.append(_table(summary, shape, info, p.key, pop_labels[p.key], lang, hidden))
        questions.append(
            QuestionView(
                id=shape.id,
                type=info.type,
                kind=shape.kind.value,
                text=pick(info.text, lang, shape.id),
                tags=[(tag, element_label(lang, tag)) for tag in info.tags],
                defines_groups=shape.group_question,
                rows=rows,
                tables=views,
                quotes=quotes_by_question.get(shape.id, []),
                in_order=shape.id in summary.tables.ordered,
            )
        )
    framework = _framework(summary, questions, lang, texts)
    title = c.title
    if summary.number is not None:
        head = f"{texts['publication']} {number(summary.number, lang)}"
        subtitle = f"{head} ({texts['final']})" if summary.final else head
    else:
        subtitle = texts["preview"]
    report = Report(
        summary=summary,
        language=lang,
        direction="rtl" if lang in RTL else "ltr",
        texts=texts,
        title=title,
        subtitle=subtitle,
        respondents=respondents,
        populations=populations,
        questions=questions,
        framework=framework,
        methodology=_methodology(summary, lang, texts),
    )
    if compare:
        _comparison(report, [*compare, summary], lang)
    return report


def _table(
    summary: Summary, shape: QuestionShape, info: QuestionInfo, pop: str, label: str, lang: str, hidden: str
) -> TableView:
    counts = summary.tables.counts
    answered = counts.get((pop, shape.id, ANSWERED))
    respondents = counts.get((pop, "", RESPONDENTS))
    rows = []
    for row in shape.rows_in(pop):
        rows.append(
            RowView(row, label_of(info, row, lang), cell(counts.get((pop, shape.id, row)), lang, hidden, answered))
        )
    if shape.kind is Kind.MULTIPLE or info.type == "free_text":
        shown = sorted((r for r in rows if r.cell.count is not None), key=lambda r: -(r.cell.count or 0))
        rows = shown + [r for r in rows if r.cell.count is None]  # hidden ones last, in questionnaire order
    view = TableView(
        population=pop,
        label=label,
        respondents=cell(respondents, lang, hidden),
        answered=cell(answered, lang, hidden, respondents),
        skipped=cell(counts.get((pop, shape.id, SKIPPED)), lang, hidden, respondents),
        not_reached=cell(counts.get((pop, shape.id, NOT_REACHED)), lang, hidden, respondents),
        rows=rows,
    )
    median = summary.tables.medians.get((pop, shape.id))
    if median is not None:
        row = shape.rows_in(pop)[median]
        view.median_row = row
        value = summary.numeric_medians.get((pop, shape.id))
        if value is not None:
            view.median_value = value
            view.median = number(value, lang)
        else:
            view.median = label_of(info, row, lang)
            point = row.partition(":")[2]
            view.median_value = float(point) if point.lstrip("-").replace(".", "", 1).isdigit() else None
    return view


def most_chosen(table: TableView, kind: str) -> RowView | None:
    """The answer certainly chosen most: the largest shown count, larger than anything hidden could be (for one
    answer per person: answered minus what is shown; with several answers, nothing may be hidden)."""
    shown = [r for r in table.rows if r.cell.count and r.cell.share is not None and r.key != "theme:"]
    if not shown or table.answered.count is None:
        return None
    best = max(shown, key=lambda r: r.cell.count or 0)
    hidden = [r for r in table.rows if r.cell.count is None]
    if hidden:
        if kind != Kind.SINGLE.value:
            return None
        rest = table.answered.count - sum(r.cell.count or 0 for r in table.rows)
        if (best.cell.count or 0) <= rest:
            return None
    if sum(1 for r in shown if r.cell.count == best.cell.count) > 1:
        return None  # a tie: no single answer was chosen most
    return best


def _framework(summary: Summary, questions: list[QuestionView], lang: str, texts: dict[str, str]) -> list[ElementView]:
    survivor_flow = summary.consultation.audience != "cso"
    voices = [(ALL, texts["all_participants"] if survivor_flow else texts["csos"])]
    if survivor_flow:
        voices += [("group:survivor", texts["survivors"]), ("group:cso_staff", texts["csos"])]
    out = []
    for element in ELEMENTS:
        tagged = [q for q in questions if element in [tag for tag, _ in q.tags]]
        findings = []
        for q in tagged:
            for pop, who in voices:
                table = next((t for t in q.tables if t.population == pop), None)
                if table is None:
                    continue
                row = most_chosen(table, q.kind)
                if row is not None:
                    text = f"{who}: {row.label} ({row.cell.share_text})"
                    findings.append(Finding(q.id, pop, text, row.cell.share or 0))
        out.append(ElementView(element, element_label(lang, element), tagged, findings))
    return out


def _methodology(summary: Summary, lang: str, texts: dict[str, str]) -> list[tuple[str, str]]:
    c = summary.consultation
    dates = f"{texts['opened']} {day(c.opened_on, lang)}"
    dates += f", {texts['closed']} {day(c.closed_on, lang)}" if c.closed_on else f", {texts['still_open']}"
    if summary.made_on:
        dates += f"; {texts['published']} {day(summary.made_on, lang)}"
    country = Locale.parse(_locale(lang)).territories.get(c.country, c.country)
    lines = [
        (texts["consultation"], f"{c.title} ({c.code})"),
        (texts["country"], country),
        (texts["kind"], kind_label(lang, c.kind) + (f" — {texts['cycle']} {c.cycle_year}" if c.cycle_year else "")),
    ]
    if c.organisation:
        lines.append((texts["organisation"], c.organisation))
    lines += [
        (
            texts["questionnaire"],
            f"{pick(c.flow_title, lang, c.flow_id)} ({c.flow_id}, {texts['version']} {c.flow_version})",
        ),
        (texts["languages"], ", ".join(_language_name(x, lang) for x in c.languages)),
        (texts["dates"], dates),
        (texts["asked_whom"], audience_label(lang, c.audience)),
        (texts["respondents"], cell(summary.respondents, lang, texts["hidden_long"]).text),
        (texts["threshold"], number(summary.k, lang)),
        (texts["suppression_title"], texts["suppression"]),
        *([("", texts["carried"])] if summary.carried_from else []),
        ("", texts["bins_note"]),
        ("", texts["quotes_note"]),
    ]
    return lines


def _language_name(code: str, lang: str) -> str:
    try:
        return Locale.parse(code).get_display_name(_locale(lang)) or code
    except (ValueError, UnknownLocaleError):
        return code


def _comparison(report: Report, summaries: Sequence[Summary], lang: str) -> None:
    """Questions (same id, same rows) found in several publications, side by side, for everyone."""
    hidden = report.texts["hidden"]
    ordered = sorted(summaries, key=lambda s: (s.consultation.cycle_year or 0, s.consultation.kind != "roadmap"))
    report.comparison_heads = [
        f"{kind_label(lang, s.consultation.kind)} {s.consultation.cycle_year or ''} ({s.consultation.code})".strip()
        for s in ordered
    ]
    for shape in report.summary.tables.questions:
        others = []
        for s in ordered:
            match = next((q for q in s.tables.questions if q.id == shape.id and q.rows == shape.rows), None)
            others.append(match)
        if sum(1 for m in others if m is not None) < 2:
            continue
        info = report.summary.info(shape.id)
        rows = []
        for row in (ANSWERED, *shape.rows):
            values = []
            for s, match in zip(ordered, others, strict=True):
                if match is None:
                    values.append(CellView(None, "—"))
                    continue
                answered = s.tables.counts.get((ALL, shape.id, ANSWERED))
                whole = answered if row != ANSWERED else None
                values.append(cell(s.tables.counts.get((ALL, shape.id, row)), lang, hidden, whole))
            rows.append(ComparisonRow(shape.id, label_of(info, row, lang), values))
        report.comparison.append((pick(info.text, lang, shape.id), rows))


def dimension_label(dimension: Dimension, texts: dict[str, str]) -> str:
    return texts["by_group"] if dimension is Dimension.GROUP else texts["by_channel"]
