"""`python -m bot run` with the outbox sender at another overall rate, for bench/e2e.py's `--voices-overall-rate`
experiment and bench/e2e_pg.py: `python -m bench.e2e_voices RATE [--webhook]` (0 lifts the overall limit; the
arguments after RATE go to `bot run`). The product's own limit (bot/outbox.py:
30 messages a second for the bot as a whole, shared by the live workers) is what Telegram enforces for messages to
many chats, so this shows what that limit costs, not a setting to ship. BENCH_POOL_CONNECTIONS=N (bench/e2e_pg.py's
`--pool-connections` experiment): a PostgreSQL pool that keeps N connections open, none opened beyond them,
instead of storage/database.py's 5 kept and 15 more opened and closed as needed."""

from __future__ import annotations

import os
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
    if pool := int(os.environ.get("BENCH_POOL_CONNECTIONS", "0")):
        keep_pool(pool)
    from bot.cli import main as run

    return run(["run", *sys.argv[2:]])


def keep_pool(connections: int) -> None:
    from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

    import storage.database

    def create(url: Any, **kwargs: Any) -> AsyncEngine:
        if "pool_size" in kwargs:  # PostgreSQL
            kwargs = {**kwargs, "pool_size": connections, "max_overflow": 0}
        return create_async_engine(url, **kwargs)

    setattr(storage.database, "create_async_engine", create)  # noqa: B010 - the name storage.database calls


if __name__ == "__main__":
    sys.exit(main())
