"""A real TCP relay in front of the test PostgreSQL server that can be switched off (connections refused, the
open ones cut, as when the server goes down) and on again: the database going away, for real."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.engine import make_url

from storage.database import Database
from storage.migrate import upgrade
from tests.conftest import _drop_postgres_database, _postgres_database


class DatabaseSwitch:
    """`off`: the server down (refused, cut); `on(silent=True)`: a server that accepts and never answers; `hang`:
    the network dropping everything from now on, on the open connections too, without cutting them."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.listen_port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.silent = False
        self.hung = False

    async def on(self, *, silent: bool = False) -> None:
        """Accept connections (on the same port as before, once it has one) and relay them, or with `silent`
        never answer them (a server that does not respond)."""
        await self.off()
        self.silent, self.hung = silent, False
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.listen_port, reuse_address=True)
        self.listen_port = self._server.sockets[0].getsockname()[1]

    async def off(self) -> None:
        """Refuse new connections and cut the open ones."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await asyncio.sleep(0)

    def hang(self) -> None:
        """From now on nothing goes through, either way, on any connection, open or new; none is cut (`on`
        again cuts them and relays anew)."""
        self.silent = self.hung = True

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                if self.hung:
                    continue  # dropped, as by a network that has gone quiet
                writer.write(data)
                await writer.drain()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.silent:
            self._writers.add(writer)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, upstream_writer))
        pipes = [
            asyncio.ensure_future(self._pipe(reader, upstream_writer)),
            asyncio.ensure_future(self._pipe(upstream_reader, writer)),
        ]
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        for pipe in pipes:
            pipe.cancel()
        for w in (writer, upstream_writer):
            self._writers.discard(w)
            w.transport.abort()


@contextlib.asynccontextmanager
async def switched_postgres(
    connect_timeout: float = 10.0, query_timeout: float = 60.0
) -> AsyncIterator[tuple[Database, DatabaseSwitch]]:
    """A fresh, migrated PostgreSQL database reached through a switch."""
    url, name = await _postgres_database()
    parsed = make_url(url)
    switch = DatabaseSwitch(parsed.host or "127.0.0.1", parsed.port or 5432)
    await switch.on()
    url = parsed.set(host="127.0.0.1", port=switch.listen_port).render_as_string(hide_password=False)
    database = Database(url, connect_timeout=connect_timeout, query_timeout=query_timeout)
    await upgrade(database)
    try:
        yield database, switch
    finally:
        await database.dispose()
        await switch.off()
        await _drop_postgres_database(name)
