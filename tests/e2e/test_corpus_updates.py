"""Real-world Update payloads (../shared/corpus/telegram_updates): the bot survives every one and leaks nothing."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from bot import logs
from tests.e2e.conftest import Harness

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "telegram_updates"


def corpus_updates() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(CORPUS.glob("*/*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            continue
        if "update_id" not in data and "message_id" in data:
            data = {"message": data}  # some libraries' fixtures are bare Message objects
        data.pop("update_id", None)
        found.append((f"{path.parent.name}/{path.name}", data))
    return found


def identities(payload: Any) -> set[str]:
    """Names, usernames, phone numbers and texts found anywhere in a payload."""
    out: set[str] = set()
    if isinstance(payload, dict):
        for key, value in payload.items():
            personal = key in ("first_name", "last_name", "username", "phone_number", "text")
            if personal and isinstance(value, str) and len(value) >= 4 and not value.startswith("/"):
                out.add(value)
            out |= identities(value)
    elif isinstance(payload, list):
        for item in payload:
            out |= identities(item)
    return out


@pytest.mark.skipif(not CORPUS.exists(), reason="../shared/corpus is not beside this checkout (CI always has it)")
async def test_every_corpus_update_is_survived_without_leaking(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    updates = corpus_updates()
    assert len(updates) >= 30
    logs.quieten_libraries()  # as `python -m bot run` does, even with VOICES_LOG_LEVEL=DEBUG
    caplog.set_level(logging.DEBUG)
    for _, payload in updates:
        h.emulator.inject_update(payload, record_messages=False)
    await h.emulator.wait_until(lambda: not h.emulator.pending_updates(), timeout=30)
    # still serving: a participant starts normally after all of that
    user = h.user()
    [reply] = await h.send(user, "/help")
    assert reply.text and "/start" in reply.text
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    leaked = sorted(s for _, p in updates for s in identities(p) if s in logged)
    assert leaked == []
