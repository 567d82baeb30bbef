"""`DatabaseUnavailable`: the database refusing connections, or losing one mid-transaction, is told apart from a
fault of the code, on a real PostgreSQL server (behind a relay that is switched off) and on SQLite."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from config.errors import DatabaseUnavailable
from storage.database import Database
from tests.conftest import TEST_DATABASE_URL
from tests.e2e.database_switch import switched_postgres


async def test_a_network_error_of_other_work_is_not_the_database(database: Database) -> None:
    """The body of a transaction failing with a network error while the database answers: a fault, as it is."""
    with pytest.raises(ConnectionRefusedError):
        async with database.transaction():
            raise ConnectionRefusedError("another service")
    assert await database.ping()


async def test_refused_connections_are_unavailable_until_the_server_is_back() -> None:
    async with switched_postgres() as (database, switch):
        assert await database.ping()
        await switch.off()
        assert not await database.ping()
        with pytest.raises(DatabaseUnavailable, match=r"cannot reach the database at 127\.0\.0\.1:\d+"):
            async with database.transaction() as session:
                await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        with pytest.raises(DatabaseUnavailable):
            async with database.reader() as session:
                await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        await switch.on()
        assert await database.ping()
        async with database.transaction() as session:
            assert (await session.exec(text("SELECT 1"))).one() == (1,)  # type: ignore[call-overload]


async def test_a_connection_lost_mid_transaction_is_unavailable() -> None:
    """The server ends our session (a restart, a failover): nothing was committed; the work can be done again."""
    async with switched_postgres() as (database, _):
        admin = await asyncpg.connect(make_url(TEST_DATABASE_URL).set(drivername="postgresql").render_as_string())
        try:
            with pytest.raises(DatabaseUnavailable):
                async with database.transaction() as session:
                    pid = (await session.exec(text("SELECT pg_backend_pid()"))).one()[0]  # type: ignore[call-overload]
                    await admin.execute("SELECT pg_terminate_backend($1)", pid)
                    await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        finally:
            await admin.close()
        async with database.transaction() as session:  # the pool replaced the dead connection
            assert (await session.exec(text("SELECT 1"))).one() == (1,)  # type: ignore[call-overload]


async def test_a_server_that_does_not_answer_is_unavailable_after_the_connect_timeout() -> None:
    async with switched_postgres(connect_timeout=1.0) as (database, switch):
        await switch.on(silent=True)  # the open connections are cut; new ones are accepted and never answered
        assert not await database.ping(timeout=2.0)
        with pytest.raises(DatabaseUnavailable, match="TimeoutError"):
            async with database.transaction() as session:
                await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        await switch.on()
        assert await database.ping()
