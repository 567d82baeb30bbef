"""Alembic migrations run programmatically: `python -m bot db upgrade`, `make run`, and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

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

    async with database.engine.begin() as connection:
        return await connection.run_sync(run)


async def downgrade(database: Database, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config(database.url)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(run)
