"""Numbers typed into integer and decimal questions, through the real bot (issue 10, item 8): a value outside the
step's bounds is asked again and never stored, however long; one within them is stored as a number, and /mydata
and summaries publish numbers only as bins (tests/summaries/test_numbers.py)."""

from __future__ import annotations

from sqlmodel import select

from flows.loader import FlowLibrary, parse_flow
from storage import repository as repo
from storage.models import Answer
from tests.e2e.conftest import Harness, sqlite_files
from tests.e2e.test_questionnaires import consented

PHONE = "254712345678"
STAFF = {
    "spec_version": 2,
    "id": "staff",
    "version": 1,
    "audience": "cso",
    "languages": ["en"],
    "default_language": "en",
    "title": {"en": "Staff"},
    "steps": [
        {"id": "consent", "type": "consent", "version": 1, "text": {"en": "Agree?"}, "decline_text": {"en": "Ok."}},
        {"id": "staff", "type": "integer", "text": {"en": "How many staff?"}, "min": 0, "max": 5000},
        {"id": "share", "type": "decimal", "text": {"en": "What share is paid?"}, "min": 0, "max": 100},
        {"id": "bye", "type": "end", "text": {"en": "Thanks."}},
    ],
}


async def test_numbers_outside_their_bounds_are_asked_again_and_never_stored(harness: Harness) -> None:
    h = harness
    h.library = FlowLibrary([parse_flow(STAFF, "staff")])
    await h.restart_bot()
    async with h.database.transaction() as session:
        await repo.create_consultation(
            session,
            code="STAFF1",
            title="Staff",
            country="KE",
            flow_id="staff",
            flow_version=1,
            languages=["en"],
            default_language="en",
        )
    user, question = await consented(h, "STAFF1")
    assert question.text == "How many staff?"
    for typed in (PHONE, "-3", "1e9", "12.5", "9" * 400):
        note, again = await h.send(user, typed, expect=2)
        assert note.text == "Please send a whole number from 0 to 5,000.", typed
        assert again.text == "How many staff?"
    async with h.database.reader() as session:
        assert [a.question_id for a in (await session.exec(select(Answer))).all()] == ["consent"]
    [share] = await h.send(user, "1 200")
    assert share.text == "What share is paid?"
    note, _ = await h.send(user, "100,5", expect=2)
    assert note.text == "Please send a number from 0 to 100."
    [thanks] = await h.send(user, "12,50")
    assert thanks.text == "Thanks."

    async with h.database.reader() as session:
        stored = {a.question_id: a.choice_codes for a in (await session.exec(select(Answer))).all()}
    assert stored == {"consent": "agree", "staff": "1200", "share": "12.5"}
    [mine] = await h.send(user, "/mydata")
    assert mine.text and "How many staff?\n   1200" in mine.text and "What share is paid?\n   12.5" in mine.text
    await h.database.dispose()  # everything on disk, WAL included
    blob = b"".join(path.read_bytes() for path in sqlite_files(h.database))
    assert PHONE.encode() not in blob
