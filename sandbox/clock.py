"""The emulator's clock: real time in `make run`; in tests a fake clock that stands still until the test moves it.

Everything in the emulator that depends on time passing reads this clock: message dates, the 48-hour delete
window, callback query expiry, long-poll timeouts, webhook retry delays, and the scripted faults (time windows,
latency, held requests). A test that needs time to pass advances a :class:`FakeClock` instead of sleeping.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Unix time, and a sleep measured on the same time."""

    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed on this clock."""
        ...


class SystemClock:
    """The real time of the machine."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))


class FakeClock:
    """A clock for tests: time moves only when :meth:`advance` is called; sleepers wake at their deadline."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []
        self._watchers: list[asyncio.Future[None]] = []

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has come, earliest deadline first."""
        if seconds < 0:
            raise ValueError("a clock does not go back")
        self._now += seconds
        due = [fut for deadline, fut in sorted(self._sleepers, key=lambda s: s[0]) if deadline <= self._now]
        self._sleepers = [(deadline, fut) for deadline, fut in self._sleepers if deadline > self._now]
        for fut in due:
            if not fut.done():
                fut.set_result(None)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self._now + seconds, fut)
        self._sleepers.append(entry)
        watchers, self._watchers = self._watchers, []
        for watcher in watchers:
            if not watcher.done():
                watcher.set_result(None)
        try:
            await fut
        finally:
            if entry in self._sleepers:
                self._sleepers.remove(entry)

    @property
    def sleepers(self) -> int:
        """How many tasks are sleeping on this clock right now."""
        return len(self._sleepers)

    async def until_sleeping(self, count: int = 1, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - a test guard
        """Wait (in real time, at most ``timeout`` s) until ``count`` tasks sleep on this clock, so that a following
        :meth:`advance` reaches them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self._sleepers) < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{len(self._sleepers)} sleeper(s) on the fake clock after {timeout}s, not {count}")
            watcher: asyncio.Future[None] = loop.create_future()
            self._watchers.append(watcher)
            try:
                await asyncio.wait_for(watcher, remaining)
            except TimeoutError:
                continue
            finally:
                if watcher in self._watchers:
                    self._watchers.remove(watcher)
