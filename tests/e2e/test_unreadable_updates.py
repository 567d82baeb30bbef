"""An update python-telegram-bot cannot read (an odd client, a newer Bot API) is acknowledged and dropped, and
polling goes on: it must not stall every participant behind it, and nothing of it reaches the logs."""

from __future__ import annotations

import logging

import pytest

from bot import logs
from tests.e2e.conftest import CODE, Harness


async def test_an_unreadable_update_is_dropped_and_polling_goes_on(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    logs.quieten_libraries()
    caplog.set_level(logging.DEBUG)
    user = h.user()
    secret = "Zanzibar-payload-words"
    h.emulator.inject_update(
        {
            "message": {
                "message_id": 1,
                "date": "not a date",
                "chat": {"id": user.id, "type": "private"},
                "from": {"id": user.id, "is_bot": False, "first_name": secret},
                "text": secret,
            }
        },
        record_messages=False,
    )
    h.emulator.inject_update({"callback_query": secret}, record_messages=False)
    await h.emulator.wait_until(lambda: not h.emulator.pending_updates(), timeout=10)
    [consent] = await h.send(user, f"/start {CODE}")
    assert consent.text and consent.text.startswith("Hello.")
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "unreadable update acknowledged and dropped" in logged
    assert secret not in logged


async def test_an_invite_code_is_matched_in_any_case(harness: Harness) -> None:
    user = harness.user()
    [consent] = await harness.send(user, f"/start {CODE.lower()}")
    assert consent.text and consent.text.startswith("Hello.")
