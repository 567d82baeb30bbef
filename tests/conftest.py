"""Shared fixtures: a migrated database on SQLite and on a real PostgreSQL server, and test secrets."""

from __future__ import annotations

import logging
import os
import uuid

# PTB 22 warns while building RetryAfter unless timedeltas are opted in; warnings are errors in tests.
os.environ.setdefault("PTB_TIMEDELTA", "true")
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from config.settings import Secrets
from storage.database import Database
from storage.migrate import upgrade

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    """A test that runs the CLI in-process leaves `bot.logs`' handler on the root logger, writing to the stderr
    pytest captured for that test; later tests' logs would go to that closed stream ("--- Logging error ---")."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def secrets() -> Secrets:
    return Secrets(pepper=b"test-pepper-not-for-production", keys=[("k1", bytes(range(32)))])


async def _postgres_database() -> tuple[str, str]:
    """Create a fresh, uniquely named database on the test server; return (url, name)."""
    base = make_url(TEST_DATABASE_URL)
    name = f"voices_test_{uuid.uuid4().hex[:12]}"
    dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        connection = await asyncpg.connect(dsn, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL at TEST_DATABASE_URL is not reachable ({type(exc).__name__}: {exc}). "
            "Start it (see README, 'Tests') or set TEST_DATABASE_URL."
        )
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return base.set(database=name).render_as_string(hide_password=False), name


async def _drop_postgres_database(name: str) -> None:
    base = make_url(TEST_DATABASE_URL)
    connection = await asyncpg.connect(base.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def open_database(backend: str, tmp_path: Path) -> tuple[Database, str | None]:
    if backend == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'voices.db'}")
        await upgrade(database)
        return database, None
    url, name = await _postgres_database()
    database = Database(url)
    await upgrade(database)
    return database, name


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A freshly migrated database; tests using it run once on SQLite and once on PostgreSQL."""
    db, name = await open_database(request.param, tmp_path)
    try:
        yield db
    finally:
        await db.dispose()
        if name is not None:
            await _drop_postgres_database(name)


@pytest.fixture
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Database]:
    db, _ = await open_database("sqlite", tmp_path)
    try:
        yield db
    finally:
        await db.dispose()
