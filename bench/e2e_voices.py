"""`python -m bot run` with python-telegram-bot's AIORateLimiter at another overall rate, for bench/e2e.py's
`--voices-overall-rate` experiment: `python -m bench.e2e_voices RATE` (0 lifts the overall limit; the per-chat
limit stays). The product's own limiter (bot/telegram.py: PTB's defaults, 30 requests/s overall) is what
Telegram enforces for messages to many chats, so this shows what that limit costs, not a setting to ship."""

from __future__ import annotations

import sys
from typing import Any

from telegram.ext import AIORateLimiter


def main() -> int:
    rate = float(sys.argv[1])
    original = AIORateLimiter.__init__

    def init(self: AIORateLimiter, **kwargs: Any) -> None:
        original(self, **{**kwargs, "overall_max_rate": rate})

    AIORateLimiter.__init__ = init  # type: ignore[method-assign, assignment]
    from bot.cli import main as run

    return run(["run"])


if __name__ == "__main__":
    sys.exit(main())
