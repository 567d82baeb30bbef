"""Logging set-up: structured lines without message text, Telegram ids or the bot token (ours or libraries')."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
BOT_URL_PATTERN = re.compile(r"/bot[^/\s]+/")
HANDLER_NAME = "voices"
NOISY_LOGGERS = (
    "httpx",
    "httpcore",
    "telegram",
    "aiosqlite",
    "asyncpg",
    "sqlalchemy",
    "aiohttp.access",
    "alembic",
    "transitions",  # logs every state entered: with branching, that is a trace of a person's answers
)


class RedactingFilter(logging.Filter):
    """Last line of defence: scrub anything token-shaped from every record that reaches a handler."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[secret]")
        text = TOKEN_PATTERN.sub("[token]", text)
        return BOT_URL_PATTERN.sub("/bot[token]/", text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.scrub(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # keep the type and where it happened; drop the message, which may quote input
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in ("event", "outcome", "flow", "step", "consultation", "error"):
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_text:
            line["exc"] = record.exc_text
        text = json.dumps(line, ensure_ascii=False)
        try:
            text.encode()
        except UnicodeEncodeError:  # a lone surrogate (from a client) cannot be UTF-8: write it escaped
            return json.dumps(line)
        return text


def configure(level: str = "INFO", secrets: list[str] | None = None, *, json_lines: bool = False) -> None:
    """Route every logger through one redacting handler; quieten libraries that log request URLs."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter(secrets or []))
    handler.setFormatter(
        JsonFormatter() if json_lines else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    quieten_libraries()


def quieten_libraries() -> None:
    """Libraries whose own logs carry request URLs (with the bot token), update payloads or SQL parameters
    log warnings and errors only, whatever VOICES_LOG_LEVEL says."""
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
