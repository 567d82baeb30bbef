"""Bad input gets a clear, kind answer and loses nothing (each case from the foundation issue)."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from sandbox import SandboxMessage, SandboxUser
from storage import repository as repo
from storage.models import Answer, ConversationSession, Participant, ProcessedUpdate, ResultsOptIn
from tests.e2e.conftest import CODE, Harness, labels


async def at_group_question(h: Harness, language: str = "en") -> tuple[SandboxUser, SandboxMessage]:
    user = h.user(language=language)
    [consent] = await h.send(user, f"/start {CODE}")
    group = await h.agree(user, consent)
    return user, group


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice", "video", "location", "contact"])
async def test_media_gets_one_line_pointing_to_the_question_on_screen(harness: Harness, kind: str) -> None:
    """Issue 10, item 5: each sticker, photo or voice note sent the whole question again: three stickers left
    four live copies of it. Now one short line answers each, and the question stays the only one with buttons."""
    h = harness
    user, group = await at_group_question(h)
    for _ in range(3):
        h.emulator.user_sends(user, kind)
        [note] = await h.emulator.wait_for_bot_messages(user.id, 1)
        assert note.text == "Sorry, I can only read text and buttons here. Please answer the question above."
        assert not note.buttons
    with_buttons = [m for m in h.emulator.chat(user.id) if m.from_bot and m.buttons]
    assert [m.message_id for m in with_buttons] == [group.message_id]
    [awareness] = await h.press(user, group, "Other")  # the question on screen still works
    assert awareness.text and awareness.text.startswith("Have you heard")
    downloads = [c for c in h.emulator.api_calls if c.method.lower() == "getfile"]
    assert downloads == []
    async with h.database.reader() as session:
        [row] = (await session.exec(select(ConversationSession))).all()
        answers = (await session.exec(select(Answer))).all()
    assert row.state == "awareness" and [a.question_id for a in answers] == ["consent", "age", "group"]


async def test_a_lone_surrogate_is_read_not_apologised_for(harness: Harness) -> None:
    """Issue 10, item 8: text with a lone surrogate (a client can send `\\ud800` in JSON; UTF-8 cannot carry it)
    got the apology every time: it could not be redacted, encrypted, stored or logged. Now it is read, with the
    replacement character in its place, as an answer, a typed option and an invite code."""
    h = harness
    user, group = await at_group_question(h)
    note, _ = await h.send_raw_text(user, "\ud800", expect=2)  # not an option: asked again, kindly
    assert note.text == "Please choose one of the buttons below, or type its number."
    [message] = await h.press(user, group, "Skip")
    for _ in range(4):
        [message] = await h.press(user, message, "Skip")
    [thanks] = await h.send_raw_text(user, "Schools \ud83d and \udc00 jobs \U0001f600")
    assert thanks.text and thanks.text.startswith("Thank you.")
    [data] = await h.send(user, "/mydata")
    assert data.text and "Schools \ufffd and \ufffd jobs \U0001f600" in data.text
    [invalid] = await h.send(user, "/start E2E\ud800")
    assert invalid.text and invalid.text.startswith("This invite link is not valid")
    apology = "Sorry, something went wrong on our side."
    assert not [m for m in h.emulator.bot_messages(user.id) if apology in (m.text or "")]


async def test_unknown_command_gets_one_line(harness: Harness) -> None:
    h = harness
    user, _ = await at_group_question(h)
    [note] = await h.send(user, "/frobnicate")
    assert note.text == "Sorry, I do not know that command (/help lists them). Please answer the question above."
    assert not note.buttons


async def test_text_that_matches_no_option_reasks_with_buttons(harness: Harness) -> None:
    h = harness
    user, group = await at_group_question(h)
    note, again = await h.send(user, "banana", expect=2)
    assert note.text == "Please choose one of the buttons below, or type its number."
    assert labels(again) == labels(group)


async def test_whitespace_text_reasks_a_free_text_question(harness: Harness) -> None:
    h = harness
    user, msg = await at_group_question(h)
    for _ in range(5):
        [msg] = await h.press(user, msg, "Skip")
    assert msg.text and msg.text.startswith("What is the one thing")
    note, again = await h.send_raw_text(user, " \u200b \n \u2060 ", expect=2)
    assert note.text == "Please write your answer, or press “Skip”."
    assert again.text == msg.text


async def test_stale_button_is_acknowledged_and_changes_nothing(harness: Harness) -> None:
    h = harness
    user, group = await at_group_question(h)
    data = group.buttons[1]["callback_data"]  # a button of the question, kept (answered, it has none left)
    [awareness] = await h.press(user, group, "A community member")
    assert not group.buttons
    h.emulator.mark(user.id)
    note = await h.press_and_get_answer(user, group, data)
    assert note == "This button belongs to an earlier question."
    forged = await h.press_and_get_answer(user, group, "not-our-data")
    assert forged == "This button belongs to an earlier question."
    # nothing new was sent and the answer stands
    [priorities] = await h.press(user, awareness, "No, never")
    assert priorities.text and priorities.text.startswith("What should the plan do first?")
    async with h.database.reader() as session:
        answers = {a.question_id: a.choice_codes for a in (await session.exec(select(Answer))).all()}
    assert answers["group"] == "community_member"


async def test_forged_presses_give_no_consent_and_no_opt_in(harness: Harness) -> None:
    """Issue 10, item 13: a bare `<code>.0.y` press gave consent without /start, and `res:<code>` stored a results
    opt-in for a consultation never joined. Both are refused; nothing is stored."""
    h = harness
    user = h.user()
    welcome, _ = await h.send(user, "/help", expect=2)
    for data in (f"{CODE}.0.y", f"{CODE}.0.y.en.0123456789abcdef", f"res:{CODE}"):
        note = await h.press_and_get_answer(user, welcome, data)
        assert note == "This button belongs to an earlier question."
    async with h.database.reader() as session:
        assert (await session.exec(select(Participant))).all() == []
        assert (await session.exec(select(ResultsOptIn))).all() == []
    # a participant of the consultation (still answering) cannot opt in by a made-up press either
    [consent] = await h.send(user, f"/start {CODE}")
    await h.agree(user, consent)
    assert await h.press_and_get_answer(user, consent, f"res:{CODE}") == "This button belongs to an earlier question."
    async with h.database.reader() as session:
        assert (await session.exec(select(ResultsOptIn))).all() == []


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("/start NOSUCHCODE", "This invite link is not valid, or the consultation has closed."),
        ("/start", "Welcome. To take part, please open the invite link you were given."),
        ("/start ../../etc/passwd", "This invite link is not valid"),
    ],
)
async def test_start_without_a_valid_code_says_what_to_do(harness: Harness, start: str, expected: str) -> None:
    h = harness
    user = h.user()
    [reply] = await h.send(user, start)
    assert reply.text and reply.text.startswith(expected)


async def test_start_with_a_closed_consultation(harness: Harness) -> None:
    h = harness
    async with h.database.transaction() as session:
        consultation = await repo.consultation_by_code(session, CODE)
        assert consultation is not None
        await repo.close_consultation(session, consultation)
    user = h.user(language="fr")
    [reply] = await h.send(user, f"/start {CODE}")
    assert reply.text and reply.text.startswith("Ce lien d’invitation n’est pas valide")


async def test_the_same_update_twice_is_processed_once(harness: Harness) -> None:
    h = harness
    user, group = await at_group_question(h)
    payload = {
        "update_id": 900_000,
        "message": {
            "message_id": 9_000,
            "date": int(h.emulator.now()),
            "chat": {"id": user.id, "type": "private", "first_name": "Amina"},
            "from": {"id": user.id, "is_bot": False, "first_name": "Amina"},
            "text": "1",
        },
    }
    h.emulator.inject_update(payload)
    h.emulator.inject_update(payload)  # a webhook retry / replay of the same update_id
    [awareness] = await h.emulator.wait_for_bot_messages(user.id, 1)
    assert awareness.text and awareness.text.startswith("Have you heard")
    await h.emulator.wait_until(lambda: not h.emulator.pending_updates())
    # a sentinel: /help is answered; had the duplicate been processed, 'awareness' would have been answered
    # with "1" and a third question would have arrived before the help text
    [help_text] = await h.send(user, "/help")
    assert help_text.text and "/stop" in help_text.text
    async with h.database.reader() as session:
        answers = {a.question_id: a.choice_codes for a in (await session.exec(select(Answer))).all()}
        claimed = (await session.exec(select(ProcessedUpdate).where(ProcessedUpdate.update_id == 900_000))).all()
    assert answers == {"consent": "agree", "age": "25_34", "group": "survivor"}
    assert len(claimed) == 1


async def test_ten_thousand_characters_are_kept_up_to_the_limit(harness: Harness) -> None:
    h = harness
    user, msg = await at_group_question(h)
    for _ in range(5):
        [msg] = await h.press(user, msg, "Skip")
    long_text = ("word " * 2000)[:4096]  # Telegram itself cuts user messages at 4096 characters
    note, thanks = await h.send(user, long_text, expect=2)
    assert note.text and "first 2,000 characters" in note.text
    assert thanks.text and thanks.text.startswith("Thank you.")
    async with h.database.reader() as session:
        [row] = (await session.exec(select(ConversationSession))).all()
    assert row.status == "completed"


async def test_an_address_cut_by_the_length_limit_is_redacted_not_half_kept(harness: Harness) -> None:
    """The answer is redacted before it is cut to 2,000 characters: an e-mail address across the limit is not
    kept as its first part (which no longer looks like an address)."""
    from storage.privacy import KeyRing, answer_context

    h = harness
    user, msg = await at_group_question(h)
    for _ in range(5):
        [msg] = await h.press(user, msg, "Skip")
    text = "word " * 396 + "amina.wanjiru@example.org and some more words after it"
    assert text.index("amina") < 2000 < text.index(".org")  # the limit cuts the address in two
    note, _ = await h.send(user, text, expect=2)
    assert note.text and "first 2,000 characters" in note.text
    async with h.database.reader() as session:
        [row] = (await session.exec(select(ConversationSession))).all()
        [answer] = (await session.exec(select(Answer).where(col(Answer.text_cipher).is_not(None)))).all()
    assert row.id is not None and answer.text_cipher is not None and answer.key_id is not None
    context = answer_context(row.consultation_id, row.participant_id, row.id, answer.question_id)
    kept = KeyRing(h.secrets.keys).decrypt(answer.text_cipher, answer.key_id, context)
    assert "amina" not in kept and "wanjiru" not in kept
    assert "[email]" in kept and len(kept) <= 2000


async def test_ten_thousand_characters_through_the_service(harness: Harness) -> None:
    """Telegram never delivers more than 4096 characters, but our code must not depend on that."""
    from bot.telegram import outbox_sender
    from consultations.interactions import Answer, Begin, Press, Said, Sender

    assert harness.application is not None
    service = harness.application.bot_data["voices_service"]
    user = harness.user()
    await harness.send(user, "/help", expect=2)  # a chat the replies can be delivered to
    person = Sender(identity=user.id)
    consent = await service.handle(None, person, Begin(CODE))
    await service.handle(None, person, Press(consent.replies[0].options[0].action))  # "I agree", as shown
    await service.handle(None, person, Press(Answer(CODE, 1, "2")))  # an adult age band
    for index in range(2, 7):
        await service.handle(None, person, Press(Answer(CODE, index, "s")))
    await outbox_sender(harness.application).drain()  # the text question delivered: typing applies to it
    outcome = await service.handle(None, person, Said("é" * 10_000))
    assert "first 2,000 characters" in outcome.replies[0].text
    assert outcome.replies[-1].text.startswith("Thank you.")


async def test_restart_mid_conversation_continues_at_the_same_question(harness: Harness) -> None:
    h = harness
    user, group = await at_group_question(h)
    [awareness] = await h.press(user, group, "Other")
    await h.restart_bot()  # the process dies and comes back; state lives in the database
    [priorities] = await h.press(user, awareness, "I have heard of it")
    assert priorities.text and priorities.text.startswith("What should the plan do first?")
    async with h.database.reader() as session:
        answers = {a.question_id: a.choice_codes for a in (await session.exec(select(Answer))).all()}
    assert answers == {"consent": "agree", "age": "25_34", "group": "other", "awareness": "heard_of_it"}


async def test_group_chats_are_ignored(harness: Harness) -> None:
    h = harness
    user = h.user()
    h.emulator.inject_update(
        {
            "message": {
                "message_id": 1,
                "date": int(h.emulator.now()),
                "chat": {"id": -100123, "type": "group", "title": "Some group"},
                "from": {"id": user.id, "is_bot": False, "first_name": "Amina"},
                "text": f"/start {CODE}",
            }
        },
        record_messages=False,
    )
    await h.emulator.wait_until(lambda: not h.emulator.pending_updates())
    [reply] = await h.send(user, "/help")
    assert reply.text and "/start" in reply.text
    assert not [c for c in h.emulator.api_calls if c.method == "sendMessage" and c.params.get("chat_id") == -100123]


async def test_a_consultation_closed_mid_way_takes_no_more_answers_but_exit_still_works(harness: Harness) -> None:
    h = harness
    user, group = await at_group_question(h)
    async with h.database.transaction() as session:
        consultation = await repo.consultation_by_code(session, CODE)
        assert consultation is not None
        await repo.close_consultation(session, consultation)
    [closed] = await h.press(user, group, "Other")
    assert closed.text and closed.text.startswith("This consultation has closed")
    async with h.database.reader() as session:
        assert "group" not in {a.question_id for a in (await session.exec(select(Answer))).all()}
    h.emulator.user_presses_button(user, group.message_id, "Exit and clear chat")
    await h.emulator.wait_until(lambda: h.emulator.chat(user.id) == [])
