"""One update loads the participant, its session and the consultation once, in one transaction, with few
statements: counted here so it cannot grow back (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import CacheStats

from config.settings import Secrets
from consultations import lifecycle
from consultations.interactions import AskHelp, Begin, Do, Said
from consultations.service import ConversationService
from flows.events import Command
from flows.loader import shipped_library
from storage.database import Database
from tests.consultations.chat import Chat

CODE = "COUNT1"


@contextmanager
def counted(database: Database) -> Iterator[list[str]]:
    """Every SQL statement the database runs meanwhile (transaction control included: BEGIN/COMMIT)."""
    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split()))

    def commit(conn: Any) -> None:
        statements.append("COMMIT")

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "commit", commit)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "commit", commit)


def reading(statements: list[str], table: str) -> list[str]:
    return [s for s in statements if s.startswith("SELECT") and (f"FROM {table}" in s or f"JOIN {table} " in s)]


def transactions(statements: list[str]) -> list[list[str]]:
    """The statements of each transaction, in order (PostgreSQL's per-participant lock left out)."""
    found: list[list[str]] = [[]]
    for statement in statements:
        if statement == "COMMIT":
            found.append([])
        elif "pg_advisory_xact_lock" not in statement:
            found[-1].append(statement)
    return [t for t in found if t]


async def open_chat(database: Database, secrets: Secrets) -> Chat:
    library = shipped_library()
    new = lifecycle.plan(library, flow_id="cso_consultation", country="NG", title="Counted")
    await lifecycle.open_consultation(database, new, code=CODE)
    chat = Chat(ConversationService(database, library, secrets), identity=990_001)
    await chat.send(Begin(CODE))
    await chat.choose(chat.last.options[0].label)  # consent
    return chat


async def test_an_ordinary_answer_is_one_transaction_of_few_statements(database: Database, secrets: Secrets) -> None:
    chat = await open_chat(database, secrets)
    # cso_consultation v2: org_type (a button), org_name (typed), sectors (a command)
    typed: list[Do | Said | None] = [None, Said("1"), Do(Command.SKIP)]  # a button, a typed answer, a command
    for answer in typed:
        with counted(database) as statements:
            if answer is None:
                await chat.choose(chat.last.options[0].label)
            else:
                await chat.send(answer)
        update, sent = transactions(statements)  # the update, then the ids of the messages sent (the adapter's)
        assert update[0].startswith("INSERT INTO processed_update"), update  # the update id, claimed
        assert len(reading(update, "participant")) == 1 and len(reading(update, "consultation")) == 1, update
        # claim, load, then the writes (storage.gather): the answer, the person's message id (a button's message
        # is the bot's, its id kept when it was sent), the session's state, the replies (one multi-row insert)
        writes = ["INSERT INTO answer", "UPDATE session SET state="]
        writes += ["INSERT INTO outbox"] if answer is None else ["INSERT INTO sent_message", "INSERT INTO outbox"]
        if database.dialect == "postgresql":  # one statement: claim, lock, load and write (the lock left out here)
            assert len(update) == 3, "\n".join(update)
            assert update[2].startswith("WITH ") and all(w in update[2] for w in writes), update[2]
        else:  # SQLite writes one table per statement
            assert len(update) == 2 + len(writes), "\n".join(update)
            assert sorted(w for w in writes for s in update[2:] if s.startswith(w)) == sorted(writes), update
        assert len(sent) == 1 and sent[0].startswith("INSERT INTO sent_message"), sent


async def test_commands_load_the_participant_once(database: Database, secrets: Secrets) -> None:
    chat = await open_chat(database, secrets)
    for incoming in (AskHelp(), Do(Command.PAUSE), Begin(None)):
        with counted(database) as statements:
            await chat.send(incoming)
        assert len(reading(statements, "participant")) == 1, statements
        assert len(transactions(statements)[0]) <= 6, statements  # the outbox's insert included


async def test_every_statement_of_a_conversation_is_compiled_once(database: Database, secrets: Secrets) -> None:
    """SQLAlchemy compiles a statement once and reuses it, unless the statement cannot be cached (e.g. rows given
    as `.values([...])`, different for every number of rows): then every update pays for compiling it again. A
    second person's whole conversation (buttons, typed answers, the replies written to the outbox, the message
    ids kept) uses only statements compiled for the first."""
    library = shipped_library()
    new = lifecycle.plan(library, flow_id="roadmap_feedback", country="NG", title="Cached")
    await lifecycle.open_consultation(database, new, code="CACHED")
    service = ConversationService(database, library, secrets)
    compiled: list[str] = []
    recording = False

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if recording and context is not None and context.cache_hit is not CacheStats.CACHE_HIT:
            compiled.append(f"{context.cache_hit}: {' '.join(statement.split())}")

    engine = database.engine.sync_engine
    event.listen(engine, "after_cursor_execute", after)
    try:
        for person in range(2):
            recording = person == 1
            chat = Chat(service, identity=770_000 + person)
            await chat.send(Begin("CACHED"))
            for _ in range(15):
                if chat.last.options:
                    await chat.choose(chat.last.options[0].label)
                else:
                    await chat.send(Said("More labour inspectors in the mines"))
            assert chat.last.options or chat.last.text  # the conversation went on to its end
    finally:
        event.remove(engine, "after_cursor_execute", after)
    # PostgreSQL's per-participant lock is a plain string statement (no cache key), as is SQLite's checkpoint
    assert [s for s in compiled if "pg_advisory_xact_lock" not in s and "wal_checkpoint" not in s] == []
