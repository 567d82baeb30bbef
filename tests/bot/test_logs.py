"""The operator's log lines: whatever a record carries, a line is always written."""

from __future__ import annotations

import json
import logging

from bot.logs import JsonFormatter


def test_a_lone_surrogate_in_a_record_is_written_escaped() -> None:
    """Issue 10, item 8: a lone surrogate (from a client) cannot be UTF-8; the line is written with it escaped."""
    record = logging.LogRecord("voices", logging.WARNING, __file__, 1, "bad \ud800 value", None, None)
    line = JsonFormatter().format(record)
    line.encode()
    assert json.loads(line)["msg"] == "bad \ud800 value"
    plain = logging.LogRecord("voices", logging.INFO, __file__, 1, "Ça va", None, None)
    assert "Ça va" in JsonFormatter().format(plain)  # readable text stays as it is
