"""The complete engine through the real bot: navigation commands, branching, validation, paging, versions."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select, update

from flows.loader import FlowLibrary, parse_flow, shipped_library
from sandbox import SandboxMessage, SandboxUser
from storage import repository as repo
from storage.models import Answer, ConversationSession
from tests.e2e.conftest import CODE, Harness, labels


async def answers(h: Harness) -> dict[str, str | None]:
    async with h.database.reader() as session:
        rows = (await session.exec(select(Answer))).all()
    return {a.question_id: ("<skipped>" if a.skipped else a.choice_codes or "<text>") for a in rows}


async def consented(h: Harness, code: str = CODE, **user: str) -> tuple[SandboxUser, SandboxMessage]:
    person = h.user(**user)
    [consent] = await h.send(person, f"/start {code}")
    first = await h.agree(person, consent)
    return person, first


async def test_back_lets_a_participant_change_an_answer(harness: Harness) -> None:
    h = harness
    user, group = await consented(h)
    asked = group.text
    [awareness] = await h.press(user, group, "Other")
    assert group.text == f"{asked}\n\n✅ Other" and not group.buttons  # the answered question, edited
    going, again = await h.send(user, "/back", expect=2)
    assert going.text == "Going back to the previous question."
    assert again.text == asked
    [awareness2] = await h.press(user, again, "A family member")
    assert awareness2.text and awareness.text and awareness2.text == awareness.text.split("\n\n✅")[0]
    assert (await answers(h))["group"] == "family_member"
    # back to the group question, then the age band, then there is nothing earlier (consent is not a question)
    await h.send(user, "/back", expect=2)
    _, age = await h.send(user, "/back", expect=2)
    assert age.text == "How old are you?"
    note, same = await h.send(user, "/back", expect=2)
    assert note.text == "There is no earlier question." and same.text == age.text


async def test_pause_and_resume(harness: Harness) -> None:
    h = harness
    user, group = await consented(h)
    [paused] = await h.send(user, "/pause")
    assert paused.text and "/resume" in paused.text
    welcome, again = await h.send(user, "/resume", expect=2)
    assert welcome.text and welcome.text.startswith("Welcome back") and again.text == group.text


async def test_an_idle_session_expires_and_says_so_when_the_person_returns(harness: Harness) -> None:
    h = harness
    user, group = await consented(h)
    await h.press(user, group, "Other")
    async with h.database.transaction() as session:
        await session.exec(update(ConversationSession).values(updated_at=repo.now() - timedelta(hours=73)))
    [closed] = await h.send(user, "hello")
    assert closed.text and "quiet for more than 72 hours" in closed.text and "answers so far are kept" in closed.text
    welcome, again = await h.send(user, "/start", expect=2)
    assert again.text and again.text.startswith("Have you heard")
    assert (await answers(h))["group"] == "other"


async def test_cso_review_branches_on_chosen_areas_and_validates(harness: Harness) -> None:
    h = harness
    flow = shipped_library().latest("progress_report_review")
    async with h.database.transaction() as session:
        await repo.create_consultation(
            session,
            code="REVIEW1",
            title="Review",
            country="PE",
            flow_id=flow.id,
            flow_version=flow.version,
            languages=["en"],
            default_language="en",
        )
    user, areas = await consented(h, "REVIEW1")  # a CSO flow asks no participant-group question (issue 10.19)
    assert areas.text and areas.text.startswith("Which priority areas")
    await h.press(user, areas, "Justice and law enforcement", expect=0)
    await h.emulator.wait_until(
        lambda: any(label.startswith("✅") for label in labels(h.emulator.message(user.id, areas.message_id)))
    )
    section, rating = await h.press(user, areas, "Done", expect=2)
    assert section.text == "— Justice and law enforcement —"
    assert rating.text and rating.text.startswith("Justice and law enforcement: how much progress")
    assert labels(rating)[:5] == ["1", "2", "3", "4", "5"]
    note, again = await h.send(user, "9", expect=2)
    assert "type its number" in (note.text or "") and again.text == rating.text
    [evidence] = await h.press(user, rating, "4")
    [survivors] = await h.send(user, "A new anti-trafficking law was passed.")
    [recommendation] = await h.press(user, survivors, "No")
    [budget] = await h.press(user, recommendation, "Skip")
    assert budget.text and budget.text.startswith("Is there enough money")  # the other four areas were passed
    stored = await answers(h)
    assert stored["areas"] == "justice" and stored["justice_progress"] == "4" and stored["justice_survivors"] == "no"
    assert stored["justice_evidence"] == "<text>" and "laws_progress" not in stored


async def test_long_option_lists_are_paged(harness: Harness) -> None:
    h = harness
    document = {
        "spec_version": 2,
        "id": "long_list",
        "version": 1,
        "audience": "cso",
        "languages": ["en"],
        "default_language": "en",
        "title": {"en": "Long"},
        "steps": [
            {"id": "consent", "type": "consent", "version": 1, "text": {"en": "Agree?"}, "decline_text": {"en": "Ok."}},
            {
                "id": "district",
                "type": "single_choice",
                "text": {"en": "Which district?"},
                "options": [{"code": f"d{n:02d}", "label": {"en": f"District {n:02d}"}} for n in range(1, 26)],
            },
            {"id": "bye", "type": "end", "text": {"en": "Thanks."}},
        ],
    }
    h.library = FlowLibrary([parse_flow(document, "long_list")])
    await h.restart_bot()
    async with h.database.transaction() as session:
        await repo.create_consultation(
            session,
            code="LONG1",
            title="Long",
            country="KE",
            flow_id="long_list",
            flow_version=1,
            languages=["en"],
            default_language="en",
        )
    user, question = await consented(h, "LONG1")
    assert "District 10" in labels(question) and "District 11" not in labels(question)
    assert question.reply_markup is not None
    assert all(len(row) <= 8 for row in question.reply_markup["inline_keyboard"])
    await h.press(user, question, "More ▶", expect=0)
    await h.emulator.wait_until(lambda: "District 11" in labels(h.emulator.message(user.id, question.message_id)))
    paged = h.emulator.message(user.id, question.message_id)
    assert paged is not None
    [thanks] = await h.press(user, paged, "District 13")
    assert thanks.text == "Thanks."
    assert (await answers(h))["district"] == "d13"


async def test_people_already_answering_finish_on_the_version_they_started(harness: Harness) -> None:
    h = harness
    base = shipped_library().latest("roadmap_feedback")
    newer = parse_flow(
        {
            **base.model_dump(mode="json", by_alias=True, exclude_none=True),
            "version": base.version + 1,
            "steps": [
                s
                for s in base.model_dump(mode="json", by_alias=True, exclude_none=True)["steps"]
                if s["id"] != "awareness"
            ],
        },
        "v2",
    )
    h.library = FlowLibrary([base, newer])
    await h.restart_bot()
    early, group = await consented(h)
    async with h.database.transaction() as session:
        consultation = await repo.consultation_by_code(session, CODE)
        assert consultation is not None
        consultation.flow_version = base.version + 1  # what `consultation upgrade-flow` does
        session.add(consultation)
    [awareness] = await h.press(early, group, "Other")
    assert awareness.text and awareness.text.startswith("Have you heard")  # still the version started
    late, group2 = await consented(h)
    [priorities] = await h.press(late, group2, "Other")
    assert priorities.text and priorities.text.startswith("What should the plan do first?")  # the newer one
    async with h.database.reader() as session:
        versions = sorted((await session.exec(select(col(ConversationSession.flow_version)))).all())
    assert versions == [base.version, base.version + 1]
