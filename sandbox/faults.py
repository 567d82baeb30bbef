"""Scripted Bot API failures, for tests of what the bot does when Telegram fails.

    emulator.faults.fail("sendMessage", ServerError(502), times=3)           # the next 3 calls
    emulator.faults.fail("deleteMessages", ServerError(), for_seconds=3)    # 3 s on the emulator's clock
    emulator.faults.fail("*", TooManyRequests(retry_after=2), probability=0.2)  # seeded: reproducible
    emulator.faults.fail("sendMessage", NoResponse(), times=1, takes_effect=True)  # sent, but no answer comes
    emulator.faults.slow("sendMessage", (0.0, 0.4))                         # latency per call, seeded

A rule matches a method (or "*"), optionally one chat. The first active rule that matches a call decides its
failure; every matching latency rule adds its delay, which passes on the emulator's clock before the method
runs (so slow calls can finish out of order). ``takes_effect=True`` runs the method before failing: the bot
cannot know whether it happened, as after a real timeout.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from sandbox.clock import Clock
from sandbox.models import ApiError, JsonDict

_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


@dataclass(frozen=True)
class ServerError:
    """A 5xx answer (Telegram answers 500 and 502 at times)."""

    status: int = 500

    def __post_init__(self) -> None:
        if not 500 <= self.status <= 599:
            raise ValueError("a server error has a 5xx status")

    def error(self) -> ApiError:
        return ApiError(self.status, _REASONS.get(self.status, "Internal Server Error"))


@dataclass(frozen=True)
class TooManyRequests:
    """A 429 flood-control answer with ``retry_after`` seconds."""

    retry_after: int = 1

    def error(self) -> ApiError:
        return ApiError(429, f"Too Many Requests: retry after {self.retry_after}", retry_after=self.retry_after)


@dataclass(frozen=True)
class NoResponse:
    """No answer: the request is held until the client gives up. After ``hold`` seconds on the emulator's clock
    (never, by default, until the emulator stops) a late 504 is sent to whoever still listens."""

    hold: float | None = None

    def error(self) -> ApiError:
        return ServerError(504).error()


Failure = ServerError | TooManyRequests | NoResponse


@dataclass
class FaultRule:
    """One scripted rule; ``remaining`` counts down with ``times``; ``until`` is a time on the emulator's clock."""

    methods: frozenset[str]
    chat_id: int | None
    failure: Failure | None = None
    latency: tuple[float, float] = (0.0, 0.0)
    remaining: int | None = None
    until: float | None = None
    probability: float = 1.0
    takes_effect: bool = False
    hits: int = 0
    active: bool = True

    def matches(self, method: str, params: JsonDict, now: float) -> bool:
        if not self.active or (self.until is not None and now >= self.until):
            return False
        if "*" not in self.methods and method.lower() not in self.methods:
            return False
        return self.chat_id is None or params.get("chat_id") == self.chat_id

    def cancel(self) -> None:
        """This rule no longer applies."""
        self.active = False

    def count_hit(self) -> None:
        """One more call was failed or delayed by this rule."""
        self.hits += 1
        if self.remaining is not None:
            self.remaining -= 1
            if self.remaining <= 0:
                self.active = False


@dataclass
class Plan:
    """What happens to one call: a delay, then the method, a failure, or both in that order."""

    delay: float = 0.0
    failure: Failure | None = None
    takes_effect: bool = False


@dataclass
class InjectedFault:
    """A call a rule failed or delayed (for the test's own assertions)."""

    method: str
    failure: Failure | None
    delay: float


@dataclass
class Faults:
    """The scripted failures of one emulator. Random choices come from one RNG seeded with ``seed``."""

    clock: Clock
    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)
    injected: list[InjectedFault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def fail(
        self,
        methods: str | Iterable[str],
        failure: Failure,
        *,
        times: int | None = None,
        for_seconds: float | None = None,
        probability: float = 1.0,
        chat_id: int | None = None,
        takes_effect: bool = False,
    ) -> FaultRule:
        """Make calls of ``methods`` ("*" for all) fail: the next ``times`` failures, or during ``for_seconds`` on the
        emulator's clock from now, or until cancelled; each matching call with ``probability``."""
        rule = self._rule(methods, times, for_seconds, probability, chat_id)
        rule.failure, rule.takes_effect = failure, takes_effect
        self.rules.append(rule)
        return rule

    def slow(
        self,
        methods: str | Iterable[str],
        seconds: float | tuple[float, float],
        *,
        times: int | None = None,
        for_seconds: float | None = None,
        probability: float = 1.0,
        chat_id: int | None = None,
    ) -> FaultRule:
        """Delay calls of ``methods`` by ``seconds``, or by a seeded-random time within ``(low, high)``."""
        low, high = (seconds, seconds) if isinstance(seconds, int | float) else seconds
        if not 0 <= low <= high:
            raise ValueError("latency must be 0 <= low <= high seconds")
        rule = self._rule(methods, times, for_seconds, probability, chat_id)
        rule.latency = (float(low), float(high))
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """No more scripted failures or latency."""
        for rule in self.rules:
            rule.cancel()
        self.rules.clear()

    def plan(self, method: str, params: JsonDict) -> Plan:
        """Decide the fate of one call (consumes ``times`` and random draws)."""
        now = self.clock.now()
        plan = Plan()
        for rule in list(self.rules):
            if not rule.matches(method, params, now):
                continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            if rule.failure is None:
                low, high = rule.latency
                plan.delay += low if low == high else self._rng.uniform(low, high)
                rule.count_hit()
            elif plan.failure is None:
                plan.failure, plan.takes_effect = rule.failure, rule.takes_effect
                rule.count_hit()
        self.rules = [rule for rule in self.rules if rule.active and (rule.until is None or now < rule.until)]
        if plan.failure is not None or plan.delay:
            self.injected.append(InjectedFault(method, plan.failure, plan.delay))
        return plan

    def _rule(
        self,
        methods: str | Iterable[str],
        times: int | None,
        for_seconds: float | None,
        probability: float,
        chat_id: int | None,
    ) -> FaultRule:
        names = frozenset(m.lower() for m in ([methods] if isinstance(methods, str) else methods))
        if not names:
            raise ValueError('name at least one method, or "*"')
        if times is not None and times < 1:
            raise ValueError("times must be at least 1")
        if for_seconds is not None and for_seconds <= 0:
            raise ValueError("for_seconds must be positive")
        if not 0 < probability <= 1:
            raise ValueError("probability must be in (0, 1]")
        until = self.clock.now() + for_seconds if for_seconds is not None else None
        return FaultRule(names, chat_id, remaining=times, until=until, probability=probability)
