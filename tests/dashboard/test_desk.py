"""The facilitator's desk: live progress under the disclosure control, the review of written answers (each view
audited, quotes only ever shortened), publications with the k-new-respondents rule, downloads in every format
(audited), closing with the final publication, and the one results message."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from consultations.facilitation import ConsultationForm
from consultations.interactions import reply_from_data
from consultations.schedule import run_schedule
from dashboard.keys import DESK, FACILITATION
from storage import outbox, privacy_ops
from storage import repository as repo
from storage import schedule as schedule_store
from storage import themes as theme_store
from storage.database import Database
from storage.privacy import KeyRing
from summaries import publications
from tests.dashboard.conftest import Dash, open_dash
from tests.summaries.seed import IDEAS, RING, seed

RING_K1 = KeyRing([("k1", bytes(range(32)))])
"""The key ring of the dashboard's test settings."""


@pytest.fixture
async def desk_dash(database: Database) -> AsyncIterator[Dash]:
    """The dashboard, on SQLite and on PostgreSQL."""
    async for d in open_dash(database):
        yield d


async def consultation_of_a(dash: Dash, people: int, *, k: int = 10) -> tuple[int, str]:
    """Organisation A's consultation on the shipped questionnaire, with `people` seeded respondents."""
    facilitator = dash.users["facilitator-a"]
    made = await dash.app[FACILITATION].create(
        facilitator,
        ConsultationForm(
            title="Kenya roadmap",
            questionnaire="roadmap_feedback:2",
            country="KE",
            languages=["en", "fr"],
            min_cell=str(k),
        ),
    )
    assert made.id is not None
    if people:
        await seed(dash.database, made.code, people=people, create=False)
    return made.id, made.code


async def audit_actions(dash: Dash) -> list[tuple[str, str, str]]:
    entries = await dash.accounts.audit_entries(limit=1000)
    return [(e.actor, e.action, e.detail) for e in reversed(entries)]


def numbers_in_cells(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td class="n">(\d+)', html)]


async def test_live_progress_shows_no_count_under_k(desk_dash: Dash) -> None:
    dash = desk_dash
    few, _ = await consultation_of_a(dash, 4)
    await dash.sign_in("facilitator-a")
    page = await (await dash.client.get(f"/dashboard/consultations/{few}/progress")).text()
    assert "Live progress" in page and "Question by question" in page
    assert all(n == 0 or n >= 10 for n in numbers_in_cells(page)), numbers_in_cells(page)
    assert ">4<" not in page and "hidden" in page


async def test_live_progress_shows_respondents_and_drop_off(desk_dash: Dash) -> None:
    dash = desk_dash
    many, _ = await consultation_of_a(dash, 60)
    await dash.sign_in("facilitator-a")
    page = await (await dash.client.get(f"/dashboard/consultations/{many}/progress")).text()
    assert "<dd>60</dd>" in page
    cells = numbers_in_cells(page)
    assert cells and all(n == 0 or n >= 10 for n in cells)
    assert "Not reached" in page and "Reached the last question" in page


async def test_reviewing_written_answers_is_audited_and_quotes_only_lose_words(
    desk_dash: Dash,
) -> None:
    dash = desk_dash
    cid, _ = await consultation_of_a(dash, 30)
    await dash.sign_in("facilitator-a")
    base = f"/dashboard/consultations/{cid}"
    saved = await dash.post(
        base + "/themes",
        {"code": "shelters", "label": "Shelters", "language": "en", "keywords": "shelters, safe houses"},
        token_from=base + "/answers",
    )
    assert saved.status == 303
    bad = await dash.post(base + "/themes", {"code": "Bad Code", "label": "x"}, token_from=base + "/answers")
    assert bad.status == 303
    page = await (await dash.client.get(base + "/answers")).text()
    assert "A theme code is lower-case letters" in page
    shown = [int(x) for x in re.findall(r"/answers/(\d+)\"", page)]
    assert len(shown) == 10  # one page
    assert any(idea in page for idea in IDEAS)
    viewed = [d for _, action, d in await audit_actions(dash) if action == "written answer viewed"]
    assert set(viewed) == {f"answer:{i}" for i in shown}  # every answer shown (each time) is a recorded view

    first, second, third = shown[:3]
    async with dash.database.reader() as session:
        answers = {a.answer_id: a for a in await theme_store.written_answers(session, cid, RING, pending_only=False)}
    original = answers[first].text
    words = original.split()
    added = await dash.post(
        f"{base}/answers/{first}",
        {"decision": "approve", "themes": "shelters", "quote": original + " and more money"},
        token_from=base + "/answers",
    )
    assert added.status == 303
    after = await (await dash.client.get(base + "/answers")).text()
    assert "A quote may only take words out of the answer" in after
    async with dash.database.reader() as session:
        assert await theme_store.approved_quotes(session, cid, RING) == []

    shortened = " ".join(words[:3])
    ok = await dash.post(
        f"{base}/answers/{first}",
        {"decision": "approve", "themes": "shelters", "quote": shortened},
        token_from=base + "/answers",
    )
    assert ok.status == 303
    await dash.post(f"{base}/answers/{second}", {"decision": "reject"}, token_from=base + "/answers")
    await dash.post(f"{base}/answers/{third}", {"decision": "approve", "quote": ""}, token_from=base + "/answers")
    unknown = await dash.post(
        f"{base}/answers/{third}", {"decision": "approve", "themes": "nope"}, token_from=base + "/answers"
    )
    assert unknown.status == 303
    async with dash.database.reader() as session:
        quotes = [q.text for q in await theme_store.approved_quotes(session, cid, RING)]
        coded = {a.answer_id: a for a in await theme_store.written_answers(session, cid, RING, pending_only=False)}
    assert sorted(quotes) == sorted([shortened, coded[third].text])
    assert coded[first].themes == ("shelters",) and coded[second].reviewed and coded[second].quote is None
    actions = [action for _, action, _ in await audit_actions(dash)]
    assert actions.count("quote approved") == 2 and actions.count("quote rejected") == 1
    assert "theme saved" in actions

    everything = await (await dash.client.get(base + "/answers?all=1")).text()
    assert [int(x) for x in re.findall(r"/answers/(\d+)\"", everything)][:3] == [first, second, third]
    assert "Next answers" in everything and "Previous answers" not in everything
    later = await (await dash.client.get(base + "/answers?all=1&page=1")).text()
    later_ids = [int(x) for x in re.findall(r"/answers/(\d+)\"", later)]
    assert later_ids and not set(later_ids) & set(shown) and "Previous answers" in later
    viewed = [d for _, action, d in await audit_actions(dash) if action == "written answer viewed"]
    assert {f"answer:{i}" for i in later_ids} <= set(viewed)

    keywords = await (await dash.client.get(base + "/keywords")).text()
    assert "Keyword suggestions" in keywords and "<h3>en</h3>" in keywords
    assert "keywords read" in [action for _, action, _ in await audit_actions(dash)]


async def test_publish_refusal_downloads_close_and_the_results_message(
    desk_dash: Dash,
) -> None:
    dash = desk_dash
    cid, code = await consultation_of_a(dash, 30)
    async with dash.database.transaction() as session:
        consultation = await repo.consultation_by_code(session, code)
        assert consultation is not None
        participant = await repo.get_or_create_participant(session, f"{code}{0:056d}", "en")
        assert participant.id is not None
        await privacy_ops.opt_in_results(session, participant.id, cid, 777001, RING_K1)
    await dash.sign_in("facilitator-a")
    base = f"/dashboard/consultations/{cid}"
    early = await dash.post(base + "/results-message", {"confirm": "on"}, token_from=base + "/publications")
    assert early.status == 303
    page = await (await dash.client.get(base + "/publications")).text()
    assert "Publish the results first" in page
    async with dash.database.reader() as session:
        assert await outbox.backlog(session) == 0 and await privacy_ops.opt_in_count(session, cid) == 1

    made = await dash.post(base + "/publications", token_from=base + "/publications")
    assert made.status == 303
    page = await (await dash.client.get(base + "/publications")).text()
    assert "Publication 1 is made." in page
    again = await dash.post(base + "/publications", token_from=base + "/publications")
    assert again.status == 303
    page = await (await dash.client.get(base + "/publications")).text()
    assert "Not published: fewer than 10 people took part since publication 1" in page
    assert "0 new respondent" not in page

    expected = {"html": b"<!DOCTYPE html>", "pdf": b"%PDF", "csv": b"", "xlsx": b"PK", "json": b"{", "md": b"#"}
    for fmt, start in expected.items():
        response = await dash.client.get(f"{base}/publications/1/{fmt}?language=fr")
        assert response.status == 200, fmt
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert (await response.read()).startswith(start), fmt
    assert (await dash.client.get(f"{base}/publications/1/console")).status == 404
    assert (await dash.client.get(f"{base}/publications/9/html")).status == 404
    exported = [d for _, action, d in await audit_actions(dash) if action == "publication exported"]
    assert sorted(exported) == sorted(f"publication 1 {fmt} fr" for fmt in expected)

    # queued through the outbox (the running bot sends it): the page answers at once, bot running or not
    sent = await dash.post(base + "/results-message", {"confirm": "on"}, token_from=base + "/publications")
    assert sent.status == 303
    page = await (await dash.client.get(base + "/publications")).text()
    assert "The results message is queued, once, for everyone who asked for it." in page
    async with dash.database.transaction() as session:
        assert await privacy_ops.opt_in_count(session, cid) == 0  # forgotten with its row written
        [row] = await outbox.claim(session, RING_K1, "test", 10)
    assert row.chat_key == f"{code}{0:056d}" and row.kind == outbox.RESULTS and row.payload["chat"] == 777001
    reply = reply_from_data(row.payload["reply"])
    assert "/results" in reply.text and "Kenya roadmap" in reply.text and reply.language == "en"
    await dash.post(base + "/results-message", {"confirm": "on"}, token_from=base + "/publications")
    async with dash.database.reader() as session:
        assert await outbox.backlog(session) == 1  # once: the opt-ins are forgotten

    closed = await dash.post(base + "/close", {"confirm": "on"}, token_from=base)
    assert closed.status == 303
    page = await (await dash.client.get(base)).text()
    assert "Its final publication (2) is made." in page
    listing = await (await dash.client.get(base + "/publications")).text()
    assert "final" in listing and "Publish now" not in listing
    actions = [action for _, action, _ in await audit_actions(dash)]
    assert actions.count("publication made") == 2 and "results message queued" in actions


async def test_a_reviewer_reads_granted_publications_only(desk_dash: Dash) -> None:
    dash = desk_dash
    a_id, _ = await consultation_of_a(dash, 30)
    facilitation = dash.app[FACILITATION]
    await facilitation.grant(dash.users["facilitator-a"], a_id, "reviewer-a")
    b = await facilitation.create(
        dash.users["facilitator-b"],
        ConsultationForm(title="Secret B", questionnaire="roadmap_feedback:2", country="UG", languages=["en"]),
    )
    assert b.id is not None
    await seed(dash.database, b.code, people=30, create=False, start=1000)
    await facilitation.grant(dash.users["facilitator-b"], b.id, "reviewer-b")
    async with dash.database.reader() as session:
        answers = await theme_store.written_answers(session, a_id, RING, pending_only=False)
    rejected = answers[0]
    for name, cid in (("a", a_id), ("b", b.id)):
        await dash.sign_in(f"facilitator-{name}")
        base = f"/dashboard/consultations/{cid}"
        if name == "a":
            await dash.post(f"{base}/answers/{rejected.answer_id}", {"decision": "reject"}, token_from=base)
        assert (await dash.post(base + "/publications", token_from=base)).status == 303

    await dash.sign_in("reviewer-a")
    page = await (await dash.client.get(f"/dashboard/reviews/{a_id}")).text()
    assert "Read the report" in page and "Secret B" not in page
    report = await dash.client.get(f"/dashboard/reviews/{a_id}/publications/1")
    assert report.status == 200 and report.headers["Content-Type"].startswith("text/html")
    html = await report.text()
    assert "Accountability Framework" in html and "<svg" in html
    policy = report.headers["Content-Security-Policy"]
    assert "style-src 'sha256-" in policy and "script-src" not in policy and "unsafe" not in policy
    assert rejected.text not in html
    download = await dash.client.get(f"/dashboard/reviews/{a_id}/publications/1/xlsx")
    assert download.status == 200 and (await download.read()).startswith(b"PK")
    actions = [(actor, action) for actor, action, _ in await audit_actions(dash)]
    assert ("reviewer-a", "publication read") in actions and ("reviewer-a", "publication exported") in actions
    # organisation B's ids, guessed: nothing, the same as for ids that do not exist
    for path in (
        f"/dashboard/reviews/{b.id}",
        f"/dashboard/reviews/{b.id}/publications/1",
        f"/dashboard/reviews/{b.id}/publications/1/csv",
        f"/dashboard/reviews/{a_id}/publications/2",
        "/dashboard/reviews/99999/publications/1/json",
    ):
        response = await dash.client.get(path)
        assert response.status == 404, path
        assert "Secret B" not in await response.text()
    # a reviewer never reaches the facilitator's pages: no raw answer, no live count
    for page_name in ("progress", "answers", "keywords", "publications"):
        assert (await dash.client.get(f"/dashboard/consultations/{a_id}/{page_name}")).status == 403


async def test_live_progress_cannot_be_compared_with_a_publication(
    desk_dash: Dash,
) -> None:
    dash = desk_dash
    cid, code = await consultation_of_a(dash, 30)
    await dash.sign_in("facilitator-a")
    base = f"/dashboard/consultations/{cid}"
    assert (await dash.post(base + "/publications", token_from=base)).status == 303
    await seed(dash.database, code, people=3, create=False, start=500)
    page = await (await dash.client.get(base + "/progress")).text()
    assert "<dd>33</dd>" not in page  # 33 next to the published 30 would show three people
    published = await (await dash.client.get(base + "/publications")).text()
    assert '<td class="n">30</td>' in published


async def test_live_progress_pages_one_person_apart_cannot_be_subtracted(desk_dash: Dash) -> None:
    """Refreshing the page as people come one at a time (and the command line's --live in between, the same view):
    no two pages show numbers whose difference is from 1 to k-1, yet the page moves on once k people came."""
    dash = desk_dash
    k = 5
    cid, code = await consultation_of_a(dash, 12, k=k)
    dash.app[DESK].live_wait = None  # each page waits for its step (the background steps: tests/summaries)
    await dash.sign_in("facilitator-a")
    url = f"/dashboard/consultations/{cid}/progress"
    pages = []
    for person in range(12, 12 + 2 * k + 1):
        pages.append(await (await dash.client.get(url)).text())
        await seed(dash.database, code, people=1, create=False, start=person)
        await publications.live_view(dash.database, code, dash.app[DESK].flows)  # `summary CODE --live`
    pages.append(await (await dash.client.get(url)).text())
    # every figure in its place (a hidden one as None), so that the same cell is compared across pages
    facts = [[_number(n) for n in re.findall(r"<dd>([^<]*)</dd>", page)] for page in pages]
    cells = [[_number(n) for n in re.findall(r'<td class="n[^"]*">([^<]*)</td>', page)] for page in pages]
    assert all(len(c) == len(cells[0]) > 20 for c in cells)
    for i, j in itertools.combinations(range(len(pages)), 2):
        for a, b in [*zip(facts[i], facts[j], strict=True), *zip(cells[i], cells[j], strict=True)]:
            if a is not None and b is not None:
                assert not 1 <= abs(a - b) <= k - 1, (i, j, facts[i], facts[j])
    assert facts[0][0] == 12 and (facts[-1][0] or 0) >= 12 + k, [f[:1] for f in facts]
    assert all(n is None or n == 0 or n >= k for page in cells for n in page)


def _number(text: str) -> int | None:
    found = re.match(r"\s*(\d+)", text)
    return int(found.group(1)) if found else None


async def test_a_consultation_the_schedule_closes_gets_its_final_publication(
    desk_dash: Dash,
) -> None:
    dash = desk_dash
    cid, _ = await consultation_of_a(dash, 30)
    async with dash.database.transaction() as session:
        consultation = await repo.consultation_by_id(session, cid)
        assert consultation is not None
        consultation.closes_at = repo.now() - timedelta(minutes=1)
        await schedule_store.save_consultation(session, consultation)
    desk = dash.app[DESK]
    task = asyncio.create_task(run_schedule(dash.database, every_seconds=0.05, after_close=desk.final_publications))
    try:
        for _ in range(200):
            found = await desk.publications(consultation)
            if found:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    [final] = found
    assert final.final and final.number == 1 and final.respondents == 30
    actions = [(actor, action) for actor, action, _ in await audit_actions(dash)]
    assert ("schedule", "consultation closed") in actions and ("schedule", "publication made") in actions
