"""Live views (the dashboard's live progress, `summary CODE --live`): two views seen at different times, or a view
and a publication, must never let a count from 1 to k-1 be worked out by subtraction. Checked here independently
of the disclosure code: every pair of tables actually shown is subtracted cell by cell (and margin by margin)."""

from __future__ import annotations

import asyncio
from itertools import combinations

from storage import publications as store
from storage import repository as repo
from storage import themes as theme_store
from storage.database import Database
from summaries import publications
from summaries.model import Summary
from summaries.tables import ALL, ANSWERED, NOT_REACHED, RESPONDENTS, SKIPPED
from tests.summaries.seed import RING, flows, seed

K = 5


def figures(summary: Summary) -> dict[tuple[str, ...], int]:
    """Every number a reader of the summary has: each shown cell, and the totals and margins that can be added
    up from shown cells (all rows of a question, answered + skipped, respondents - not reached, ...)."""
    t = summary.tables
    out: dict[tuple[str, ...], int] = {key: value for key, value in t.counts.items() if value is not None}
    for population in t.populations:
        pop = population.key
        respondents = t.counts.get((pop, "", RESPONDENTS))
        for q in t.questions:
            answered, skipped, not_reached = (t.counts.get((pop, q.id, r)) for r in (ANSWERED, SKIPPED, NOT_REACHED))
            if answered is not None and skipped is not None:
                out[(pop, q.id, "answered+skipped")] = answered + skipped
            if respondents is not None and not_reached is not None:
                out[(pop, q.id, "respondents-not_reached")] = respondents - not_reached
            rows = [t.counts.get((pop, q.id, row)) for row in q.rows_in(pop)]
            if rows and all(value is not None for value in rows):
                out[(pop, q.id, "sum of rows")] = sum(value or 0 for value in rows)
    return out


def small_differences(shown: list[Summary], k: int) -> list[str]:
    """Every figure below k, and every change from 1 to k-1 (either way) between any two shown summaries."""
    problems = []
    for index, summary in enumerate(shown):
        for key, value in figures(summary).items():
            if 1 <= value <= k - 1:
                problems.append(f"view {index}: {key} = {value}")
    for (i, a), (j, b) in combinations(enumerate(shown), 2):
        before, after = figures(a), figures(b)
        for key in before.keys() & after.keys():
            if 1 <= abs(after[key] - before[key]) <= k - 1:
                problems.append(f"views {i} and {j}: {key} {before[key]} -> {after[key]}")
    return problems


async def test_live_views_one_person_apart_cannot_be_subtracted(sqlite_database: Database) -> None:
    database = sqlite_database
    await seed(database, "LIVE1", people=12, min_cell=K)
    shown = [await publications.live_view(database, "LIVE1", flows)]
    assert shown[0].respondents == 12
    for person in range(12, 12 + 3 * K + 2):
        await seed(database, "LIVE1", people=1, start=person, create=False)
        shown.append(await publications.live_view(database, "LIVE1", flows))
        shown.append(await publications.live_view(database, "LIVE1", flows))  # a refresh
        if person == 12 + K + 1:
            shown.append(await publications.publish(database, "LIVE1", flows))
    assert not small_differences(shown, K), small_differences(shown, K)
    respondents = [s.respondents for s in shown]
    # the counts advance, in steps of at least k people
    assert respondents[0] == 12 and max(r or 0 for r in respondents) >= 12 + 2 * K, respondents
    assert len({r for r in respondents if r is not None}) >= 3, respondents
    # at most one stored view per k people, however often it is refreshed
    async with database.reader() as session:
        consultation = await repo.consultation_by_code(session, "LIVE1")
        assert consultation is not None and consultation.id is not None
        rows = await store.shown(session, consultation.id)
        listed = await store.publications(session, consultation.id)
    views = [row for row in rows if row.number < 0]
    assert 2 <= len(views) <= 1 + (3 * K + 2) // K, [(row.number, row.respondents) for row in rows]
    assert [row.number for row in listed] == [1]  # live views are never listed as publications


async def test_a_publication_after_a_recent_live_view_repeats_it(sqlite_database: Database) -> None:
    database = sqlite_database
    await seed(database, "LIVE2", people=20, min_cell=K)
    view = await publications.live_view(database, "LIVE2", flows)
    await seed(database, "LIVE2", people=2, start=20, create=False)
    made = await publications.publish(database, "LIVE2", flows)
    assert made.number == 1 and made.respondents == view.respondents == 20
    assert not small_differences([view, made], K)
    # and a live view after the publication, fewer than k people later, shows the same figures
    await seed(database, "LIVE2", people=1, start=22, create=False)
    again = await publications.live_view(database, "LIVE2", flows)
    assert again.number is None and again.respondents == 20
    # k more people: the view moves on, safe against the view and the publication
    await seed(database, "LIVE2", people=K, start=23, create=False)
    later = await publications.live_view(database, "LIVE2", flows)
    assert later.respondents == 20 + 3 + K
    assert not small_differences([view, made, again, later], K), small_differences([view, made, again, later], K)


async def test_people_going_on_within_the_cohort_are_not_singled_out(database: Database) -> None:
    """People already counted who answer more (or stop) change the counts too: a view a step later (2k more people
    here: a step is k, or a quarter more) is still safe against the earlier one, however those changes fall."""
    await seed(database, "LIVE3", people=15, min_cell=K)
    first = await publications.live_view(database, "LIVE3", flows)
    shown = [first]
    for batch in range(3):
        await seed(database, "LIVE3", people=2 * K, start=15 + batch * 2 * K, create=False, seed=batch)
        shown.append(await publications.live_view(database, "LIVE3", flows))
    assert [s.respondents for s in shown] == [15, 15 + 2 * K, 15 + 4 * K, 15 + 6 * K]
    assert not small_differences(shown, K), small_differences(shown, K)
    assert shown[-1].tables.counts[(ALL, "", RESPONDENTS)] == 15 + 6 * K


def test_steps_are_k_people_or_a_quarter_more_then_doubling() -> None:
    assert publications.step(K, 12) == K
    assert publications.step(10, 330) == 83
    assert publications.step(10, 0) == 10
    doubling = publications.DOUBLING_AFTER
    assert publications.step(10, 330, doubling - 1) == 83
    assert publications.step(10, 330, doubling) == 330
    assert publications.step(10, 5, doubling) == 10


def test_stored_views_stay_few_as_a_consultation_grows() -> None:
    """The number of stored views (each new one is audited against all of them) as a consultation grows from k
    to 3,000 and to 1,000,000 people, with a view asked for after every single new person: the steps alone
    decide how many are stored (a refresh within a step stores nothing, tested above)."""

    def stored(k: int, people: int) -> int:
        views, base = 1, k  # the first view, of k people
        while base + publications.step(k, base, views) <= people:
            base += publications.step(k, base, views)
            views += 1
        return views

    assert stored(5, 3000) <= 13 and stored(10, 3000) <= 12
    assert stored(5, 1_000_000) <= 22
    assert stored(10, 300) <= publications.DOUBLING_AFTER + 1


async def test_a_growing_consultation_stores_few_views(sqlite_database: Database) -> None:
    """A real consultation growing from 12 to 150 people, a view asked for after every new person: the stored
    views stay few, and no two shown tables can be subtracted."""
    database = sqlite_database
    await seed(database, "LIVE7", people=12, min_cell=K)
    shown = [await publications.live_view(database, "LIVE7", flows)]
    for person in range(12, 150):
        await seed(database, "LIVE7", people=1, start=person, create=False)
        view = await publications.live_view(database, "LIVE7", flows)
        if view.respondents != shown[-1].respondents:
            shown.append(view)
    async with database.reader() as session:
        consultation = await repo.consultation_by_code(session, "LIVE7")
        assert consultation is not None and consultation.id is not None
        rows = await store.shown(session, consultation.id)
    views = [row.respondents for row in rows if row.number < 0]
    # k = 5 from 12: 12, 17, 22, 28, 35, 44, 55, 69 (quarter steps), then 138 (doubled): 9 views
    assert len(views) <= publications.DOUBLING_AFTER + 1, views
    assert views[-1] >= 120, views  # and the view did move on
    assert not small_differences(shown, K), small_differences(shown, K)


async def test_two_views_made_at_once_store_one(database: Database) -> None:
    """Two screens refreshed at the same moment, k people after the last view: one new view is stored and both
    show it (the second is not made beside the first, unchecked against it)."""
    await seed(database, "LIVE4", people=12, min_cell=K)
    first = await publications.live_view(database, "LIVE4", flows)
    await seed(database, "LIVE4", people=K + 2, start=12, create=False)
    a, b = await asyncio.gather(
        publications.live_view(database, "LIVE4", flows), publications.live_view(database, "LIVE4", flows)
    )
    assert a.tables.counts == b.tables.counts and a.respondents == 12 + K + 2
    async with database.reader() as session:
        consultation = await repo.consultation_by_code(session, "LIVE4")
        assert consultation is not None and consultation.id is not None
        rows = await store.shown(session, consultation.id)
    assert [row.number for row in rows] == [-1, -2]
    assert not small_differences([first, a, b], K)


async def test_a_publication_repeating_a_view_keeps_the_approved_quotes(sqlite_database: Database) -> None:
    database = sqlite_database
    await seed(database, "LIVE5", people=6, min_cell=K)
    view = await publications.live_view(database, "LIVE5", flows)
    async with database.transaction() as session:
        consultation = await repo.consultation_by_code(session, "LIVE5")
        assert consultation is not None and consultation.id is not None
        written = await theme_store.written_answers(session, consultation.id, RING)
        await theme_store.decide(session, consultation.id, written[0].answer_id, RING, quote=written[0].text)
    made = await publications.publish(database, "LIVE5", flows, keys=RING)
    assert made.tables.counts == view.tables.counts and made.respondents == 6
    assert [q.text for q in made.quotes] == [written[0].text]
    assert not view.quotes  # a live view holds counts only


async def test_a_slow_step_shows_the_latest_view_and_goes_on_in_the_background(sqlite_database: Database) -> None:
    database = sqlite_database
    await seed(database, "LIVE6", people=12, min_cell=K)
    first = await publications.live_view(database, "LIVE6", flows)
    await seed(database, "LIVE6", people=K, start=12, create=False)
    at_once = await publications.live_view(database, "LIVE6", flows, wait=0)  # the step takes longer than that
    assert at_once.tables.counts == first.tables.counts and at_once.respondents == 12
    joined = await publications.live_view(database, "LIVE6", flows, wait=60)  # the same step, still going on
    assert joined.respondents == 12 + K
    again = await publications.live_view(database, "LIVE6", flows, wait=0)  # stored: shown at once
    assert again.tables.counts == joined.tables.counts
    async with database.reader() as session:
        consultation = await repo.consultation_by_code(session, "LIVE6")
        assert consultation is not None and consultation.id is not None
        assert [row.number for row in await store.shown(session, consultation.id)] == [-1, -2]
    assert not small_differences([first, at_once, joined, again], K)
