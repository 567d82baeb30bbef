"""Issue 10 (survivor safety), through the core alone: each item's test, named after it. Runs on SQLite and on a
real PostgreSQL server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from sqlmodel import select

from config.settings import Secrets
from consultations import lifecycle
from consultations.consent import consent_seal
from consultations.interactions import Answer, AskMyData, AskPrivacy, Begin, Do, Press, Reply, ResultsOptIn, Said
from consultations.service import ConversationService
from flows.engine import engine_for
from flows.events import Command, Notice
from flows.loader import shipped_library
from flows.steps.consent import question_count_text
from storage.database import Database
from storage.models import Answer as StoredAnswer
from storage.models import ConsentRecord, ConversationSession, Participant
from storage.models import ResultsOptIn as StoredOptIn
from storage.privacy import pseudonym
from tests.consultations.chat import Chat

SHIPPED_LANGUAGES = ["en", "fr", "es", "pt", "ar", "sw"]
CODE = "SAFE2026"
OTHER = "OTHER026"


@pytest.fixture
async def service(database: Database, secrets: Secrets) -> AsyncIterator[ConversationService]:
    library = shipped_library()
    for code, title in ((CODE, "Kenya roadmap"), (OTHER, "Another consultation")):
        new = lifecycle.plan(
            library,
            flow_id="roadmap_feedback",
            country="KE",
            title=title,
            languages=["en", "fr"],
            organisation="CSO Nairobi",
        )
        await lifecycle.open_consultation(database, new, code=code)
    yield ConversationService(database, library, secrets, max_text_length=200)


async def rows(database: Database) -> dict[str, int]:
    async with database.reader() as session:
        return {
            model.__tablename__: len((await session.exec(select(model))).all())
            for model in (Participant, ConversationSession, StoredAnswer, ConsentRecord, StoredOptIn)
        }


NOTHING = {"participant": 0, "session": 0, "answer": 0, "consent_record": 0, "results_opt_in": 0}


def question(chat: Chat) -> Reply:
    """The newest message on screen that offers choices."""
    return next(reply for _, reply in reversed(chat.screen) if reply.choices)


async def finish(chat: Chat, code: str = CODE, *, start: bool = True) -> None:
    """Consent, an adult age band, then every other question skipped, to the end (`start`: from the invite)."""
    if start:
        await chat.start(code)
        await chat.choose("I agree")
    if question(chat).text == "How old are you?":
        await chat.choose("25 to 34")
    while any(o.label == "Skip" for o in question(chat).choices):
        await chat.choose("Skip")
    assert chat.last.text.startswith("Thank you. Your answers are saved.")


async def test_item_1_the_language_chosen_on_the_consent_carries_into_the_session(
    service: ConversationService, database: Database
) -> None:
    chat = Chat(service, identity=8_100_001, language_code="en")
    await chat.start(CODE)
    assert chat.last.text.startswith("Hello.")
    await chat.choose("🌐 English")
    await chat.choose("Français")
    assert chat.last.text.startswith("Bonjour.")
    assert await rows(database) == NOTHING  # a language chosen before consent is held by the buttons only
    await chat.choose("J’accepte")
    assert chat.last.text == "Quel âge avez-vous ?"
    await chat.choose("25 à 34 ans")
    assert chat.last.text.startswith("De quel groupe faites-vous partie ?")
    async with database.reader() as session:
        [row] = (await session.exec(select(ConversationSession))).all()
    assert row.language == "fr"


async def test_item_1_declining_after_choosing_a_language_stores_nothing(
    service: ConversationService, database: Database
) -> None:
    chat = Chat(service, identity=8_100_002, language_code="en")
    await chat.start(CODE)
    await chat.choose("🌐 English")
    await chat.choose("Français")
    await chat.choose("Pas maintenant")
    assert "Rien n’a été enregistré." in chat.last.text
    assert await rows(database) == NOTHING


async def test_item_13_a_bare_consent_press_without_start_is_refused(
    service: ConversationService, database: Database, secrets: Secrets
) -> None:
    chat = Chat(service, identity=8_100_003)
    forged = await chat.send(Press(Answer(CODE, 0, "y")), on=1)
    assert forged.note is Notice.EARLIER_QUESTION and forged.replies == []
    # a seal made for someone else, or for another language than the one it names, is no better
    someone_else = consent_seal(secrets.pepper, pseudonym(secrets.pepper, 8_100_999), CODE, "en")
    for action in (
        Answer(CODE, 0, "y", "en", someone_else),
        Answer(CODE, 0, "y", "fr", consent_seal(secrets.pepper, pseudonym(secrets.pepper, chat.identity), CODE, "en")),
        Answer(CODE, 0, "y", "en", "0" * 16),
    ):
        refused = await chat.send(Press(action), on=1)
        assert refused.note is Notice.EARLIER_QUESTION and refused.replies == []
    assert await rows(database) == NOTHING
    # the consent this person was shown works, and only for them
    await chat.start(CODE)
    agree = chat.option("I agree")
    assert isinstance(agree.action, Answer) and agree.action.seal
    stranger = Chat(service, identity=8_100_004)
    assert (await stranger.send(Press(agree.action), on=1)).note is Notice.EARLIER_QUESTION
    await chat.choose("I agree")
    assert chat.last.text == "How old are you?"
    assert (await rows(database))["consent_record"] == 1


async def test_item_13_a_results_opt_in_for_a_consultation_never_joined_is_refused(
    service: ConversationService, database: Database
) -> None:
    chat = Chat(service, identity=8_100_005)
    await finish(chat)
    offered = chat.option("Tell me when the results are out")
    assert offered.action == ResultsOptIn(CODE)
    forged = await chat.send(Press(replace(offered.action, code=OTHER)), on=chat.screen[-1][0])
    assert forged.note is Notice.EARLIER_QUESTION and forged.replies == []
    assert (await rows(database))["results_opt_in"] == 0
    # nor one for a consultation still being answered: the opt-in is offered at its end
    other = Chat(service, identity=8_100_006)
    await other.start(OTHER)
    await other.choose("I agree")
    early = await other.send(Press(ResultsOptIn(OTHER)), on=other.screen[-1][0])
    assert early.note is Notice.EARLIER_QUESTION
    assert (await rows(database))["results_opt_in"] == 0
    # the real one is taken
    await chat.choose("Tell me when the results are out")
    assert chat.last.text.startswith("Thank you. You will get one message when the results are published")
    assert (await rows(database))["results_opt_in"] == 1


@pytest.mark.parametrize("how", ["/skip", "a made-up Skip press"])
async def test_item_3_skipping_the_age_question_keeps_nothing_like_under_18(
    service: ConversationService, database: Database, how: str
) -> None:
    chat = Chat(service, identity=8_100_007)
    await chat.start(CODE)
    await chat.choose("I agree")
    age = chat.last
    assert age.text == "How old are you?"
    assert "Skip" not in [o.label for o in age.choices]  # the one survivor question without Skip
    assert (await rows(database))["consent_record"] == 1
    if how == "/skip":
        ended = await chat.send(Do(Command.SKIP))
    else:
        ended = await chat.send(Press(Answer(CODE, 1, "s")), on=chat.screen[-1][0])
    texts = chat.texts(ended)
    assert any("This consultation is only for adults (18 and over), and we need to know that" in t for t in texts)
    assert texts[-1].startswith("If you need help or support")
    assert await rows(database) == NOTHING


async def test_item_4_after_the_end_back_and_skip_are_answered_for_what_they_are(
    service: ConversationService, database: Database
) -> None:
    chat = Chat(service, identity=8_100_008)
    await finish(chat)
    back = await chat.send(Do(Command.BACK))
    assert chat.texts(back) == [
        "You have finished this consultation, so there is no earlier question to go back to. "
        "/mydata shows your answers."
    ]
    skip = await chat.send(Do(Command.SKIP))
    assert chat.texts(skip) == [
        "You have finished this consultation, so there is no question to skip. /mydata shows your answers."
    ]
    finished = "You have finished this consultation. Thank you for taking part! /mydata shows your answers."
    for incoming in (Do(Command.PAUSE), Do(Command.STOP), Said("hello"), Begin(None)):
        assert chat.texts(await chat.send(incoming)) == [finished]
    # someone who never took part still needs an invite
    stranger = Chat(service, identity=8_100_009)
    assert chat.texts(await stranger.send(Do(Command.BACK))) == [
        "Welcome. To take part, please open the invite link you were given."
    ]


async def test_item_6_privacy_names_the_organisation_before_during_and_after(
    service: ConversationService, database: Database
) -> None:
    named = "Who: this consultation is run by CSO Nairobi."
    chat = Chat(service, identity=8_100_010, language_code="en")
    await chat.start(CODE)
    # before consent (nothing stored, so /privacy cannot know the consultation): the consent offers it
    assert [[o.label for o in group] for group in chat.last.controls][-1] == ["🌐 English", "🔒 Your privacy"]
    await chat.choose("🔒 Your privacy")
    assert named in chat.last.text
    await chat.choose("🌐 English")
    await chat.choose("Français")
    await chat.choose("🔒 Votre vie privée")
    assert "Qui : cette consultation est menée par CSO Nairobi." in chat.last.text
    assert await rows(database) == NOTHING
    # while answering, and once finished
    other = Chat(service, identity=8_100_011)
    await other.start(CODE)
    await other.choose("I agree")
    assert named in chat.texts(await other.send(AskPrivacy()))[0]
    await finish(other, start=False)
    assert named in chat.texts(await other.send(AskPrivacy()))[0]


async def test_item_5_a_tapped_option_is_shown_as_chosen_and_its_buttons_go(
    service: ConversationService, database: Database
) -> None:
    chat = Chat(service, identity=8_100_012)
    await chat.start(CODE)
    consent_id = chat.screen[-1][0]
    await chat.choose("I agree")
    agreed = dict(chat.screen)[consent_id]
    assert agreed.text.endswith("Do you agree to take part?\n\n✅ I agree") and not agreed.choices
    age_id = chat.screen[-1][0]
    await chat.choose("25 to 34")
    assert dict(chat.screen)[age_id] == Reply("How old are you?\n\n✅ 25 to 34", "en", replace=True)
    group_id = chat.screen[-1][0]
    await chat.choose("Skip")
    assert dict(chat.screen)[group_id].text.endswith("\n\n⏭ Skipped")
    await chat.choose("No, never")
    priorities_id = chat.screen[-1][0]
    await chat.choose("Fair jobs and pay")  # ticked: the question stays, with its buttons
    await chat.choose("Help and care for people")
    assert dict(chat.screen)[priorities_id].choices
    done = await chat.choose("Done")
    assert done.replies[0].replace and not done.replies[0].choices
    assert done.replies[0].text.endswith("\n\n✅ Help and care for people, Fair jobs and pay")
    # only the question being asked has buttons (and the way out) left
    assert [i for i, reply in chat.screen if reply.choices] == [chat.screen[-1][0]]


async def test_item_8_lone_surrogates_anywhere_in_an_input_are_read(
    service: ConversationService, database: Database
) -> None:
    chat = Chat(service, identity=8_100_013, language_code="f\udc00r")
    assert chat.texts(await chat.start("SAFE\ud800"))[0].startswith("This invite link is not valid")
    await chat.start(CODE)
    await chat.choose("I agree")
    await chat.say("2\ud800")  # not an age band: asked again
    assert question(chat).text == "How old are you?"
    await chat.choose("25 to 34")
    while question(chat).options:
        await chat.choose("Skip")
    await chat.say("More \ud800 schools")
    async with database.reader() as session:
        [stored] = [a for a in (await session.exec(select(StoredAnswer))).all() if a.text_cipher]
    assert stored.question_id == "recommendation"
    mine = await chat.send(AskMyData())
    assert "More \ufffd schools" in "\n".join(chat.texts(mine))


async def test_a_nul_in_an_invite_code_or_language_is_read_as_any_other_character(
    service: ConversationService, database: Database
) -> None:
    """PostgreSQL's text cannot hold NUL: a code or language code with one is an ordinary unknown one."""
    chat = Chat(service, identity=8_100_014, language_code="f\x00r")
    assert chat.texts(await chat.start("SAFE\x00"))[0].startswith("This invite link is not valid")
    assert chat.texts(await chat.start(CODE + "\x00"))[0].startswith("This invite link is not valid")
    await chat.start(CODE)
    await chat.choose("I agree")
    assert question(chat).text == "How old are you?"


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
async def test_item_7_the_consent_counts_the_questions_from_the_flow_and_names_pause(
    service: ConversationService, language: str
) -> None:
    flow = shipped_library().latest("roadmap_feedback")
    count = engine_for(flow).questions
    written = flow.steps[0].text[language]
    assert not re.search(rf"(?<!\d){count.number}(?!\d)", written), "the consent text states the count by hand"
    assert "/pause" in written and "/resume" in written
    chat = Chat(service, identity=8_100_100 + SHIPPED_LANGUAGES.index(language), language_code=language)
    shown = "\n".join(chat.texts(await chat.start(CODE)))
    if language in ("en", "fr"):  # the consultation's languages
        assert shown.count(question_count_text(count, language)) == 1
    if language == "en":
        assert "There are 7 questions." in shown and "Send /pause to take a break" in shown
        assert "/stop to pause" not in shown
