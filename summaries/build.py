"""Consultation -> summary: the true counts (SQL aggregates, live and from the retention snapshot) arranged as
tables, then made publishable by `summaries.disclosure`. A live summary never leaves the system; see
`summaries.publications` for what does."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence

from config.errors import VoicesError
from storage import repository as repo
from storage import summaries as sql
from storage import themes as theme_store
from storage.database import Database, DbSession
from storage.invites import invites_of
from storage.models import Consultation
from storage.privacy import KeyRing
from summaries.bins import automatic_edges, bin_rows, parse_number, row_of
from summaries.disclosure import suppress
from summaries.model import ConsultationInfo, QuestionInfo, QuoteInfo, Summary, Texts
from summaries.questionnaire import FlowLike, FlowSource, QuestionLike
from summaries.tables import (
    ALL,
    ANSWERED,
    NO_THEME,
    NOT_REACHED,
    RESPONDENTS,
    SKIPPED,
    Dimension,
    Kind,
    Population,
    QuestionShape,
    Tables,
    remainder_key,
)

RATING = "rating"


class SummaryError(VoicesError):
    """A summary cannot be made (unknown consultation, ...)."""


async def consultation_or_fail(session: DbSession, code: str) -> tuple[Consultation, int]:
    """The consultation with this code and its id, or a SummaryError naming the code."""
    consultation = await repo.consultation_by_code(session, code)
    if consultation is None or consultation.id is None:
        raise SummaryError(f"no consultation with code {code!r}")
    return consultation, consultation.id


async def true_summary(
    database: Database,
    code: str,
    flows: FlowSource,
    *,
    keys: KeyRing | None = None,
    previous: Sequence[Summary] = (),
    channel_labels: dict[int | None, str] | None = None,
) -> Summary:
    """Every true count (nothing suppressed yet): only ever an input to `suppress`."""
    async with database.reader() as session:
        consultation, cid = await consultation_or_fail(session, code)
        flow = flows(consultation.flow_id, consultation.flow_version)
        tally = await sql.tally(session, cid, flow.group_question)
        codebook = await theme_store.codebook(session, cid)
        quotes = await theme_store.approved_quotes(session, cid, keys) if keys is not None else []
        invites = await invites_of(session, cid)
    channels: dict[int | None, str] = {invite.id: invite.label for invite in invites}
    channels.update(channel_labels or {})
    languages = consultation.language_list or list(flow.languages)
    earlier_bins = {q.id: q.bins for s in previous for q in s.questions if q.bins}
    summary = _arrange(consultation, flow, tally, codebook, earlier_bins, channels, languages)
    summary.quotes = [QuoteInfo(q.question_id, q.text, q.language) for q in quotes]
    summary.tables.quotes = dict(
        sorted({q.question_id: sum(1 for x in quotes if x.question_id == q.question_id) for q in quotes}.items())
    )
    return summary


def publishable(true: Summary, previous: Sequence[Summary] = ()) -> Summary:
    """`true` with disclosure control applied (alone and after `previous`, the earlier publications)."""
    tables = suppress(true.tables, [p.tables for p in previous])
    kept = {(pop, q) for pop, q in tables.medians}
    shown_questions = {q for q, n in tables.quotes.items() if n}
    return Summary(
        consultation=true.consultation,
        tables=tables,
        questions=true.questions,
        population_labels={p.key: true.population_labels.get(p.key, {}) for p in tables.populations},
        numeric_medians={key: value for key, value in true.numeric_medians.items() if key in kept},
        quotes=[q for q in true.quotes if q.question_id in shown_questions],
        number=true.number,
        final=true.final,
        made_on=true.made_on,
    )


async def live_summary(
    database: Database,
    code: str,
    flows: FlowSource,
    *,
    keys: KeyRing | None = None,
    previous: Sequence[Summary] = (),
    channel_labels: dict[int | None, str] | None = None,
) -> Summary:
    """The current counts under the same disclosure control as a publication, made safe on their own only, not
    against the publications nor earlier views (`previous` only keeps their bins): never for a screen, where two
    views could be subtracted; screens show `summaries.publications.live_view`."""
    true = await true_summary(database, code, flows, keys=keys, previous=previous, channel_labels=channel_labels)
    true.made_on = repo.today().isoformat()
    return publishable(true)


def _numeric(q: QuestionLike) -> bool:
    """Numbers typed as answers: never shown as they are, only in bins."""
    return q.numeric or q.type in ("integer", "decimal")


def _question_kind(q: QuestionLike, has_themes: bool) -> Kind:
    if q.multiple or (q.written and has_themes):
        return Kind.MULTIPLE
    if q.options or _numeric(q):
        return Kind.SINGLE
    return Kind.COUNT


def _arrange(
    consultation: Consultation,
    flow: FlowLike,
    tally: sql.Tally,
    codebook: list[theme_store.CodebookEntry],
    earlier_bins: dict[str, list[float]],
    channels: dict[int | None, str],
    languages: list[str],
) -> Summary:
    k = consultation.min_cell
    group_q = flow.group_question
    # ---- populations
    populations = [Population(Dimension.ALL)]
    labels: dict[str, Texts] = {}
    group_info = next((q for q in flow.questions if q.id == group_q), None)
    if group_info is not None:
        for code, texts in group_info.options:
            populations.append(Population(Dimension.GROUP, code))
            labels[f"group:{code}"] = texts
    seen_channels = sorted({r.channel for r in tally.respondents}, key=lambda c: (c is None, c or 0))
    if len(seen_channels) > 1 or (seen_channels and seen_channels[0] is not None and len(channels) > 1):
        for channel in seen_channels:
            key = "none" if channel is None else str(channel)
            populations.append(Population(Dimension.CHANNEL, key))
            label = channels.get(channel) or consultation.code
            labels[f"channel:{key}"] = dict.fromkeys(languages, label)

    by_channel = any(p.dimension is Dimension.CHANNEL for p in populations)

    def members(group: str | None, channel: int | None, scope: str = "joint") -> list[str]:
        """The populations a count is for: joint counts (respondents, snapshots) feed all three."""
        out = [ALL] if scope in ("joint", "all") else []
        if scope in ("joint", "group") and group_q is not None and group is not None:
            out.append(f"group:{group}")
        if scope in ("joint", "channel") and by_channel:
            out.append(f"channel:{'none' if channel is None else channel}")
        return out

    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in tally.respondents:
        for pop in members(r.group, r.channel):
            counts[(pop, "", RESPONDENTS)] += r.count
    # ---- numbers: their values first, to choose bins
    infos = {q.id: q for q in flow.questions}
    values: dict[str, dict[str, dict[float, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for a in tally.answers:
        q = infos.get(a.question_id)
        if q is not None and _numeric(q) and not a.skipped and a.choice_codes:
            value = parse_number(a.choice_codes)
            if value is not None:
                for pop in members(a.group, a.channel, a.scope):
                    values[q.id][pop][value] += a.count
    bins: dict[str, list[float]] = {}
    for q in flow.questions:
        if _numeric(q):
            edges = list(q.bins) if q.bins else earlier_bins.get(q.id)
            if edges is None:
                edges = automatic_edges(values[q.id][ALL], k, whole=q.type == "integer")
            if edges:
                bins[q.id] = edges
    # ---- shapes
    themes = [entry for entry in codebook]
    shapes: dict[str, QuestionShape] = {}
    extra_rows: dict[str, list[str]] = defaultdict(list)
    for q in flow.questions:
        if _numeric(q):
            rows = bin_rows(bins[q.id], q.minimum, q.maximum) if q.id in bins else []
        elif q.written:
            rows = [f"theme:{t.code}" for t in themes] + [NO_THEME] if themes else []
        else:
            rows = [f"option:{code}" for code, _ in q.options]
        shapes[q.id] = QuestionShape(
            q.id,
            _question_kind(q, bool(themes)) if rows or not (_numeric(q) or q.written) else Kind.COUNT,
            tuple(rows),
            broken_down=not q.written,
            group_question=q.id == group_q,
        )
    # ---- answers
    for a in tally.answers:
        shape = shapes.get(a.question_id)
        q = infos.get(a.question_id)
        if shape is None or q is None:
            continue  # a question no longer in this flow version
        for pop in members(a.group, a.channel, a.scope):
            if shape.group_question and pop.startswith("group:"):
                continue
            if a.skipped:
                counts[(pop, q.id, SKIPPED)] += a.count
                continue
            counts[(pop, q.id, ANSWERED)] += a.count
            if _numeric(q) and shape.rows:
                value = parse_number(a.choice_codes or "")
                row = row_of(value, shape.rows) if value is not None else None
                if row is not None:
                    counts[(pop, q.id, row)] += a.count
                else:
                    counts[(pop, q.id, ANSWERED)] -= a.count  # not a number: cannot be shown in any bin
            elif q.options and not q.written and not _numeric(q):  # choice questions only: codes, never values
                for code in (a.choice_codes or "").split():
                    row = f"option:{code}"
                    if row not in shape.rows and row not in extra_rows[q.id]:
                        extra_rows[q.id].append(row)
                    counts[(pop, q.id, row)] += a.count
    for question_id, rows in extra_rows.items():
        shape = shapes[question_id]
        kind = shape.kind if shape.kind is not Kind.COUNT else Kind.SINGLE
        shapes[question_id] = QuestionShape(
            question_id, kind, (*shape.rows, *rows), shape.broken_down, shape.group_question
        )
    for t in tally.themes:
        if t.question_id in shapes and shapes[t.question_id].rows:
            row = NO_THEME if t.theme_code is None else f"theme:{t.theme_code}"
            if row in shapes[t.question_id].rows:
                counts[(ALL, t.question_id, row)] += t.count
            else:
                counts[(ALL, t.question_id, NO_THEME)] += t.count
    tables = Tables(k, populations, [shapes[q.id] for q in flow.questions])
    full: dict[tuple[str, str, str], int | None] = {}
    for cell in tables.cells():
        pop, question_id, row = cell
        if row == NOT_REACHED:
            total = counts.get((pop, "", RESPONDENTS), 0)
            given = counts.get((pop, question_id, ANSWERED), 0) + counts.get((pop, question_id, SKIPPED), 0)
            full[cell] = max(0, total - given)
        else:
            full[cell] = counts.get(cell, 0)
    tables.counts = full
    tables.ordered = _ordered(tables, tuple(flow.ordered))
    # ---- medians: ratings by their points, numbers by their values
    numeric_medians: dict[tuple[str, str], float] = {}
    for q in flow.questions:
        shape = shapes[q.id]
        for population in populations:
            pop = population.key
            if not shape.in_population(pop) or not shape.rows_in(pop):
                continue
            answered = full.get((pop, q.id, ANSWERED)) or 0
            if answered <= 0:
                continue
            half = -(-answered // 2)
            if q.type == RATING:
                running = 0
                for index, row in enumerate(shape.rows):
                    running += full.get((pop, q.id, row)) or 0
                    if running >= half:
                        tables.medians[(pop, q.id)] = index
                        break
            elif _numeric(q) and values[q.id].get(pop):
                running = 0
                for value in sorted(values[q.id][pop]):
                    running += values[q.id][pop][value]
                    if running >= half:
                        row = row_of(value, shape.rows)
                        if row is not None:
                            tables.medians[(pop, q.id)] = shape.rows.index(row)
                            numeric_medians[(pop, q.id)] = value
                        break
    # ---- labels, in every language
    questions = []
    for q in flow.questions:
        shape = shapes[q.id]
        row_labels: dict[str, Texts] = {}
        for code, texts in q.options:
            row_labels[f"option:{code}"] = dict(texts)
        for entry in themes:
            row_labels[f"theme:{entry.code}"] = dict(entry.labels) or dict.fromkeys(languages, entry.code)
        scale = None
        if q.type == RATING and q.options:
            points = [int(code) for code, _ in q.options]
            scale = (points[0], points[-1])
        questions.append(
            QuestionInfo(
                id=q.id,
                type=q.type,
                text=dict(q.text),
                tags=list(q.tags),
                row_labels={row: texts for row, texts in row_labels.items() if row in shape.rows},
                bins=bins.get(q.id),
                scale=scale,
                ends=q.ends,
            )
        )
    info = ConsultationInfo(
        code=consultation.code,
        title=consultation.title,
        country=consultation.country,
        kind=consultation.kind,
        cycle_year=consultation.cycle_year,
        flow_id=flow.id,
        flow_version=flow.version,
        flow_title=dict(flow.title),
        audience=flow.audience,
        languages=languages,
        default_language=consultation.default_language,
        organisation=consultation.organisation,
        opened_on=consultation.created_at.date().isoformat(),
        closed_on=consultation.closed_at.date().isoformat() if consultation.closed_at else None,
    )
    return Summary(info, tables, questions, labels, numeric_medians)


def _ordered(tables: Tables, ordered: Sequence[str]) -> tuple[str, ...]:
    """The flow's order of its always-asked questions (`Tables.ordered`), when the true counts follow it in every
    population: people who took an earlier version of the questionnaire (a question added later, before others)
    may not, and then it is not a fact a reader could rely on."""
    chain = [q for q in ordered if tables.has_question(q)]
    # (population as the model knows it, the published populations it adds up, those it takes away)
    checks: list[tuple[str, list[str], list[str]]] = [(p.key, [p.key], []) for p in tables.populations]
    for dimension in {p.dimension for p in tables.populations} - {Dimension.ALL}:
        members = [p.key for p in tables.populations if p.dimension is dimension]
        checks.append((remainder_key(dimension), [ALL], members))
    for key, plus, minus in checks:

        def reached(question: str, plus: list[str] = plus, minus: list[str] = minus) -> int:
            def of(pop: str) -> int:
                return sum(tables.counts.get((pop, question, row)) or 0 for row in (ANSWERED, SKIPPED))

            return sum(of(pop) for pop in plus) - sum(of(pop) for pop in minus)

        usable = [q for q in chain if tables.question(q).in_population(key)]
        if any(reached(after) > reached(before) for before, after in itertools.pairwise(usable)):
            return ()
    return tuple(chain)
