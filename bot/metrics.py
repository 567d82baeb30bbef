"""Operational counters for `/metrics` (Prometheus text format): updates by kind and result, Bot API calls by
method and result, update handling time. Counts only: no label ever holds an id, a name or any text of a person."""

from __future__ import annotations

import re
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from telegram import Update
from telegram.error import NetworkError

from bot.http import AiohttpRequest

REGISTRY = CollectorRegistry(auto_describe=True)
"""This process's metrics (one worker); Prometheus scrapes each worker and adds them up."""

UPDATES = Counter(
    "voices_updates",
    "Updates taken in, by kind (message, callback_query, other) and result (handled; failed: a bug, the person got "
    "the apology; deferred: the database was unavailable, the update is left for redelivery; unreadable)",
    ["kind", "result"],
    registry=REGISTRY,
)
API_CALLS = Counter(
    "voices_bot_api_calls",
    "Bot API calls, by method and result (ok, 4xx, 429, 5xx, network_error)",
    ["method", "result"],
    registry=REGISTRY,
)
HANDLING_SECONDS = Histogram(
    "voices_update_handling_seconds",
    "Time to handle one update (waiting for a free slot not included)",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
IN_FLIGHT = Gauge("voices_updates_in_flight", "Updates being handled now", registry=REGISTRY)
WAITING = Gauge(
    "voices_updates_waiting",
    "Updates received and waiting for a free slot (VOICES_MAX_UPDATES_IN_FLIGHT)",
    registry=REGISTRY,
)

KINDS = ("message", "callback_query")
METHOD = re.compile(r"^[A-Za-z]{1,40}$")
CONTENT_TYPE = CONTENT_TYPE_LATEST


def update_kind(update: object) -> str:
    """The kind of an update, from a fixed list (never anything it carries)."""
    if isinstance(update, Update):
        for kind in KINDS:
            if getattr(update, kind) is not None:
                return kind
    return "other"


def api_method(url: str) -> str:
    """The Bot API method of a request URL (…/bot<token>/sendMessage → sendMessage); never the token."""
    name = url.rstrip("/").rpartition("/")[2]
    return name if METHOD.match(name) else "other"


def api_result(status: int) -> str:
    if status == 200:
        return "ok"
    if status == 429:
        return "429"
    return f"{status // 100}xx"


def exposition() -> bytes:
    """The metrics in Prometheus' text format."""
    return generate_latest(REGISTRY)


class CountingRequest(AiohttpRequest):
    """The Bot API connection, counting each call by method and result."""

    async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        name = api_method(url)
        try:
            status, payload = await super().do_request(url, method, *args, **kwargs)
        except NetworkError:
            API_CALLS.labels(name, "network_error").inc()
            raise
        API_CALLS.labels(name, api_result(status)).inc()
        return status, payload
