"""A worker (re)started while Telegram answers 429 or is briefly unreachable waits its turn instead of exiting
(found by tests/e2e/test_fault_suite.py: a worker restarted during a 429 storm died at getMe)."""

from __future__ import annotations

import pytest
from telegram.error import InvalidToken, NetworkError, RetryAfter

from bot.intake import START_ATTEMPTS, patiently


async def test_a_start_up_call_waits_through_429s_and_outages() -> None:
    failures: list[Exception] = [RetryAfter(0), NetworkError("Bad Gateway"), RetryAfter(0)]
    calls = 0

    async def get_me() -> str:
        nonlocal calls
        calls += 1
        if failures:
            raise failures.pop(0)
        return "me"

    assert await patiently(get_me, retry_delays=(0.0,)) == "me"
    assert calls == 4


async def test_it_gives_up_after_a_while_and_never_retries_a_refused_token() -> None:
    calls = 0

    async def down() -> None:
        nonlocal calls
        calls += 1
        raise NetworkError("Bad Gateway")

    with pytest.raises(NetworkError):
        await patiently(down, retry_delays=(0.0,))
    assert calls == START_ATTEMPTS

    async def refused() -> None:
        raise InvalidToken()

    with pytest.raises(InvalidToken):
        await patiently(refused, retry_delays=(0.0,))
