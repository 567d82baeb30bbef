"""Alembic migrations run programmatically: `python -m bot db upgrade`, `make run`, and the tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from config.errors import StorageError
from storage.database import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(database: Database, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the schema to `revision` on the database's own connection (works inside a running loop); returns
    the revision before and after (None: no schema yet)."""

    def run(connection: Connection) -> tuple[str | None, str | None]:
        before = MigrationContext.configure(connection).get_current_revision()
        config = alembic_config(database.url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        return before, MigrationContext.configure(connection).get_current_revision()

    async with _migrating(database) as connection:
        return await connection.run_sync(run)


async def downgrade(database: Database, revision: str) -> None:
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
