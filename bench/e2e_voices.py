"""`python -m bot run` with the outbox sender at another overall rate, for bench/e2e.py's `--voices-overall-rate`
experiment and bench/e2e_pg.py: `python -m bench.e2e_voices RATE [--webhook]` (0 lifts the overall limit; the
arguments after RATE go to `bot run`). The product's own limit (bot/outbox.py:
30 messages a second for the bot as a whole, shared by the live workers) is what Telegram enforces for messages to
many chats, so this shows what that limit costs, not a setting to ship."""

from __future__ import annotations

import sys
from typing import Any

from bot.outbox import OutboxSender

UNLIMITED = 1e9
"""Messages a second that no run reaches: the overall limit lifted."""


def main() -> int:
    rate = float(sys.argv[1]) or UNLIMITED
    original = OutboxSender.__init__

    def init(self: OutboxSender, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **{**kwargs, "rate": rate})

    OutboxSender.__init__ = init  # type: ignore[method-assign]
    from bot.cli import main as run

    return run(["run", *sys.argv[2:]])


if __name__ == "__main__":
    sys.exit(main())
