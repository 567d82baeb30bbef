"""Nothing lost, nothing out of order (issue 12): the real PTB Application and its outbox sender against the
emulator, with Bot API failures scripted in the emulator (sandbox/faults.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select

from bot.telegram import BotApplication, outbox_sender
from flows.loader import shipped_library
from sandbox import SandboxMessage, SandboxUser
from sandbox.faults import ServerError, TooManyRequests
from storage.models import Answer, ConversationSession, OutboxMessage, ProcessedUpdate, SentMessage
from storage.repository import now
from tests.e2e.conftest import CODE, Harness

HELP_FIRST = "/exit"  # the commands list (the first of /help's two replies) names /exit
HELP_SECOND = "If you need help or support"


def sender(h: Harness) -> BotApplication:
    assert h.application is not None
    return h.application


async def settle(h: Harness) -> None:
    """Until the outbox is empty."""
    await outbox_sender(sender(h)).drain(within=60)


async def pending(h: Harness) -> list[OutboxMessage]:
    async with h.database.reader() as session:
        return list((await session.exec(select(OutboxMessage).where(OutboxMessage.state == "pending"))).all())


async def wait_for(predicate: Callable[[], Awaitable[bool]], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("condition not reached")


def question_steps() -> dict[str, int]:
    """English question text (its start) -> step index, for the survivor flow the harness runs."""
    flow = shipped_library().latest("roadmap_feedback")
    return {step.text["en"][:40]: index for index, step in enumerate(flow.steps) if step.text and "en" in step.text}


def step_of(message: SandboxMessage) -> int | None:
    text = message.text or ""
    return next((index for start, index in question_steps().items() if text.startswith(start)), None)


async def to_group_question(h: Harness, user: SandboxUser) -> SandboxMessage:
    [consent] = await h.send(user, f"/start {CODE}")
    return await h.agree(user, consent)


async def test_a_reply_failing_with_5xx_arrives_later_and_no_unseen_question_is_skipped(harness: Harness) -> None:
    """Issue 12.1: 500 on sendMessage after the answer was committed. The next question arrives once Telegram
    answers again; a /skip sent before it arrived does not skip it: the person gets it (again) instead."""
    h = harness
    user = h.user()
    group = await to_group_question(h, user)
    h.emulator.faults.fail("sendMessage", ServerError(500), times=3)
    h.emulator.user_presses_button(user, group.message_id, str(group.buttons[0]["text"]))
    await asyncio.sleep(0.3)  # the next question is committed and its first sends failed
    h.emulator.user_sends_text(user, "/skip")
    first, second = await h.emulator.wait_for_bot_messages(user.id, 2, timeout=20)
    assert step_of(first) == step_of(second) == 3, (first.text, second.text)  # "awareness", twice: not skipped
    assert sum(1 for f in h.emulator.faults.injected if isinstance(f.failure, ServerError)) == 3
    async with h.database.reader() as session:
        answers = {a.question_id: a for a in (await session.exec(select(Answer))).all()}
    assert "awareness" not in answers  # the /skip applied to nothing the person had not seen
    await settle(h)


async def test_a_429_storm_is_waited_out_as_telegram_asks(harness: Harness) -> None:
    h = harness
    user = h.user()
    h.emulator.faults.fail("sendMessage", TooManyRequests(retry_after=1), times=3)
    started = time.monotonic()
    commands, resources = await h.send(user, "/help", expect=2)
    elapsed = time.monotonic() - started
    assert commands.text and HELP_FIRST in commands.text
    assert resources.text and resources.text.startswith(HELP_SECOND)
    assert elapsed >= 2.5, elapsed  # three 429s with retry_after=1: about 3 s, never hammering Telegram
    tries = h.emulator.calls("sendMessage")
    assert len(tries) == 5  # 3 refused + 2 sent: no extra attempt during a pause


async def test_the_safe_exit_finishes_though_deletemessages_fails_for_a_while(harness: Harness) -> None:
    """Issue 12.2: deleteMessages failing for 3 s. The exit is retried until every message is gone, and the
    ids are forgotten only then."""
    h = harness
    user = h.user()
    question = await to_group_question(h, user)
    for _ in range(4):
        [question] = await h.press(user, question, "Skip")
    await h.send(user, "/help", expect=2)
    assert len(h.emulator.chat(user.id)) >= 10
    h.emulator.faults.fail("deleteMessages", ServerError(502), for_seconds=3)
    h.emulator.user_sends_text(user, "/exit")
    await h.emulator.wait_until(lambda: not h.emulator.chat(user.id), timeout=30, chat_id=user.id)
    failed = [f for f in h.emulator.faults.injected if f.method.lower() == "deletemessages"]
    assert failed, "the fault did not apply"
    await settle(h)
    async with h.database.reader() as session:
        assert (await session.exec(select(SentMessage))).all() == []


async def test_an_exit_that_cannot_finish_tells_the_person_to_delete_the_chat(harness: Harness) -> None:
    h = harness
    user = h.user()
    await to_group_question(h, user)
    h.emulator.faults.fail("deleteMessages", ServerError(500))
    h.emulator.user_sends_text(user, "/exit")

    async def tried() -> bool:
        return bool(h.emulator.calls("deleteMessages"))

    await wait_for(tried)
    async with h.database.transaction() as session:  # two days later: the messages are too old to delete
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.kind) == "delete")
            .values(created_at=now() - timedelta(hours=49), next_attempt_at=now())
        )
    h.emulator.mark(user.id)
    outbox_sender(sender(h)).kick()
    [note] = await h.emulator.wait_for_bot_messages(user.id, 1, timeout=20)
    assert note.text == (
        "Some messages could not be deleted. Please delete this chat yourself: press and hold it in your chat "
        "list, then choose Delete."
    )


async def test_replies_keep_their_order_with_a_slow_bot_api(harness: Harness) -> None:
    """Issue 12.3: 0-400 ms per call and ten quick commands: every reply arrives, in order."""
    h = harness
    user = h.user()
    h.emulator.faults.slow("sendMessage", (0.0, 0.4))
    for _ in range(10):
        h.emulator.user_sends_text(user, "/help")
    messages = await h.emulator.wait_for_bot_messages(user.id, 20, timeout=60)
    for commands, resources in zip(messages[0::2], messages[1::2], strict=True):
        assert commands.text and HELP_FIRST in commands.text
        assert resources.text and resources.text.startswith(HELP_SECOND)


async def test_ten_quick_skips_never_skip_a_question_not_yet_seen(harness: Harness) -> None:
    h = harness
    user = h.user()
    await to_group_question(h, user)
    h.emulator.faults.slow("sendMessage", (0.0, 0.4))
    for _ in range(10):
        h.emulator.user_sends_text(user, "/skip")
    await asyncio.sleep(1)
    await settle(h)
    shown = [step_of(m) for m in h.emulator.bot_messages(user.id, include_deleted=True)]
    questions = [s for s in shown if s is not None]
    assert questions == sorted(questions), shown  # in the flow's order, never a later question before
    flow = shipped_library().latest("roadmap_feedback")
    async with h.database.reader() as session:
        skipped = [a.question_id for a in (await session.exec(select(Answer))).all() if a.skipped]
    for question_id in skipped:
        index = next(i for i, step in enumerate(flow.steps) if step.id == question_id)
        assert index in questions, (question_id, questions)  # skipped only after it was delivered


async def test_a_duplicate_update_resends_what_is_still_unsent(harness: Harness) -> None:
    h = harness
    user = h.user()
    await h.send(user, "/help", expect=2)
    h.emulator.faults.fail("sendMessage", ServerError(500))
    update_id = h.emulator.user_sends_text(user, "/help")

    async def tried() -> bool:
        return len(h.emulator.calls("sendMessage")) >= 3

    await wait_for(tried)

    async def backing_off() -> bool:  # as after many failures: the next try in an hour (none in flight now)
        async with h.database.transaction() as session:
            result = await session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.update_id) == update_id, col(OutboxMessage.lease_until).is_(None))
                .values(next_attempt_at=now() + timedelta(hours=1))
            )
        return result.rowcount == 2

    await wait_for(backing_off)
    h.emulator.faults.clear()
    [original] = [m for m in h.emulator.history(user.id) if not m.from_bot and m.text == "/help"][-1:]
    h.emulator.inject_update(
        {
            "update_id": update_id,  # Telegram delivering the same update again
            "message": {
                "message_id": original.message_id,
                "date": int(h.emulator.now()),
                "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
                "from": {"id": user.id, "is_bot": False, "first_name": user.first_name, "language_code": "en"},
                "text": "/help",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        },
        record_messages=False,
    )
    commands, resources = await h.emulator.wait_for_bot_messages(user.id, 2, timeout=20)
    assert commands.text and HELP_FIRST in commands.text
    assert resources.text and resources.text.startswith(HELP_SECOND)
    async with h.database.reader() as session:
        claimed = (await session.exec(select(ProcessedUpdate).where(ProcessedUpdate.update_id == update_id))).all()
    assert len(claimed) == 1  # handled once; only its unsent replies went out again


async def test_a_restarted_bot_delivers_the_backlog(harness: Harness) -> None:
    h = harness
    user = h.user()
    await h.send(user, "/help", expect=2)
    h.emulator.faults.fail("sendMessage", ServerError(503))
    for _ in range(3):
        h.emulator.user_sends_text(user, "/help")

    async def queued() -> bool:
        return len(await pending(h)) == 6

    await wait_for(queued)
    await h.stop_bot()
    h.emulator.faults.clear()
    await h.start_bot()
    messages = await h.emulator.wait_for_bot_messages(user.id, 6, timeout=30)
    for commands, resources in zip(messages[0::2], messages[1::2], strict=True):
        assert commands.text and HELP_FIRST in commands.text
        assert resources.text and resources.text.startswith(HELP_SECOND)
    await settle(h)
    assert len(h.emulator.bot_messages(user.id)) == 8  # nothing sent twice


async def test_under_18_is_offered_the_wipe(harness: Harness) -> None:
    h = harness
    user = h.user()
    [consent] = await h.send(user, f"/start {CODE}")
    [age] = await h.press(user, consent, "I agree")
    _kind, help_text = await h.press(user, age, "Under 18", expect=2)
    assert "Exit and clear chat" in [str(b["text"]) for b in help_text.buttons]
    await h.press(user, help_text, "Exit and clear chat", expect=0)
    await h.emulator.wait_until(lambda: not h.emulator.chat(user.id), timeout=20, chat_id=user.id)


async def converse(h: Harness, index: int) -> None:
    """One person through the whole survivor flow: consent, an adult age band, then each question skipped by its
    button, until the thanks."""
    user = h.user(f"Scripted {index}")
    h.emulator.user_sends_text(user, f"/start {CODE}")
    [message] = await h.emulator.wait_for_bot_messages(user.id, 1, timeout=60)
    for label in ("I agree", "25 to 34", *["Skip"] * 6):
        h.emulator.user_presses_button(user, message.message_id, label)
        [message] = await h.emulator.wait_for_bot_messages(user.id, 1, timeout=60)
    assert message.text and message.text.startswith("Thank you."), message.text


async def test_scripted_conversations_under_faults(harness: Harness) -> None:
    """Twenty conversations at once on SQLite, with a slow and failing Bot API: every one completes, every
    answer is recorded once, every person gets each message once."""
    h = harness
    h.emulator.faults.slow(["sendMessage", "editMessageText"], (0.0, 0.1))
    h.emulator.faults.fail(["sendMessage", "editMessageText"], ServerError(500), probability=0.05)
    h.emulator.faults.fail("sendMessage", TooManyRequests(retry_after=1), times=2)
    people = 20
    await asyncio.gather(*(converse(h, i) for i in range(people)))
    await settle(h)
    async with h.database.reader() as session:
        sessions = (await session.exec(select(ConversationSession))).all()
        answers = (await session.exec(select(Answer))).all()
    assert len(sessions) == people and all(s.status == "completed" for s in sessions)
    assert len(answers) == people * 8  # the consent, the age band and six questions each, once
    for user in h.emulator.users():
        assert len(h.emulator.bot_messages(user.id)) == 9  # consent, age, six questions, thanks


async def test_a_press_whose_answer_telegram_refuses_gets_no_apology(harness: Harness) -> None:
    """answerCallbackQuery under flood control (or failing): the press was handled and committed; the next
    question comes and no apology (found by tests/e2e/test_fault_suite.py)."""
    h = harness
    user = h.user()
    group = await to_group_question(h, user)
    h.emulator.faults.fail("answerCallbackQuery", TooManyRequests(retry_after=1), times=1)
    h.emulator.faults.fail("answerCallbackQuery", ServerError(502), times=1)
    [awareness] = await h.press(user, group, "A family member")
    assert step_of(awareness) == 3, awareness.text
    [priorities] = await h.press(user, awareness, "No, never")
    assert step_of(priorities) == 4, priorities.text
    await asyncio.sleep(0.5)
    assert not any("Sorry, something went wrong" in (m.text or "") for m in h.emulator.bot_messages(user.id))
    assert len(h.emulator.bot_messages(user.id)) == 5
