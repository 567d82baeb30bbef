"""Numbers typed as answers are shown only as bins (the flow's, or automatic ones of at least k answers each),
medians only from k answers, and never one person's exact value; ratings with their median."""

from __future__ import annotations

import random

from flows.describe import FlowDescription, QuestionDescription
from storage import repository as repo
from storage.database import Database
from storage.models import ConversationSession
from summaries.audit import audit
from summaries.bins import automatic_edges, bin_rows, row_of
from summaries.build import live_summary
from summaries.questionnaire import FlowLike
from summaries.render import render
from summaries.report import build_report
from summaries.tables import ALL, ANSWERED

PHONE = "254712345678"
FLOW = FlowDescription(
    id="numbers",
    version=1,
    audience="cso",
    title={"en": "Numbers", "fr": "Nombres"},
    languages=("en", "fr"),
    default_language="en",
    questions=(
        QuestionDescription("staff", "integer", {"en": "How many staff?", "fr": "Combien de salariés ?"}),
        QuestionDescription("cases", "integer", {"en": "Cases?", "fr": "Cas ?"}, bins=(0.0, 10.0, 50.0), minimum=0),
        QuestionDescription(
            "quality",
            "rating",
            {"en": "Quality?", "fr": "Qualité ?"},
            options=tuple((str(n), {"en": str(n), "fr": str(n)}) for n in range(1, 6)),
        ),
    ),
)


def flows(flow_id: str, version: int) -> FlowLike:
    return FLOW


async def _answers(database: Database, people: int) -> None:
    rng = random.Random(5)
    async with database.transaction() as session:
        consultation = await repo.create_consultation(
            session,
            code="NUMBERS",
            title="n",
            country="KE",
            flow_id="numbers",
            flow_version=1,
            languages=["en", "fr"],
            default_language="en",
        )
        assert consultation.id is not None
        for index in range(people):
            participant = await repo.get_or_create_participant(session, f"{index:064d}", "en")
            assert participant.id is not None
            row = await repo.save_session(
                session,
                ConversationSession(
                    participant_id=participant.id,
                    consultation_id=consultation.id,
                    flow_id="numbers",
                    flow_version=1,
                    state="x",
                    status="completed",
                    language="en",
                    started_at=repo.now(),
                    updated_at=repo.now(),
                ),
            )
            await repo.record_consent(session, participant.id, consultation.id, "v1")
            staff = PHONE if index == 0 else str(rng.randint(1, 400))
            await repo.upsert_answer(session, row, repo.AnswerValue("staff", codes=(staff,)))
            await repo.upsert_answer(session, row, repo.AnswerValue("cases", codes=(str(rng.randint(0, 80)),)))
            await repo.upsert_answer(session, row, repo.AnswerValue("quality", codes=(str(rng.choice([2, 3, 3, 4])),)))


def test_automatic_bins_hold_k_each_on_round_edges() -> None:
    values = {float(v): 1 for v in range(1, 101)}
    edges = automatic_edges(values, 10)
    assert edges is not None and all(e % 5 == 0 for e in edges)
    rows = bin_rows(edges)
    held: dict[str, int] = {}
    for value, n in values.items():
        row = row_of(value, rows)
        assert row is not None
        held[row] = held.get(row, 0) + n
    assert min(held.values()) >= 10 and sum(held.values()) == 100
    assert automatic_edges({1.0: 5, 2.0: 10}, 10) is None  # fewer than 2k answers: no bins at all


async def test_numbers_only_as_bins_and_medians(sqlite_database: Database) -> None:
    await _answers(sqlite_database, 60)
    summary = await live_summary(sqlite_database, "NUMBERS", flows)
    staff = summary.tables.question("staff")
    assert staff.rows and all(row.startswith("bin:") for row in staff.rows)
    assert staff.rows[0].startswith("bin::") and staff.rows[-1].endswith(":")  # open ends: no extreme value shows
    cases = summary.tables.question("cases")
    assert cases.rows == ("bin:0:10", "bin:10:50", "bin:50:")  # the flow's bins; min 0 leaves out "under 0"
    assert (ALL, "quality") in summary.tables.medians and (ALL, "staff") in summary.tables.medians
    for fmt in ("json", "csv", "html", "md"):
        text = render(build_report(summary, "fr"), fmt).decode()
        assert PHONE not in text
    assert audit([summary.tables], exact=True).safe


async def test_no_median_under_k_answers(sqlite_database: Database) -> None:
    await _answers(sqlite_database, 12)
    summary = await live_summary(sqlite_database, "NUMBERS", flows)
    for (pop, question), _ in summary.tables.medians.items():
        answered = summary.tables.counts[(pop, question, ANSWERED)]
        assert answered is not None and answered >= 10
    assert summary.tables.question("staff").rows == ()  # 12 answers cannot make two bins of 10
