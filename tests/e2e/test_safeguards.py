"""Privacy and survivor safety through the real bot: safe exit, erasure, access, age gate, opt-in, canary."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlmodel import select

from bot import logs
from bot.telegram import outbox_sender
from config.help_resources import HelpResources
from storage.models import Answer, ConsentRecord, ConversationSession, Participant, ResultsOptIn, SentMessage
from tests.e2e.conftest import CODE, EXIT_LABEL, Harness, labels, sqlite_files


async def table_counts(h: Harness) -> dict[str, int]:
    counts = {}
    async with h.database.reader() as session:
        for model in (Participant, ConversationSession, Answer, ConsentRecord, SentMessage, ResultsOptIn):
            counts[model.__tablename__] = len((await session.exec(select(model))).all())
    return counts


async def test_exit_command_deletes_the_whole_chat_and_ends_the_session(harness: Harness) -> None:
    h = harness
    user = h.user()
    [consent] = await h.send(user, f"/start {CODE}")
    group = await h.agree(user, consent)
    await h.press(user, group, "Other")
    await h.send(user, "a sticker is next", expect=2)
    assert len(h.emulator.chat(user.id)) >= 8
    h.emulator.user_sends_text(user, "/exit")
    await h.emulator.wait_until(lambda: h.emulator.chat(user.id) == [], timeout=10)
    assert h.application is not None
    await outbox_sender(h.application).drain()  # the ids are forgotten once their deletion is recorded
    async with h.database.reader() as session:
        [row] = (await session.exec(select(ConversationSession))).all()
        kept = (await session.exec(select(SentMessage))).all()
    assert row.status == "stopped" and kept == []
    # answers are kept: /start continues at the same question
    welcome, again = await h.send(user, "/start", expect=2)
    assert again.text and again.text.startswith("Have you heard")


async def test_exit_button_on_a_question_clears_the_chat(harness: Harness) -> None:
    h = harness
    user = h.user(language="fr")
    [consent] = await h.send(user, f"/start {CODE}")
    group = await h.agree(user, consent)
    assert EXIT_LABEL["fr"] in labels(group)
    h.emulator.user_presses_button(user, group.message_id, EXIT_LABEL["fr"])
    await h.emulator.wait_until(lambda: h.emulator.chat(user.id) == [], timeout=10)


async def test_exit_before_consent_clears_the_chat_and_stores_nothing(harness: Harness) -> None:
    h = harness
    user = h.user()
    [consent] = await h.send(user, f"/start {CODE}")
    h.emulator.user_presses_button(user, consent.message_id, EXIT_LABEL["en"])
    await h.emulator.wait_until(lambda: h.emulator.chat(user.id) == [], timeout=10)
    assert (await table_counts(h))["participant"] == 0


async def test_delete_erases_everything_and_start_begins_afresh(any_harness: Harness) -> None:
    h = any_harness
    user = h.user()
    [consent] = await h.send(user, f"/start {CODE}")
    consent_text = consent.text
    group = await h.agree(user, consent)
    [awareness] = await h.press(user, group, "Other")
    [question] = await h.send(user, "/delete")
    assert labels(question) == ["Yes, delete everything", "No, keep my answers", EXIT_LABEL["en"]]
    [kept] = await h.press(user, question, "No, keep my answers")
    assert kept.text == "Nothing was deleted."
    assert (await table_counts(h))["answer"] == 3
    [question] = await h.send(user, "/delete")
    [done] = await h.press(user, question, "Yes, delete everything")
    assert done.text and done.text.startswith("Done. Everything you gave has been deleted.")
    assert await table_counts(h) == {
        "participant": 0,
        "session": 0,
        "answer": 0,
        "consent_record": 0,
        "sent_message": 0,
        "results_opt_in": 0,
    }
    [fresh] = await h.send(user, f"/start {CODE}")
    assert fresh.text == consent_text
    [nothing] = await h.send(user, "/delete")
    assert nothing.text == "Nothing is stored about you."
    del awareness


async def test_mydata_shows_what_is_stored_with_free_text_decrypted(harness: Harness) -> None:
    h = harness
    user = h.user()
    [consent] = await h.send(user, f"/start {CODE}")
    msg = await h.agree(user, consent)
    [msg] = await h.press(user, msg, "A community member")
    for _ in range(4):
        [msg] = await h.press(user, msg, "Skip")
    [thanks] = await h.send(user, "Call me on +254 712 345 678 about schools")
    assert "Tell me when the results are out" in labels(thanks)
    h.emulator.user_sends_text(user, "/mydata")
    [data] = await h.emulator.wait_for_bot_messages(user.id, 1)
    assert data.text and data.text.startswith("What is stored about you:")
    assert "A community member" in data.text and "(skipped)" in data.text
    assert "Call me on [phone] about schools" in data.text
    assert "How old are you?\n   25 to 34" in data.text  # generated options show their labels too


async def test_under_18_ends_with_help_resources_and_stores_nothing(harness: Harness, tmp_path: Path) -> None:
    h = harness
    resources = tmp_path / "help.yaml"
    resources.write_text(
        f"consultations:\n  {CODE}:\n    - name: {{en: Test Support Line}}\n      phone: '+254 20 2000000'\n",
        encoding="utf-8",
    )
    h.help_resources = HelpResources(resources)
    await h.restart_bot()
    user = h.user()
    [consent] = await h.send(user, f"/start {CODE}")
    [age] = await h.press(user, consent, "I agree")
    kind, help_text = await h.press(user, age, "Under 18", expect=2)
    assert kind.text and "only for adults" in kind.text and "nothing you gave has been kept" in kind.text
    assert help_text.text and "Test Support Line" in help_text.text and "+254 20 2000000" in help_text.text
    counts = await table_counts(h)
    assert counts["participant"] == 0 and counts["consent_record"] == 0 and counts["answer"] == 0


async def test_help_never_invents_contacts(harness: Harness) -> None:
    h = harness
    user = h.user()
    [commands, resources] = await h.send(user, "/help", expect=2)
    assert commands.text and "/exit" in commands.text and "/delete" in commands.text
    assert resources.text == "If you need help or support, please ask the organisation that shared the link with you."


async def test_results_opt_in_keeps_the_chat_encrypted_and_apart(harness: Harness) -> None:
    h = harness
    user = h.user()
    [consent] = await h.send(user, f"/start {CODE}")
    msg = await h.agree(user, consent)
    for _ in range(6):
        [msg] = await h.press(user, msg, "Skip")
    [thanks] = await h.press(user, msg, "Tell me when the results are out")
    assert thanks.text and "one message when the results are published" in thanks.text
    async with h.database.reader() as session:
        [opt_in] = (await session.exec(select(ResultsOptIn))).all()
    assert str(user.id).encode() not in opt_in.chat_cipher


async def test_canary_no_identity_or_plaintext_anywhere(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """Distinctive ids, names, usernames; free text with a phone number, an e-mail and a unique word; /back,
    /mydata, /exit. Then the database file and WAL, every log line and exception text are scanned."""
    h = harness
    logs.quieten_libraries()
    caplog.set_level(logging.DEBUG)
    people = [
        h.emulator.new_user("Canaryfirstname", username="canary_handle_one", language_code="en", user_id=777123456),
        h.emulator.new_user("Zzyzxname", username="canary_handle_two", language_code="fr", user_id=888234567),
    ]
    secrets = [
        "777123456",
        "888234567",
        "Canaryfirstname",
        "Zzyzxname",
        "canary_handle_one",
        "canary_handle_two",
        "+254 712 345 678",
        "712345678",
        "canary.person@example.org",
        "quokkablueberry",
    ]
    for person in people:
        [consent] = await h.send(person, f"/start {CODE}")
        msg = await h.agree(person, consent)
        for _ in range(4):
            [msg] = await h.press(person, msg, str(msg.buttons[-2]["text"]))  # Skip
        await h.send(person, "/back", expect=2)
        last = h.emulator.last_bot_message(person.id)
        assert last is not None
        [msg] = await h.press(person, last, str(last.buttons[-2]["text"]))
        [msg] = await h.press(person, msg, str(msg.buttons[-2]["text"]))
        await h.send(person, "quokkablueberry: call +254 712 345 678 or canary.person@example.org")
        await h.emulator.wait_for_bot_messages(person.id, 0)
        h.emulator.user_sends_text(person, "/mydata")
        [mine] = await h.emulator.wait_for_bot_messages(person.id, 1)
        assert mine.text and "quokkablueberry" in mine.text and "+254" not in mine.text
    h.emulator.user_sends_text(people[0], "/exit")
    await h.emulator.wait_until(lambda: h.emulator.chat(people[0].id) == [])
    await h.stop_bot()

    async with h.database.engine.connect() as connection:
        names = await connection.run_sync(lambda c: inspect(c).get_table_names())
        dump = []
        for name in names:
            rows = (await connection.execute(text(f'SELECT * FROM "{name}"'))).all()
            dump.append(repr(rows))
    everything = "\n".join(dump)
    await h.database.dispose()
    blob = b"".join(p.read_bytes() for p in sqlite_files(h.database))
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    for secret in secrets:
        assert secret not in everything, f"{secret!r} in a table"
        assert secret.encode() not in blob, f"{secret!r} in the database file"
        assert secret not in logged, f"{secret!r} in the logs"


async def test_results_message_reaches_only_those_who_asked_once(harness: Harness) -> None:
    from bot.cli.notify import queue_results
    from storage.privacy import KeyRing

    h = harness
    asked, silent = h.user("Asked"), h.user("Silent")
    for person, opt in ((asked, True), (silent, False)):
        [consent] = await h.send(person, f"/start {CODE}")
        msg = await h.agree(person, consent)
        for _ in range(6):
            [msg] = await h.press(person, msg, "Skip")
        if opt:
            await h.press(person, msg, "Tell me when the results are out")
    # the operator's command queues it; the running bot's outbox sender delivers it
    assert await queue_results(h.database, KeyRing(h.secrets.keys), CODE, "The summary is out.") == 1
    [notice] = await h.emulator.wait_for_bot_messages(asked.id, 1)
    assert notice.text == "The summary is out." and notice.protect_content
    assert all(m.text != "The summary is out." for m in h.emulator.chat(silent.id))
    assert await queue_results(h.database, KeyRing(h.secrets.keys), CODE, "Again?") == 0
    assert h.application is not None
    await outbox_sender(h.application).drain()  # nothing more was queued: the opt-in was forgotten
    assert all(m.text != "Again?" for m in h.emulator.chat(asked.id))


async def test_the_default_results_message_points_to_results_in_the_persons_language(harness: Harness) -> None:
    from bot.cli.notify import queue_results
    from storage.privacy import KeyRing

    h = harness
    person = h.user("Awa", language="fr")
    [consent] = await h.send(person, f"/start {CODE}")
    msg = await h.agree(person, consent)
    for _ in range(6):
        [msg] = await h.press(person, msg, "Passer")
    await h.press(person, msg, "Prévenez-moi quand les résultats sortent")
    assert await queue_results(h.database, KeyRing(h.secrets.keys), CODE, None) == 1
    [notice] = await h.emulator.wait_for_bot_messages(person.id, 1)
    text = str(notice.text)
    assert "/results" in text and "« E2E consultation »" in text and "résultats" in text


async def test_an_unexpected_error_apologises_keeps_the_place_and_logs_no_personal_data(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    caplog.set_level(logging.INFO)
    user = h.emulator.new_user("Errorcanary", username="error_canary_user", language_code="en")
    [consent] = await h.send(user, f"/start {CODE}")
    group = await h.agree(user, consent)
    async with h.database.transaction() as session:  # the database breaks under the bot
        await session.exec(text("ALTER TABLE answer RENAME TO answer_away"))  # type: ignore[call-overload]
    [apology] = await h.press(user, group, "A family member")
    assert apology.text and apology.text.startswith("Sorry, something went wrong on our side.")
    async with h.database.transaction() as session:  # repaired
        await session.exec(text("ALTER TABLE answer_away RENAME TO answer"))  # type: ignore[call-overload]
    [awareness] = await h.press(user, group, "A family member")  # same question, same button: it works now
    assert awareness.text and awareness.text.startswith("Have you heard")
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures and "OperationalError" in failures[0].getMessage()
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    for secret in (str(user.id), "Errorcanary", "error_canary_user"):
        assert secret not in logged
