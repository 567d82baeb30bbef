"""The database lifecycle: async engine (SQLite default, PostgreSQL by URL), transactions, participant locks."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeAlias

from sqlalchemy import event, func
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.errors import StorageError

Session: TypeAlias = AsyncSession
"""The session repository functions take: callers outside storage name its type without importing SQL libraries."""


class Database:
    """One engine per process. `transaction(lock_key=...)` is the unit of work for one update."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        parsed = make_url(url)
        self.url = url
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise StorageError(f"DATABASE_URL: unsupported database {self.dialect!r} (use sqlite or postgresql)")
        # hide_parameters: SQL errors and logs never carry values (pseudonyms, ciphertexts).
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        # SQLite has one writer at a time anyway; one in-process lock serialises our write transactions
        # (and so orders each participant's updates). PostgreSQL uses an advisory lock per participant.
        self._sqlite_write_lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self, lock_key: str | None = None) -> AsyncIterator[AsyncSession]:
        """A session in one transaction, committed on success; `lock_key` serialises one participant."""
        if self.dialect == "sqlite":
            async with self._sqlite_write_lock, self._sessions() as session, session.begin():
                yield session
            return
        async with self._sessions() as session, session.begin():
            if lock_key is not None:
                await session.exec(select(func.pg_advisory_xact_lock(advisory_key(lock_key))))
            yield session

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only (summaries, listings)."""
        async with self._sessions() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def advisory_key(value: str) -> int:
    """A signed 64-bit key for pg_advisory_xact_lock derived from a pseudonym."""
    return int.from_bytes(hashlib.sha256(value.encode()).digest()[:8], "big", signed=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()
