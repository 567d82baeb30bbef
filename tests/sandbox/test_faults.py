"""Scripted Bot API failures (for the fault tests of issue 12): 5xx, 429, no answer, latency; by count, time
window on the emulator's clock, or seeded probability."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from telegram import Bot
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from sandbox import ApiError, Emulator, FakeClock, NoResponse, SandboxUser, ServerError, TooManyRequests

from .conftest import TOKEN


def texts(emulator: Emulator, user: SandboxUser) -> list[str | None]:
    return [m.text for m in emulator.bot_messages(user.id)]


async def send(emulator: Emulator, user: SandboxUser, text: str) -> Any:
    return await emulator.call("sendMessage", {"chat_id": user.id, "text": text})


async def test_the_next_n_calls_of_a_method_answer_5xx(
    bot: Bot, emulator: Emulator, started_alice: SandboxUser
) -> None:
    rule = emulator.faults.fail("sendMessage", ServerError(502), times=2)
    for attempt in range(2):
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(started_alice.id, f"try {attempt}")
    assert await bot.delete_messages(started_alice.id, [1])  # other methods are not affected
    assert (await bot.send_message(started_alice.id, "third time")).text == "third time"
    assert texts(emulator, started_alice) == ["third time"]  # the failed calls did nothing
    assert rule.hits == 2 and not rule.active
    assert [(e.method, e.error_code, e.injected) for e in emulator.api_errors] == [("sendMessage", 502, True)] * 2


async def test_a_failure_after_the_effect_leaves_the_bot_unsure(
    bot: Bot, emulator: Emulator, started_alice: SandboxUser
) -> None:
    emulator.faults.fail("sendMessage", ServerError(500), times=1, takes_effect=True)
    with pytest.raises(NetworkError):
        await bot.send_message(started_alice.id, "did it arrive?")
    assert texts(emulator, started_alice) == ["did it arrive?"]  # it did; a retry would send it twice


async def test_429_with_retry_after_for_one_chat(bot: Bot, emulator: Emulator, started_alice: SandboxUser) -> None:
    other = emulator.new_user("Other")
    emulator.user_sends_text(other, "/start")
    emulator.faults.fail(["sendMessage", "editMessageText"], TooManyRequests(retry_after=3), chat_id=started_alice.id)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(started_alice.id, "too fast")
    assert info.value.retry_after.total_seconds() == 3  # type: ignore[union-attr]
    assert (await bot.send_message(other.id, "fine")).text == "fine"
    emulator.faults.clear()
    assert (await bot.send_message(started_alice.id, "later")).text == "later"


async def test_failures_for_a_time_window_on_the_emulator_clock(
    emulator: Emulator, started_alice: SandboxUser, clock: FakeClock
) -> None:
    emulator.faults.fail("deleteMessages", ServerError(), for_seconds=3)
    params = {"chat_id": started_alice.id, "message_ids": [1]}
    for _ in range(5):  # any number of calls within the window
        with pytest.raises(ApiError) as raised:
            await emulator.call("deleteMessages", params)
        assert raised.value.error_code == 500
    clock.advance(2.9)
    with pytest.raises(ApiError):
        await emulator.call("deleteMessages", params)
    clock.advance(0.1)
    assert await emulator.call("deleteMessages", params) is True
    assert emulator.faults.rules == []
    assert emulator.chat(started_alice.id) == []


async def outcomes(seed: int, user: SandboxUser, calls: int = 200) -> list[bool]:
    emulator = Emulator(token=TOKEN, clock=FakeClock(), seed=seed)
    emulator.user_sends_text(user, "/start")
    emulator.faults.fail("*", TooManyRequests(), probability=0.25)
    results = []
    for i in range(calls):
        try:
            await send(emulator, user, f"m{i}")
            results.append(True)
        except ApiError as exc:
            assert exc.error_code == 429 and exc.retry_after == 1
            results.append(False)
    return results


async def test_random_failures_are_reproducible_from_the_seed(alice: SandboxUser) -> None:
    first, again, other = await outcomes(7, alice), await outcomes(7, alice), await outcomes(8, alice)
    assert first == again
    assert first != other
    assert 30 <= first.count(False) <= 70  # about a quarter of 200


async def test_no_response_until_the_client_gives_up(
    server: TestServer, emulator: Emulator, started_alice: SandboxUser
) -> None:
    emulator.faults.fail("sendMessage", NoResponse(), times=1, takes_effect=True)
    impatient = HTTPXRequest(read_timeout=0.3)
    async with Bot(TOKEN, base_url=str(server.make_url("/bot")), request=impatient) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(started_alice.id, "sent, but no answer came")
        assert emulator.waiting("held") == 1  # still held by the emulator, as by a stuck Telegram
        assert texts(emulator, started_alice) == ["sent, but no answer came"]
        assert (await bot.send_message(started_alice.id, "next")).text == "next"
    await emulator.stop_background()  # stopping releases held requests
    await emulator.wait_until(lambda: emulator.waiting("held") == 0)


async def test_a_held_request_gets_a_late_504_after_its_hold(
    emulator: Emulator, started_alice: SandboxUser, clock: FakeClock
) -> None:
    emulator.faults.fail("sendMessage", NoResponse(hold=60), times=1)
    call = asyncio.create_task(send(emulator, started_alice, "late"))
    await clock.until_sleeping()
    clock.advance(59)
    await emulator.wait_until(lambda: emulator.waiting("held") == 1)
    assert not call.done()
    clock.advance(1)
    with pytest.raises(ApiError) as raised:
        await call
    assert raised.value.error_code == 504
    assert texts(emulator, started_alice) == []


async def test_latency_passes_on_the_clock_and_reorders_concurrent_calls(
    emulator: Emulator, started_alice: SandboxUser, clock: FakeClock
) -> None:
    emulator.faults.slow("sendMessage", (0.0, 0.4))
    calls = [asyncio.create_task(send(emulator, started_alice, f"reply {i}")) for i in range(5)]
    await clock.until_sleeping(5)
    assert texts(emulator, started_alice) == []  # nothing happens before its latency has passed
    delays = [fault.delay for fault in emulator.faults.injected]
    assert len(delays) == 5 and all(0 <= d <= 0.4 for d in delays) and len(set(delays)) == 5
    clock.advance(0.4)
    await asyncio.gather(*calls)
    by_latency = [f"reply {i}" for i in sorted(range(5), key=lambda i: delays[i])]
    assert texts(emulator, started_alice) == by_latency != [f"reply {i}" for i in range(5)]


async def test_a_fixed_latency_for_a_few_calls(
    emulator: Emulator, started_alice: SandboxUser, clock: FakeClock
) -> None:
    rule = emulator.faults.slow("*", 2.0, times=1)
    call = asyncio.create_task(send(emulator, started_alice, "slow"))
    await clock.until_sleeping()
    clock.advance(2)
    assert (await call)["text"] == "slow"
    assert not rule.active
    assert (await send(emulator, started_alice, "fast"))["text"] == "fast"  # no sleeping: it simply returns


async def test_every_method_and_cancelling_a_rule(bot: Bot, emulator: Emulator, alice: SandboxUser) -> None:
    rule = emulator.faults.fail("*", ServerError(503))
    with pytest.raises(NetworkError, match="Service Unavailable"):
        await bot.get_updates()
    with pytest.raises(NetworkError):
        await bot.get_me()
    rule.cancel()
    assert (await bot.get_me()).username == "voices87_sandbox_bot"


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"times": 0}, "times"),
        ({"for_seconds": 0}, "for_seconds"),
        ({"probability": 0}, "probability"),
        ({"probability": 1.5}, "probability"),
    ],
)
def test_rules_that_make_no_sense_are_refused(emulator: Emulator, kwargs: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        emulator.faults.fail("sendMessage", ServerError(), **kwargs)


def test_fault_kinds_are_checked() -> None:
    with pytest.raises(ValueError, match="5xx"):
        ServerError(404)
    with pytest.raises(ValueError, match="latency"):
        Emulator(token=TOKEN).faults.slow("sendMessage", (0.4, 0.1))
