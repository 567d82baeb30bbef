"""Alembic migrations run programmatically: `python -m bot db upgrade`, `make run`, and the tests."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from config.errors import StorageError
from storage.database import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_REVISION = re.compile(r"^revision(?:: str)? = ['\"]([^'\"]+)['\"]\s*$", re.MULTILINE)
_DOWN = re.compile(r"^down_revision(?:: [^=]+)? = (None|['\"]([^'\"]+)['\"])\s*$", re.MULTILINE)


def schema_head() -> str | None:
    """The one head revision, read from the migration files without importing alembic (alembic and its
    dependencies cost every worker about 8 MB and a tenth of a second); None when the files are not plain enough
    to tell (a merge revision, two heads), and then alembic decides."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN.search(source)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        if down.group(2):
            downs.add(down.group(2))
    heads = revisions - downs
    return next(iter(heads)) if len(heads) == 1 else None


async def current_revision(database: Database) -> str | None:
    """The database's schema revision (None: no schema yet, or no alembic_version table)."""
    async with database.engine.connect() as connection:
        try:
            rows = (await connection.exec_driver_sql("SELECT version_num FROM alembic_version")).all()
        except DBAPIError:
            return None
    return str(rows[0][0]) if len(rows) == 1 else None


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(database: Database, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the schema to `revision` on the database's own connection (works inside a running loop); returns
    the revision before and after (None: no schema yet). A schema already at the head is left as it is without
    loading alembic (every start of every worker, and every command, asks)."""
    if revision == "head":
        head = schema_head()
        if head is not None and await current_revision(database) == head:
            return head, head
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    def run(connection: Connection) -> tuple[str | None, str | None]:
        before = MigrationContext.configure(connection).get_current_revision()
        config = alembic_config(database.url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        return before, MigrationContext.configure(connection).get_current_revision()

    async with _migrating(database) as connection:
        return await connection.run_sync(run)


async def downgrade(database: Database, revision: str) -> None:
    from alembic import command

    def run(connection: Connection) -> None:
        config = alembic_config(database.url)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with _migrating(database) as connection:
        await connection.run_sync(run)


@asynccontextmanager
async def _migrating(database: Database) -> AsyncIterator[AsyncConnection]:
    """A connection in one transaction for migrations. On SQLite, foreign keys are off while migrating: a batch
    migration re-creates a table (copy, drop, rename), and dropping a table with foreign keys on first deletes
    its rows, so ON DELETE CASCADE would empty every table that refers to it (sessions, answers, invites...).
    Afterwards every reference is checked, and the migration is refused if one is broken."""
    async with database.engine.connect() as connection:
        sqlite = database.dialect == "sqlite"
        if sqlite:  # outside any transaction, or SQLite ignores it
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.commit()
        try:
            async with connection.begin():
                yield connection
                if sqlite:
                    broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise StorageError(f"the migration left {len(broken)} broken reference(s) (foreign_key_check)")
        finally:
            if sqlite:
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                await connection.commit()
