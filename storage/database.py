"""The database lifecycle: async engine (SQLite default, PostgreSQL by URL), transactions, participant locks."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeAlias

from sqlalchemy import event, func
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.errors import DatabaseUnavailable, StorageError

ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}
CONNECT_TIMEOUT_SECONDS = 10.0
QUERY_TIMEOUT_SECONDS = 60.0
"""PostgreSQL: a statement that gets no answer for this long fails (the database counts as unavailable), so a
connection that hangs (a network that drops packets instead of refusing them) cannot hold an update, and the
participant's lock, forever. Far above what any statement here takes (1M answers are summarised in about 1 s)."""
POOL_CONNECTIONS = 20
SCRUB = "voices_scrub"
"""Set `session.info[SCRUB] = True` in a transaction that erased personal data: after it commits, SQLite's
write-ahead log is checkpointed and truncated, so no copy of the erased rows stays on disk."""


def request_scrub(session: AsyncSession) -> None:
    """Ask for the erased data's old copies to be scrubbed from disk once this transaction commits."""
    session.info[SCRUB] = True


BEFORE_COMMIT = "voices_before_commit"


def before_commit(session: AsyncSession, write: Callable[[AsyncSession], Awaitable[None]]) -> None:
    """Have `write(session)` run at the end of this transaction's body, just before it commits (once, however
    often it is asked for): a storage function can gather its writes and make them one statement."""
    pending: list[Callable[[AsyncSession], Awaitable[None]]] = session.info.setdefault(BEFORE_COMMIT, [])
    if write not in pending:
        pending.append(write)


async def _run_before_commit(session: AsyncSession) -> None:
    for write in session.info.pop(BEFORE_COMMIT, ()):
        await write(session)


DbSession: TypeAlias = AsyncSession
"""What `Database.transaction()` yields. Outside storage it is only handed to storage functions (never used for
SQL), so callers can name its type without importing the ORM."""


class Database:
    """One engine per process. `transaction(lock_key=...)` is the unit of work for one update."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        query_timeout: float = QUERY_TIMEOUT_SECONDS,
    ) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StorageError(
                "DATABASE_URL is not a database URL; use sqlite+aiosqlite:///path/to/file.db or "
                "postgresql+asyncpg://user@host:5432/db"
            ) from exc
        self.url = url
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise StorageError(f"DATABASE_URL: unsupported database {self.dialect!r} (use sqlite or postgresql)")
        driver = parsed.get_driver_name()
        wanted = ASYNC_DRIVERS[self.dialect]
        if driver != wanted:
            raise StorageError(
                f"DATABASE_URL: {self.dialect} needs the asynchronous driver {wanted}: "
                f"write {self.dialect}+{wanted}://... instead of {parsed.drivername}://..."
            )
        # hide_parameters: SQL errors and logs never carry values (pseudonyms, ciphertexts).
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                _create_private(Path(parsed.database))
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
            # POOL_CONNECTIONS connections, kept open once opened (none beyond): the updates in flight (16 by
            # default) hold one each, plus the outbox, the dashboard and the cleanup; opening and closing extra
            # ones under load cost the server more CPU than the answers (bench/e2e_pg.py); keep workers x
            # POOL_CONNECTIONS under PostgreSQL's max_connections
            kwargs["pool_size"] = POOL_CONNECTIONS
            kwargs["max_overflow"] = 0
            # a server that does not answer is reported (DatabaseUnavailable) after 10 s, not asyncpg's 60 s; a
            # statement (the pool's ping included) after `query_timeout`: asyncpg has none by default
            kwargs["connect_args"] = {"timeout": connect_timeout, "command_timeout": query_timeout}
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        # SQLite has one writer at a time anyway; one in-process lock serialises our write transactions
        # (and so orders each participant's updates). PostgreSQL uses an advisory lock per participant.
        self._sqlite_write_lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self, lock_key: str | None = None) -> AsyncIterator[AsyncSession]:
        """A session in one transaction, committed on success; `lock_key` serialises one participant. A database
        that cannot be reached (refused, timed out, connection lost) raises `DatabaseUnavailable`: nothing was
        committed, so the caller may try the same work again later."""
        entered = False
        try:
            async with self._transaction(lock_key) as session:
                entered = True
                yield session
        except Exception as exc:
            await self._raise_if_unavailable(exc, entered=entered)
            raise

    async def _raise_if_unavailable(self, error: Exception, *, entered: bool = True) -> None:
        """Raise DatabaseUnavailable, naming what to check, when `error` says the database is away. A bare
        network error or timeout may come from other work in the transaction's body: it counts only when the
        database does not answer now either (otherwise it is a fault of its own, raised as it is). Before the
        body was `entered` (connecting, beginning, taking the participant's lock) only the database was at work:
        no ping then, which would wrongly pass once the database is back a moment later."""
        if isinstance(error, DatabaseUnavailable) or not unavailable(error):
            return
        if entered and isinstance(error, OSError) and await self.ping(timeout=2.0):
            return
        raise DatabaseUnavailable(explain(error, self.url) or "the database is unavailable") from error

    async def ping(self, timeout: float = 5.0) -> bool:  # noqa: ASYNC109 - the health check's own bound
        """True when the database answers a trivial query within `timeout` seconds (the health check); False
        when it cannot be reached."""
        try:
            async with asyncio.timeout(timeout), self.engine.connect() as connection:
                await connection.exec_driver_sql("SELECT 1")
        except Exception as exc:
            if unavailable(exc):
                return False
            raise
        return True

    @asynccontextmanager
    async def _transaction(self, lock_key: str | None) -> AsyncIterator[AsyncSession]:
        if self.dialect == "sqlite":
            async with self._sqlite_write_lock, self._sessions() as session:
                async with session.begin():
                    yield session
                    await _run_before_commit(session)
                if session.info.pop(SCRUB, False):
                    await self._checkpoint()
            return
        async with self._sessions() as session, session.begin():
            if lock_key is not None:
                await self.lock(session, [lock_key])
            yield session
            await _run_before_commit(session)

    async def lock(self, session: AsyncSession, keys: Iterable[str]) -> None:
        """Take, in `session`'s transaction, the participant locks of these pseudonyms (the lock
        `transaction(lock_key=...)` takes for one), until it ends: for work on several people's chats outside
        their updates (the results message). Taken in one order (by key), so that two such transactions never
        wait on each other in a circle. On SQLite writers are serialised already (the process's write lock, and
        SQLite's own between processes): nothing more."""
        if self.dialect == "sqlite":
            return
        for key in sorted({advisory_key(value) for value in keys}):
            await session.exec(select(func.pg_advisory_xact_lock(key)))

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only (summaries, listings); `DatabaseUnavailable` as in `transaction`."""
        try:
            async with self._sessions() as session:
                yield session
        except Exception as exc:
            await self._raise_if_unavailable(exc)
            raise

    async def _checkpoint(self) -> None:
        """Copy the write-ahead log into the database file and truncate it. With `secure_delete`, deleted rows
        are overwritten in the database file; the log held their old pages until now."""
        async with self.engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    async def dispose(self) -> None:
        await self.engine.dispose()


def advisory_key(value: str) -> int:
    """A signed 64-bit key for pg_advisory_xact_lock derived from a pseudonym."""
    return int.from_bytes(hashlib.sha256(value.encode()).digest()[:8], "big", signed=True)


def _create_private(path: Path) -> None:
    """Create the SQLite file readable by its owner only (0600) before SQLite opens it: its write-ahead log and
    shared-memory files take the same permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA cache_size=-65536")  # up to 64 MiB of pages: summaries read a large index once
    cursor.close()


UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
"""PostgreSQL error codes meaning "not reachable now": connection exceptions (class 08), administrator or crash
shutdown, "cannot connect now" (starting up), too many connections."""
UNAVAILABLE_SQLITE = ("unable to open database file", "disk i/o error", "database is locked", "readonly database")


def unavailable(error: BaseException) -> bool:
    """True when `error` says the database cannot be reached right now (as opposed to a bug or bad data): the
    server refuses or times out, the connection was lost, the pool is exhausted, the SQLite file cannot be
    opened, read or locked."""
    if isinstance(error, DatabaseUnavailable | OSError | TimeoutError | PoolTimeout):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    orig = error.orig
    causes = [orig, getattr(orig, "__cause__", None)]
    if any(isinstance(cause, OSError | TimeoutError) for cause in causes):
        return True
    sqlstate = next((str(s) for c in causes if (s := getattr(c, "sqlstate", None))), "")
    if sqlstate.startswith(UNAVAILABLE_SQLSTATES):
        return True
    text = str(orig).lower()
    return any(marker in text for marker in UNAVAILABLE_SQLITE)


def explain(error: BaseException, url: str | None = None) -> str | None:
    """One line an operator can act on for a database failure (unreachable server, missing database, refused
    login), or None when `error` is not one. Never the SQL or its parameters."""
    where = ""
    if url:
        try:
            parsed = make_url(url)
            where = f" at {parsed.host or 'localhost'}:{parsed.port or 5432}" if parsed.host else f" {parsed.database}"
        except ArgumentError:
            where = ""
    text = str(getattr(error, "orig", None) or error)
    if isinstance(error, ConnectionRefusedError | socket.gaierror | TimeoutError):
        return f"cannot reach the database{where} ({type(error).__name__}); is it running? Check DATABASE_URL"
    if isinstance(error, DBAPIError | OperationalError):
        if "does not exist" in text and "database" in text:
            name = make_url(url).database if url else "it"
            return f"the database {name!r} does not exist{where}: create it (e.g. createdb {name}) or fix DATABASE_URL"
        if "password authentication failed" in text or ("role" in text and "does not exist" in text):
            return f"the database{where} refused the login: check the user and password in DATABASE_URL"
        if "unable to open database file" in text:
            return f"cannot open the SQLite file{where}: check that its folder exists and is writable"
        return f"the database{where} failed: {type(getattr(error, 'orig', None) or error).__name__}"
    return None
