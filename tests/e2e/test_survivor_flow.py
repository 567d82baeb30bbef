"""A survivor completes roadmap_feedback through the real bot and the emulator, in English and in French."""

from __future__ import annotations

from sqlmodel import select

from flows.events import Command
from sandbox import SandboxMessage, SandboxUser
from storage import repository as repo
from storage.models import Answer, ConsentRecord, ConversationSession, Participant
from storage.privacy import KeyRing, answer_context
from tests.e2e.conftest import CODE, EXIT_LABEL, Harness, labels, sqlite_files


async def test_survivor_completes_the_flow_in_english_by_buttons_and_text(any_harness: Harness) -> None:
    h = any_harness
    amina = h.user("Amina", username="amina_canary_user")
    [consent] = await h.send(amina, f"/start {CODE}")
    assert "private survey" in (consent.text or "")
    assert labels(consent) == ["I agree", "Not now", EXIT_LABEL["en"], "🌐 English", "🔒 Your privacy"]
    group = await h.agree(amina, consent)
    assert group.text and group.text.startswith("Which group are you part of?")
    assert "Skip" in labels(group)
    [awareness] = await h.press(amina, group, "A person with lived experience")
    [priorities] = await h.press(amina, awareness, "I have heard of it")
    await tap_until_shown(h, amina, priorities, "Help and care for people", "✅ Help and care for people")
    await tap_until_shown(h, amina, priorities, "Fair jobs and pay", "✅ Fair jobs and pay")
    [services] = await h.press(amina, priorities, "Done")
    [included] = await h.press(amina, services, "Skip")
    [recommendation] = await h.send(amina, "no")  # typed label of a button
    assert recommendation.text and recommendation.text.startswith("What is the one thing")
    [thanks] = await h.send(amina, "More labour inspectors, call +254 712 345 678 canaryword")
    assert thanks.text and thanks.text.startswith("Thank you.") and "No one will see your name" in thanks.text
    # issue 10, item 2: the last message ("You can close this chat now") has a button, so it has the way out
    assert labels(thanks) == ["Tell me when the results are out", EXIT_LABEL["en"]]

    # every bot message is protected content
    assert all(m.protect_content for m in h.emulator.bot_messages(amina.id))

    async with h.database.reader() as session:
        [row] = (await session.exec(select(ConversationSession))).all()
        answers = {a.question_id: a for a in (await session.exec(select(Answer))).all()}
        assert len((await session.exec(select(ConsentRecord))).all()) == 1
        [participant] = (await session.exec(select(Participant))).all()
    assert row.status == "completed" and row.language == "en"
    assert answers["group"].choice_codes == "survivor"
    assert answers["awareness"].choice_codes == "heard_of_it"
    assert answers["priorities"].choice_codes == "support_services decent_work"
    assert answers["services_access"].skipped
    assert answers["survivors_included"].choice_codes == "not_included"
    stored = answers["recommendation"]
    assert stored.text_cipher is not None and stored.key_id == "k1"
    assert row.id is not None
    context = answer_context(row.consultation_id, row.participant_id, row.id, "recommendation")
    text = KeyRing(h.secrets.keys).decrypt(stored.text_cipher, stored.key_id, context)
    assert text == "More labour inspectors, call [phone] canaryword"
    assert str(amina.id) not in participant.pseudonym


async def tap_until_shown(h: Harness, user: SandboxUser, message: SandboxMessage, label: str, shown: str) -> None:
    """Tap the button `label` on a multiple choice's message and wait until it carries a button `shown`."""
    await h.press(user, message, label, expect=0)
    await h.emulator.wait_until(lambda: shown in labels(h.emulator.message(user.id, message.message_id)))


async def test_database_file_holds_no_identity_or_plaintext(harness: Harness) -> None:
    h = harness
    user = h.user("Zawadi-Canary", username="zawadi_canary_handle", language="en")
    [consent] = await h.send(user, f"/start {CODE}")
    group = await h.agree(user, consent)
    for _ in range(4):
        [group] = await h.press(user, group, "Skip")
    await h.send(user, "Protect workers uniqueplainword99 please")
    await h.database.dispose()  # flush the WAL into the file as it would be on disk
    blob = b"".join(p.read_bytes() for p in sqlite_files(h.database))
    for needle in (str(user.id), "zawadi_canary_handle", "Zawadi-Canary", "uniqueplainword99"):
        assert needle.encode() not in blob, needle


async def test_french_participant_gets_french_and_can_type_labels(harness: Harness) -> None:
    h = harness
    pierre = h.user("Pierre", language="fr")
    [consent] = await h.send(pierre, f"/start {CODE}")
    assert consent.text and consent.text.startswith("Bonjour.")
    assert labels(consent) == ["J’accepte", "Pas maintenant", EXIT_LABEL["fr"], "🌐 Français", "🔒 Votre vie privée"]
    group = await h.agree(pierre, consent)
    assert group.text and group.text.startswith("De quel groupe")
    [awareness] = await h.send(pierre, "3")  # by number: Un membre de la communauté
    [priorities] = await h.send(pierre, "non, jamais")  # by label, any case
    assert priorities.text and "Terminé" in priorities.text
    [services] = await h.press(pierre, priorities, "Passer")
    [included] = await h.press(pierre, services, "Difficile")
    [recommendation] = await h.press(pierre, included, "Un peu")
    [thanks] = await h.send(pierre, "Plus d’écoles dans les villages")
    assert thanks.text and thanks.text.startswith("Merci.")
    async with h.database.reader() as session:
        answers = {a.question_id: a for a in (await session.exec(select(Answer))).all()}
    assert answers["group"].choice_codes == "community_member"
    assert answers["awareness"].choice_codes == "not_heard"
    assert answers["services_access"].choice_codes == "hard"
    assert recommendation.text and recommendation.text.startswith("Quelle est")


async def test_declining_consent_stores_nothing(harness: Harness) -> None:
    h = harness
    user = h.user()
    [consent] = await h.send(user, f"/start {CODE}")
    [declined] = await h.press(user, consent, "Not now")
    assert declined.text and "Nothing was saved" in declined.text
    async with h.database.reader() as session:
        assert (await session.exec(select(Participant))).all() == []
        assert (await session.exec(select(ConversationSession))).all() == []
        assert (await session.exec(select(ConsentRecord))).all() == []


async def test_stop_keeps_answers_and_start_resumes_at_the_same_question(harness: Harness) -> None:
    h = harness
    user = h.user()
    [consent] = await h.send(user, f"/start {CODE}")
    group = await h.agree(user, consent)
    [awareness] = await h.press(user, group, "A family member")
    [stopped] = await h.send(user, "/stop")
    assert stopped.text and "answers so far are kept" in stopped.text
    [paused_note] = await h.send(user, "hello?")
    assert paused_note.text and "/start" in paused_note.text
    welcome, again = await h.send(user, "/start", expect=2)
    assert welcome.text and welcome.text.startswith("Welcome back")
    assert again.text == awareness.text
    [priorities] = await h.press(user, again, "No, never")
    assert priorities.text and priorities.text.startswith("What should the plan do first?")
    async with h.database.reader() as session:
        answers = {a.question_id: a.choice_codes for a in (await session.exec(select(Answer))).all()}
    assert answers == {"consent": "agree", "age": "25_34", "group": "family_member", "awareness": "not_heard"}


async def test_the_skip_command_skips_the_current_question(harness: Harness) -> None:
    h = harness
    user = h.user()
    [consent] = await h.send(user, f"/start {CODE}")
    await h.agree(user, consent)
    [awareness] = await h.send(user, f"/{Command.SKIP}")
    assert awareness.text and awareness.text.startswith("Have you heard")


async def test_completed_participant_is_thanked_not_asked_again(harness: Harness) -> None:
    h = harness
    user = h.user()
    [msg] = await h.send(user, f"/start {CODE}")
    msg = await h.agree(user, msg)
    for _ in range(6):
        [msg] = await h.press(user, msg, "Skip")
    assert msg.text and msg.text.startswith("Thank you.")
    [again] = await h.send(user, f"/start {CODE}")
    assert again.text and "already taken part" in again.text
    async with h.database.reader() as session:
        assert await repo.respondent_count(session, 1) == 1


async def test_an_option_tapped_twice_on_a_slow_connection_stays_ticked(any_harness: Harness) -> None:
    """A second tap while the first is on its way (the tick not shown yet) is what a person on a slow network
    does: the button says "tick this", so the option ends ticked, not ticked and unticked again."""
    h = any_harness
    nadia = h.user("Nadia")
    [consent] = await h.send(nadia, f"/start {CODE}")
    group = await h.agree(nadia, consent)
    [awareness] = await h.press(nadia, group, "A person with lived experience")
    [priorities] = await h.press(nadia, awareness, "I have heard of it")
    h.emulator.faults.slow("editMessageText", 1.0, times=2)  # the tick takes a second to show
    edits = len(h.emulator.calls("editMessageText"))
    taps = [h.emulator.user_presses_button(nadia, priorities.message_id, "Fair jobs and pay") for _ in range(2)]
    for tap in taps:
        await h.emulator.wait_callback_answered(h.emulator.callback_query_id(tap))
    await h.emulator.wait_until(lambda: len(h.emulator.calls("editMessageText")) == edits + 2)
    assert "✅ Fair jobs and pay" in labels(h.emulator.message(nadia.id, priorities.message_id))
    # a tap on a tick shown takes it away
    await tap_until_shown(h, nadia, priorities, "Help and care for people", "✅ Help and care for people")
    await tap_until_shown(h, nadia, priorities, "✅ Help and care for people", "Help and care for people")
    [services] = await h.press(nadia, priorities, "Done")
    assert services.text and services.text.startswith("Where you live, how easy")
    async with h.database.reader() as session:
        answers = {a.question_id: a for a in (await session.exec(select(Answer))).all()}
    assert answers["priorities"].choice_codes == "decent_work"
    assert not answers["priorities"].skipped
