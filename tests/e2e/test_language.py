"""Choosing the language: Telegram's language first, a one-tap change, /language at any time, remembered."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Answer, Participant
from tests.e2e.conftest import CODE, Harness, labels


async def test_telegram_language_is_negotiated_against_the_consultation(harness: Harness) -> None:
    h = harness
    for code, expected in (("fr-CA", "Bonjour."), ("pt-br", "Hello."), (None, "Hello.")):
        user = h.user(language=code)
        [consent] = await h.send(user, f"/start {CODE}")
        assert consent.text and consent.text.startswith(expected), code


async def test_changing_language_before_consent_stores_nothing(harness: Harness) -> None:
    h = harness
    user = h.user(language="fr")
    [consent] = await h.send(user, f"/start {CODE}")
    assert "🌐 Français" in labels(consent)
    [picker] = await h.press(user, consent, "🌐 Français")
    assert picker.text == "Choisissez votre langue :"
    assert labels(picker) == ["English", "Français", "Quitter et effacer la discussion"]
    [english] = await h.press(user, picker, "English")
    assert english.text and english.text.startswith("Hello.") and labels(english)[0] == "I agree"
    async with h.database.reader() as session:
        assert (await session.exec(select(Participant))).all() == []


async def test_the_language_chosen_on_the_consent_is_kept_after_agreeing(harness: Harness) -> None:
    """Issue 10, item 1: Telegram in English, "🌐 English" → Français on the consent, "J’accepte": every later
    question was English. The language travels on the consent's buttons (nothing is stored before consent)."""
    h = harness
    user = h.user(language="en")
    [consent] = await h.send(user, f"/start {CODE}")
    [picker] = await h.press(user, consent, "🌐 English")
    [french] = await h.press(user, picker, "Français")
    async with h.database.reader() as session:
        assert (await session.exec(select(Participant))).all() == []
    [age] = await h.press(user, french, "J’accepte")
    assert age.text == "Quel âge avez-vous ?"
    [group] = await h.press(user, age, "25 à 34 ans")
    assert group.text and group.text.startswith("De quel groupe faites-vous partie ?")


async def test_language_mid_flow_reshows_the_question_and_is_remembered(harness: Harness) -> None:
    h = harness
    user = h.user(language="en")
    [consent] = await h.send(user, f"/start {CODE}")
    group = await h.agree(user, consent)
    [awareness] = await h.press(user, group, "Other")
    [picker] = await h.send(user, "/language")
    assert picker.text == "Choose your language:"
    [again] = await h.press(user, picker, "Français")
    assert again.text and again.text.startswith("Avez-vous entendu parler")
    assert "Passer" in labels(again)
    await h.restart_bot()
    [priorities] = await h.press(user, again, "J’en ai entendu parler")
    assert priorities.text and priorities.text.startswith("Que doit faire le plan")
    [help_text] = await h.send(user, "/help")
    assert help_text.text and help_text.text.startswith("Ce bot recueille")
    async with h.database.reader() as session:
        [participant] = (await session.exec(select(Participant))).all()
        stored = {a.question_id: a.choice_codes for a in (await session.exec(select(Answer))).all()}
    assert participant.language == "fr"
    assert stored["group"] == "other" and stored["awareness"] == "heard_of_it"
    del awareness


async def test_privacy_notice_names_the_organisation(harness: Harness) -> None:
    h = harness
    user = h.user()
    [notice] = await h.send(user, "/privacy")
    assert notice.text and notice.text.startswith("Your privacy")
    assert "the organisation that shared the link with you" in notice.text
    assert "/delete" in notice.text and "/mydata" in notice.text


async def test_consent_says_how_long_answers_are_kept_in_the_persons_language(harness: Harness) -> None:
    h = harness
    english, french = h.user(language="en"), h.user(language="fr")
    [consent] = await h.send(english, f"/start {CODE}")
    assert consent.text and "kept until 180 days after the consultation closes" in consent.text
    assert consent.text.rstrip().endswith("Do you agree to take part?")
    [consent] = await h.send(french, f"/start {CODE}")
    assert consent.text and "jusqu’à 180 jours après la fin de la consultation" in consent.text
