"""Publications: numbered, frozen, k new respondents between two, final at close, audited with the earlier ones;
every output format read back by the auditor; summaries that outlive the raw answers (retention)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from storage import invites, retention
from storage import repository as repo
from storage import themes as theme_store
from storage.database import Database
from storage.models import Consultation, ConversationSession
from summaries import publications
from summaries.audit import audit
from summaries.build import live_summary
from summaries.readers import read_file
from summaries.render import render
from summaries.report import build_report
from summaries.tables import RESPONDENTS
from tests.summaries.seed import RING, flows, seed


async def _age(database: Database, seconds: int) -> None:
    """Move every session back in time, so people seeded later count as new since a publication."""
    async with database.transaction() as session:
        await session.exec(
            update(ConversationSession).values(
                started_at=col(ConversationSession.started_at) - timedelta(seconds=seconds)
            )
        )


async def test_publications_need_k_new_respondents_and_end_with_the_final_one(database: Database) -> None:
    await seed(database, "PUB1", people=40)
    await _age(database, 60)
    first = await publications.publish(database, "PUB1", flows, keys=RING)
    assert first.number == 1 and not first.final and first.respondents == 40
    with pytest.raises(publications.PublicationRefused, match="fewer than 10 .k. new respondents") as none:
        await publications.publish(database, "PUB1", flows, keys=RING)
    await seed(database, "PUB1", people=9, start=40, create=False)
    with pytest.raises(publications.PublicationRefused, match="fewer than 10 .k. new respondents") as nine:
        await publications.publish(database, "PUB1", flows, keys=RING)
    assert str(nine.value) == str(none.value)  # the refusal does not count the few who came in between
    await seed(database, "PUB1", people=1, start=49, create=False)
    second = await publications.publish(database, "PUB1", flows, keys=RING)
    assert second.number == 2 and second.respondents == 50
    assert audit([first.tables, second.tables], exact=True).safe

    frozen = await publications.publication(database, "PUB1", 1)
    assert frozen.tables.counts == first.tables.counts  # answers after it change nothing in it

    await seed(database, "PUB1", people=2, start=50, create=False)  # fewer than k: only the final may follow
    final = await publications.close_and_publish(database, "PUB1", flows, keys=RING)
    assert final is not None and final.final and final.number == 3
    assert final.carried_from == 2 and final.tables.counts == second.tables.counts  # 2 new people: not shown
    chain = await publications.list_publications(database, "PUB1")
    assert [p.number for p in chain] == [1, 2, 3]
    assert audit([p.tables for p in chain], exact=True).safe
    with pytest.raises(publications.PublicationRefused, match="already has its final publication"):
        await publications.publish(database, "PUB1", flows, keys=RING)
    assert await publications.close_and_publish(database, "PUB1", flows, keys=RING) is None


async def test_too_few_respondents_publish_nothing(sqlite_database: Database) -> None:
    await seed(sqlite_database, "FEW", people=9)
    made = await publications.publish(sqlite_database, "FEW", flows, keys=RING, final=True)
    assert set(made.tables.counts.values()) == {None}
    text = render(build_report(made, "en"), "md").decode()
    assert "Respondents:** hidden" in text


@pytest.mark.parametrize("fmt", ["json", "csv", "xlsx", "html"])
async def test_the_auditor_reads_every_format_back(sqlite_database: Database, tmp_path: Path, fmt: str) -> None:
    await seed(sqlite_database, "FORMATS", people=45)
    await _age(sqlite_database, 60)
    first = await publications.publish(sqlite_database, "FORMATS", flows, keys=RING)
    await seed(sqlite_database, "FORMATS", people=15, start=45, create=False)
    second = await publications.publish(sqlite_database, "FORMATS", flows, keys=RING)
    files = []
    for made, lang in ((first, "fr"), (second, "ar")):
        path = tmp_path / f"p{made.number}.{fmt}"
        path.write_bytes(render(build_report(made, lang), fmt))
        files.append(read_file(path))
    assert [f.number for f in files] == [1, 2] and {f.consultation for f in files} == {"FORMATS"}
    assert files[0].tables.counts == first.tables.counts and files[1].tables.counts == second.tables.counts
    assert files[1].tables.medians == second.tables.medians
    assert [p.key for p in files[1].tables.populations] == [p.key for p in second.tables.populations]
    result = audit([f.tables for f in files], exact=True)
    assert result.safe and result.ranges


async def test_channels_are_a_breakdown_under_the_same_control(sqlite_database: Database) -> None:
    await seed(sqlite_database, "CHAN", people=60)
    async with sqlite_database.transaction() as session:
        consultation = await repo.consultation_by_code(session, "CHAN")
        assert consultation is not None
        radio = await invites.create_invite(session, consultation, "Radio spot")
        workshop = await invites.create_invite(session, consultation, "Workshop in Nakuru")
        rows = (await session.exec(select(ConversationSession).order_by(col(ConversationSession.id)))).all()
        for index, row in enumerate(rows):
            row.invite_id = radio.id if index % 3 == 0 else workshop.id if index % 3 == 1 else None
            session.add(row)
    summary = await live_summary(sqlite_database, "CHAN", flows, keys=RING)
    channels = [p.key for p in summary.tables.populations if p.key.startswith("channel:")]
    assert channels == ["channel:" + str(radio.id), "channel:" + str(workshop.id), "channel:none"]
    assert summary.population_labels[f"channel:{radio.id}"]["fr"] == "Radio spot"
    assert sum(summary.tables.counts[(c, "", RESPONDENTS)] or 0 for c in channels) == 60
    assert audit([summary.tables], exact=True).safe
    html = render(build_report(summary, "en"), "html").decode()
    assert "By invite channel" in html and "Workshop in Nakuru" in html


async def test_summaries_outlive_the_raw_answers(database: Database) -> None:
    await seed(database, "KEPT", people=40)
    async with database.transaction() as session:
        consultation = await repo.consultation_by_code(session, "KEPT")
        assert consultation is not None and consultation.id is not None
        cid = consultation.id
        await theme_store.save_theme(session, cid, "shelters", {"en": "Shelters", "fr": "Refuges"}, {"en": ["shelter"]})
        written = await theme_store.written_answers(session, cid, RING)
        for answer in written:
            if "helter" in answer.text:
                await theme_store.code_answer(session, cid, answer.answer_id, ["shelters"])
        await theme_store.decide(session, cid, written[0].answer_id, RING, quote=written[0].text)
        await theme_store.decide(session, cid, written[1].answer_id, RING, quote=None, rejected=True)
    before = await live_summary(database, "KEPT", flows, keys=RING)
    assert before.info("recommendation").row_labels["theme:shelters"]["fr"] == "Refuges"
    assert [q.text for q in before.quotes] == [written[0].text]

    async with database.transaction() as session:
        found = await session.get(Consultation, cid)
        assert found is not None
        await repo.close_consultation(session, found)
        found.closed_at = repo.now() - timedelta(days=400)
    report = await retention.purge(database)
    assert [c.code for c in report.consultations] == ["KEPT"]
    after = await live_summary(database, "KEPT", flows, keys=RING)
    assert after.tables.counts == before.tables.counts
    assert [q.text for q in after.quotes] == [written[0].text]  # the approved quote outlives its answer
    async with database.reader() as session:
        assert [q.text for q in await theme_store.approved_quotes(session, cid, RING)] == [written[0].text]
