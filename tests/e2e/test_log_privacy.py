"""Logs never trace a person's path: no log line, at any level, names a step or state of the questionnaire."""

from __future__ import annotations

import logging
import re

import pytest

from bot import logs
from tests.e2e.conftest import CODE, Harness


async def test_no_log_line_names_a_step_or_state(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 10.10: `transitions` logged every state entered at INFO, so with branching the log revealed answers."""
    h = harness
    logs.quieten_libraries()  # what `python -m bot` does at start-up, whatever VOICES_LOG_LEVEL says
    caplog.set_level(logging.DEBUG)
    flow = h.library.latest("roadmap_feedback")
    user = h.user()
    [consent] = await h.send(user, f"/start {CODE}")
    group = await h.agree(user, consent)
    await h.press(user, group, "Other")
    _, message = await h.send(user, "/back", expect=2)
    await h.send(user, "/pause")
    _, message = await h.send(user, "/resume", expect=2)
    for _ in range(len(flow.steps)):
        if not message.buttons or not message.text:
            break
        labels = [str(b["text"]) for b in message.buttons]
        if "Skip" not in labels:
            break
        single = "Done" not in labels  # a single choice moves on when pressed; a multiple choice is skipped
        [message] = await h.press(user, message, labels[0] if single else "Skip")
    assert message.text and message.text.startswith("Thank you")
    logging.getLogger("bot.telegram").debug("capture check")  # the capture sees DEBUG lines of the product
    records = list(caplog.records)
    assert any(r.getMessage() == "capture check" for r in records)
    logged = "\n".join(
        " ".join(str(x) for x in (r.name, r.getMessage(), r.exc_text or "", *r.__dict__.values())) for r in records
    )
    named = sorted(step.id for step in flow.steps if re.search(rf"\b{re.escape(step.id)}\b", logged))
    assert not named, f"log lines name steps {named}"
    assert not [r for r in records if r.name.startswith("transitions")]
