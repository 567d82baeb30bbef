"""A whole consultation through the core alone: consent, age band, answers, /back, /skip, /mydata, /delete, the
safe exit, with neutral inputs and no Telegram object anywhere (a second channel would reuse the core unchanged).
Runs on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

from config.settings import Secrets
from consultations import lifecycle
from consultations.interactions import (
    Answer,
    AskDelete,
    AskMyData,
    Do,
    Exit,
    Other,
    Outcome,
    Press,
    ResultsOptIn,
    Said,
)
from consultations.service import ConversationService
from flows.events import Command, Notice
from flows.loader import shipped_library
from storage import invites, privacy_ops
from storage import repository as repo
from storage.database import Database
from storage.models import Answer as StoredAnswer
from storage.models import ConversationSession
from storage.privacy import pseudonym
from tests.consultations.chat import Chat

CODE = "CORE2026"


@pytest.fixture
async def service(database: Database, secrets: Secrets) -> AsyncIterator[ConversationService]:
    library = shipped_library()
    new = lifecycle.plan(
        library,
        flow_id="roadmap_feedback",
        country="KE",
        title="Kenya roadmap",
        languages=["en", "fr"],
        organisation="CSO Nairobi",
    )
    await lifecycle.open_consultation(database, new, code=CODE)
    yield ConversationService(database, library, secrets, max_text_length=200)


async def stored_answers(database: Database) -> dict[str, str | None]:
    async with database.reader() as session:
        rows = (await session.exec(select(StoredAnswer))).all()
    return {a.question_id: "(text)" if a.text_cipher else ("(skipped)" if a.skipped else a.choice_codes) for a in rows}


async def test_a_whole_consultation_through_the_core_alone(
    service: ConversationService, database: Database, secrets: Secrets
) -> None:
    chat = Chat(service, identity=7_700_001)
    key = pseudonym(secrets.pepper, chat.identity)

    # the invite, typed in lower case: consent first, naming the organisation and how long answers are kept
    await chat.start(CODE.lower())
    consent = chat.last
    assert "This consultation is run by CSO Nairobi. Your answers are kept until 180 days" in consent.text
    assert consent.text.endswith("\n\nDo you agree to take part?")
    assert [o.label for o in consent.options] == ["I agree", "Not now"]
    assert [[o.label for o in group] for group in consent.controls] == [
        ["Exit and clear chat"],
        ["🌐 English", "🔒 Your privacy"],
    ]
    async with database.reader() as session:
        assert await privacy_ops.participant_data(session, key, service.keys) is None  # nothing before consent

    # consent, then the age band
    await chat.choose("I agree")
    age = chat.last
    assert age.text == "How old are you?"
    assert [(o.label, o.number) for o in age.options][:2] == [("Under 18", 1), ("18 to 24", 2)]
    await chat.choose("25 to 34")
    assert chat.last.text.startswith("Which group are you part of?")

    # an answer, then /back to change it
    await chat.choose("Other")
    assert chat.last.text.startswith("Have you heard of your country’s national plan")
    back = await chat.send(Do(Command.BACK))
    assert chat.texts(back)[0] == "Going back to the previous question."
    assert back.replies[1].text.startswith("Which group are you part of?")
    await chat.choose("A family member")

    # /skip, a multiple choice (ticked in place, then Done), a typed number, the Skip control
    skipped = await chat.send(Do(Command.SKIP))
    assert skipped.replies[-1].text.startswith("What should the plan do first?")
    ticked = await chat.choose("Fair jobs and pay")
    assert ticked.replies[0].replace
    assert [o.label for o in chat.last.options if o.selected] == ["Fair jobs and pay"]
    await chat.choose("Done")
    assert chat.last.text.startswith("Where you live, how easy is it")
    await chat.say("2")  # the second option, typed
    assert chat.last.text.startswith("Do you think people with lived experience were asked")
    await chat.choose("Skip")

    # something the core cannot read: one notice the channel words itself; the question is on screen already
    unreadable = await chat.send(Other("sticker"))
    assert [r.notice for r in unreadable.replies] == [Notice.QUESTION_ABOVE] and unreadable.replies[0].text == ""

    # a written answer: the phone number is removed before it is stored, encrypted
    done = await chat.say("Train labour inspectors. Call me on +254 712 345 678")
    assert done.replies[-1].text.startswith("Thank you. Your answers are saved.")
    results = chat.option("Tell me when the results are out")
    assert results.action == ResultsOptIn(CODE)
    assert await stored_answers(database) == {
        "consent": "agree",
        "age": "25_34",
        "group": "family_member",
        "awareness": "(skipped)",
        "priorities": "decent_work",
        "services_access": "hard",
        "survivors_included": "(skipped)",
        "recommendation": "(text)",
    }

    # an earlier question's option changes nothing, and the person is told
    stale = await chat.send(Press(Answer(CODE, 2, "0")))
    assert stale.note is Notice.EARLIER_QUESTION and not stale.replies
    assert (await stored_answers(database))["group"] == "family_member"

    # the results opt-in, then /mydata shows everything, in words
    await chat.choose("Tell me when the results are out")
    mine = await chat.send(AskMyData())
    shown = "\n".join(chat.texts(mine))
    for expected in (
        "【Kenya roadmap】",
        "A family member",
        "Fair jobs and pay",
        "Hard",
        "(skipped)",
        "Train labour inspectors. Call me on",
        "You asked for one message when the results are published.",
        "Status: completed.",
    ):
        assert expected in shown
    assert "712 345 678" not in shown

    # /delete, confirmed: nothing is left
    prompt = await chat.send(AskDelete())
    assert [o.label for o in prompt.replies[0].options] == ["Yes, delete everything", "No, keep my answers"]
    erased = await chat.choose("Yes, delete everything")
    assert chat.texts(erased)[0].startswith("Done. Everything you gave has been deleted.")
    async with database.reader() as session:
        assert await privacy_ops.participant_data(session, key, service.keys) is None
    assert await stored_answers(database) == {}

    # every outcome is plain data: it survives JSON unchanged (what an outbox would keep until it is sent)
    assert all(Outcome.from_json(outcome.to_json()) == outcome for outcome in chat.outcomes)


async def test_the_safe_exit_deletes_every_message_and_stops_the_session(
    service: ConversationService, database: Database
) -> None:
    chat = Chat(service, identity=7_700_002)
    await chat.start(CODE)
    await chat.choose("I agree")
    await chat.choose("35 to 49")
    before = [message_id for message_id, _ in chat.screen]
    left = await chat.send(Exit())
    assert left.replies == [] and set(before) <= set(left.delete_ids) and chat.screen == []
    async with database.reader() as session:
        [row] = (await session.exec(select(ConversationSession))).all()
    assert row.status == "stopped"
    again = await chat.start()
    assert chat.texts(again)[0] == "Welcome back. Let’s continue where you left off."


async def test_under_18_keeps_nothing_and_gives_help_resources_only(
    service: ConversationService, database: Database, secrets: Secrets
) -> None:
    chat = Chat(service, identity=7_700_003)
    await chat.start(CODE)
    await chat.choose("I agree")
    refused = await chat.choose("Under 18")
    assert chat.texts(refused)[0] == "How old are you?\n\n✅ Under 18"  # the question, answered: no buttons left
    assert chat.texts(refused)[1].startswith("Thank you for wanting to help. This consultation is only for adults")
    assert chat.texts(refused)[-1].startswith("If you need help or support")
    assert await stored_answers(database) == {}
    async with database.reader() as session:
        assert (
            await privacy_ops.participant_data(session, pseudonym(secrets.pepper, chat.identity), service.keys) is None
        )


async def test_a_session_remembers_the_invite_it_came_through(service: ConversationService, database: Database) -> None:
    async with database.transaction() as session:
        consultation = await repo.consultation_by_code(session, CODE)
        assert consultation is not None
        radio = await invites.create_invite(session, consultation, "radio spot", code="RADIO26")
    chat = Chat(service, identity=7_700_004, language_code="fr-FR")
    await chat.start("radio26")
    consent = chat.last
    assert consent.text.startswith("Bonjour.")  # the person's language, from their app
    agree = consent.options[0]
    assert isinstance(agree.action, Answer) and agree.action.scope == "RADIO26"
    await chat.choose(agree.label)
    async with database.reader() as session:
        [row] = (await session.exec(select(ConversationSession))).all()
    assert row.invite_id == radio.id and row.language == "fr"
    # after consent, choices name the consultation itself
    assert {o.action.scope for o in chat.last.choices if isinstance(o.action, Answer)} == {CODE}


async def test_a_revoked_or_unknown_invite_opens_nothing(service: ConversationService, database: Database) -> None:
    async with database.transaction() as session:
        invite = await invites.invite_by_code(session, CODE)
        assert invite is not None
        await invites.revoke_invite(session, invite)
    chat = Chat(service, identity=7_700_005)
    for code in (CODE, "NOSUCHCODE"):
        refused = await chat.start(code)
        assert chat.texts(refused) == [
            "This invite link is not valid, or the consultation has closed. "
            "Please ask the organisation that shared it with you for a new link."
        ]


async def test_typed_text_before_consent_stores_nothing(service: ConversationService, database: Database) -> None:
    chat = Chat(service, identity=7_700_006)
    await chat.start(CODE)
    said = await chat.send(Said("hello"))
    assert chat.texts(said) == ["Welcome. To take part, please open the invite link you were given."]
    declined = await chat.choose("Not now")
    assert declined.replies[0].text and not declined.replies[0].choices
    assert await stored_answers(database) == {}
    async with database.reader() as session:
        assert (await session.exec(select(ConversationSession))).all() == []
