"""Writes gathered in one transaction and run together: on PostgreSQL as one statement (each write a
data-modifying WITH query of it), so that an ordinary answer is the update's claim, the load and one write; on
SQLite, which cannot write two tables in one statement, as one statement each, in the same transaction.

A gathered write runs when the transaction's body ends (`storage.database.before_commit`), or earlier, right
before any other statement the transaction runs (`_before_statement`): nothing in the transaction reads or writes
around it. What a write learns (ids made, rows written) reaches it through `Part.done` before the commit; a
write that is refused raises there, and the transaction is rolled back as it would have been."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from sqlalchemy import bindparam, event, null, select, union_all
from sqlalchemy.orm import ORMExecuteState, Session
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import before_commit

GATHERED = "voices_gathered"

P = TypeVar("P", bound="Part")


class Part(ABC):
    """One gathered write."""

    @abstractmethod
    def run(self, session: Session) -> None:
        """Alone: its own statement, then `done`."""

    @abstractmethod
    def shape(self) -> Hashable:
        """What decides the text of `query` (the columns written, the number of rows)."""

    @classmethod
    @abstractmethod
    def query(cls, shape: Any) -> tuple[Any, Callable[[Any], Any] | None]:
        """PostgreSQL: the write as a statement to run in a WITH clause, its bound parameters named apart from
        every other kind of part's, and what the whole statement selects from it for `done` (None: nothing)."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """`query`'s parameters."""

    def done(self, value: Any) -> None:  # noqa: B027 - most writes learn nothing
        """What the write returned (`query`'s selection; alone, what `run` passes)."""


def gather(session: AsyncSession, part: Part) -> None:
    """Have `part` written with the transaction's other gathered writes."""
    pending: list[Part] = session.info.setdefault(GATHERED, [])
    pending.append(part)
    before_commit(session, _flush_async)


def pending(session: AsyncSession, kind: type[P], match: Callable[[P], bool]) -> P | None:
    """A part of `kind` gathered and not yet written that `match`es (to add to it), or None."""
    for part in session.info.get(GATHERED, ()):
        if isinstance(part, kind) and match(part):
            return part
    return None


async def _flush_async(session: AsyncSession) -> None:
    if session.info.get(GATHERED):
        await session.run_sync(flush)


def flush(session: Session) -> None:
    """Write what was gathered: on PostgreSQL one statement (at most one part of a kind in it: an earlier part
    of the same kind runs first, alone, so that their order holds); else one statement each, in order."""
    parts: list[Part] = session.info.pop(GATHERED, [])
    if not parts:
        return
    bind = session.get_bind()
    if bind.dialect.name != "postgresql" or len(parts) == 1:
        for part in parts:
            part.run(session)
        return
    folded: dict[type[Part], Part] = {}
    for part in parts:
        earlier = folded.pop(type(part), None)
        if earlier is not None:
            earlier.run(session)
        folded[type(part)] = part
    together = list(folded.values())
    if len(together) == 1:
        together[0].run(session)
        return
    statement = _folded(tuple((type(part), part.shape()) for part in together))
    params: dict[str, Any] = {}
    for part in together:
        params.update(part.params())
    row = session.execute(statement, params).one()
    for part, value in zip(together, row, strict=True):
        part.done(value)


def rows_source(table: Any, columns: Sequence[str], count: int, prefix: str) -> Any:
    """`count` rows of parameters (named `prefix` + row number + "_" + column) as a SELECT, to insert from: a
    statement SQLAlchemy can cache, unlike a multi-row VALUES."""
    selects = [
        select(*(bindparam(f"{prefix}{i}_{name}", type_=table.c[name].type).label(name) for name in columns))
        for i in range(count)
    ]
    return selects[0] if count == 1 else union_all(*selects)


@functools.lru_cache(maxsize=512)
def _folded(shapes: tuple[tuple[type[Part], Hashable], ...]) -> Any:
    """One statement of these writes, made once per combination (a handful in use)."""
    ctes = []
    columns = []
    for index, (kind, shape) in enumerate(shapes):
        query, selects = kind.query(shape)
        cte = query.cte(f"w{index}")
        ctes.append(cte)
        columns.append((selects(cte) if selects is not None else null()).label(f"r{index}"))
    return select(*columns).add_cte(*ctes)


@event.listens_for(Session, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> None:
    """Any other statement of the transaction runs after the writes gathered so far."""
    if state.session.info.get(GATHERED):
        flush(state.session)
