"""One participant's turn: what an update needs, loaded in one statement; the session's state written back.

Every function takes the caller's session, inside `database.transaction(lock_key=pseudonym)`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, bindparam, exists, literal, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.errors import StorageError
from storage.gather import Part, gather, pending
from storage.invites import normalise
from storage.models import Consultation, ConversationSession, OutboxMessage, Participant, SentMessage
from storage.repository import LIVE_STATUSES, dialect_of, now, today


@dataclass(frozen=True)
class TurnRows:
    """What one update of one participant works on: the participant (None for someone never seen, or erased),
    their session and its consultation (None when there is none); given a worker (`outbox_owner`), whether the
    chat has outbox rows pending that this worker does not hold (None: not asked)."""

    participant: Participant | None
    session: ConversationSession | None
    consultation: Consultation | None
    pending_elsewhere: bool | None = None


async def load_turn(
    session: AsyncSession, pseudonym: str, consultation_code: str | None = None, *, outbox_owner: str | None = None
) -> TurnRows:
    """The participant, a session and its consultation, in one statement (with `outbox_owner`, also whether the
    chat has outbox rows pending that this worker does not hold: the outbox's fast lane, storage.outbox.enqueue).

    With `consultation_code`: that consultation (by its own code, case-insensitively; found even when the
    participant is new) and the participant's session in it, whatever its status. Without: the participant's
    current session (the most recently used one they can come back to) and its consultation."""
    params: dict[str, object] = {"pseudonym": pseudonym}
    if consultation_code is not None:
        params["code"] = normalise(consultation_code)
    if outbox_owner is not None:
        params["owner"] = outbox_owner
    statement = _turn_statement(consultation_code is not None, outbox_owner is not None)
    row = (await session.exec(statement, params=params)).one()
    return TurnRows(row[0], row[1], row[2], bool(row[3]) if outbox_owner is not None else None)


@functools.cache
def _turn_statement(by_code: bool, with_pending: bool) -> Any:
    """`load_turn`'s statement, made once (its values are bound parameters): building a statement and working
    out its cache key cost more CPU than SQLite running it."""
    anchor = select(literal(1).label("one")).subquery()
    pseudonym = bindparam("pseudonym", type_=String)
    if by_code:
        statement = (
            select(Participant, ConversationSession, Consultation)
            .select_from(anchor)
            .outerjoin(Participant, col(Participant.pseudonym) == pseudonym)
            .outerjoin(Consultation, col(Consultation.code) == bindparam("code", type_=String))
            .outerjoin(
                ConversationSession,
                and_(
                    col(ConversationSession.participant_id) == col(Participant.id),
                    col(ConversationSession.consultation_id) == col(Consultation.id),
                ),
            )
        )
    else:
        current = (
            select(ConversationSession.id)
            .where(
                col(ConversationSession.participant_id) == col(Participant.id),
                col(ConversationSession.status).in_(LIVE_STATUSES),
            )
            .order_by(col(ConversationSession.updated_at).desc(), col(ConversationSession.id).desc())
            .limit(1)
            .correlate(Participant)
            .scalar_subquery()
        )
        statement = (
            select(Participant, ConversationSession, Consultation)
            .select_from(anchor)
            .outerjoin(Participant, col(Participant.pseudonym) == pseudonym)
            .outerjoin(ConversationSession, col(ConversationSession.id) == current)
            .outerjoin(Consultation, col(Consultation.id) == col(ConversationSession.consultation_id))
        )
    if not with_pending:
        return statement
    owner = bindparam("owner", type_=String)
    others = or_(col(OutboxMessage.lease_owner).is_(None), col(OutboxMessage.lease_owner) != owner)
    pending = exists().where(col(OutboxMessage.chat_key) == pseudonym, col(OutboxMessage.state) == "pending", others)
    return statement.add_columns(pending.label("pending_elsewhere"))


async def create_participant(session: AsyncSession, pseudonym: str, language: str) -> Participant:
    """A new participant, known only by the pseudonym."""
    participant = Participant(pseudonym=pseudonym, language=language, created_on=today())
    session.add(participant)
    await session.flush()
    return participant


async def set_participant_language(session: AsyncSession, participant: Participant, language: str) -> None:
    """Remember the language a participant chose (for messages outside any consultation, and the next one)."""
    if participant.language != language:
        participant.language = language
        session.add(participant)
        await session.flush()


async def start_session(
    session: AsyncSession,
    *,
    participant: Participant,
    consultation: Consultation,
    invite_id: int | None,
    state: str,
    status: str,
    language: str,
    context: str,
    shown_step: int | None = None,
) -> ConversationSession:
    """The participant's session in a consultation, pinned to the consultation's current flow version, from the
    invite (channel) they came through. Created when they consent, never before."""
    if participant.id is None or consultation.id is None:
        raise StorageError("the participant and the consultation must be saved before a session starts")
    started = now()
    row = ConversationSession(
        participant_id=participant.id,
        consultation_id=consultation.id,
        invite_id=invite_id,
        flow_id=consultation.flow_id,
        flow_version=consultation.flow_version,
        state=state,
        status=status,
        language=language,
        context=context,
        shown_step=shown_step,
        started_at=started,
        updated_at=started,
    )
    session.add(row)
    await session.flush()
    return row


async def save_state(
    session: AsyncSession, row: ConversationSession, *, state: str, status: str, language: str, context: str
) -> None:
    """Write down where the participant now is (the engine decided it); the session counts as used now. Written
    with the transaction's other writes (`_change`), with whatever else of the session the turn changes
    (`set_session_language`, `set_shown_step`): one UPDATE."""
    _change(session, row, state=state, status=status, language=language, context=context, updated_at=now())


async def set_session_language(session: AsyncSession, row: ConversationSession, language: str) -> None:
    _change(session, row, language=language, updated_at=now())


def set_shown_step(session: AsyncSession, row: ConversationSession, step: int) -> None:
    """The question of `step` counts as on screen (written with the session's state)."""
    _change(session, row, shown_step=step)


def _change(session: AsyncSession, row: ConversationSession, **values: Any) -> None:
    """Change the session on `row` and have it written with the transaction's other writes (`storage.gather`).
    The values are set as the row's own (not as changes for SQLAlchemy's ORM to find and flush: its unit of work
    cost more CPU than the rest of the update's statements); `SessionWrite` writes the columns changed, and only
    those (the outbox's sender may have written `shown_step` meanwhile), with a statement made once."""
    if row.id is None:
        raise StorageError("the session must be saved before it changes")
    for name, value in values.items():
        set_committed_value(row, name, value)
    part = pending(session, SessionWrite, lambda part: part.row.id == row.id)
    if part is None:
        part = SessionWrite(row)
        gather(session, part)
    part.names.update(values)


class SessionWrite(Part):
    """The columns of one session changed in this transaction: one UPDATE."""

    def __init__(self, row: ConversationSession) -> None:
        self.row = row
        self.names: set[str] = set()

    def shape(self) -> tuple[str, ...]:
        return tuple(sorted(self.names))

    def params(self, prefix: str = "s_") -> dict[str, Any]:
        return {f"{prefix}row_id": self.row.id, **{prefix + name: getattr(self.row, name) for name in self.shape()}}

    def run(self, session: Session) -> None:
        session.execute(_session_update(self.shape()), self.params(""))

    @classmethod
    def query(cls, shape: tuple[str, ...]) -> tuple[Any, None]:
        return _session_update(shape, "s_"), None


@functools.cache
def _session_update(columns: tuple[str, ...], prefix: str = "") -> Any:
    """The UPDATE of these columns of one session, made once per set of columns (a handful in all); its
    parameters are `row_id` and the columns' names, after `prefix`."""
    table = ConversationSession.__table__  # type: ignore[attr-defined]
    values = {name: bindparam(prefix + name, type_=table.c[name].type) for name in columns}
    return update(table).where(table.c.id == bindparam(f"{prefix}row_id")).values(values)


async def remember_messages(
    session: AsyncSession, pseudonym: str, message_ids: Iterable[int], *, from_bot: bool
) -> None:
    """Keep message ids of a participant's chat for the safe exit (ids only, purged at 48 h), in one statement;
    nothing is kept for someone with no participant row, and ids already kept are ignored."""
    await remember_many(session, [(pseudonym, message_id) for message_id in message_ids], from_bot=from_bot)


async def remember_many(session: AsyncSession, sent: Iterable[tuple[str, int]], *, from_bot: bool = True) -> None:
    """`remember_messages` for several chats at once: (pseudonym, message id) pairs, one statement with a row of
    parameters each (the same statement for any number, so compiled once)."""
    pairs = list(dict.fromkeys(sent))
    if not pairs:
        return
    sent_at = now()
    table = SentMessage.__table__  # type: ignore[attr-defined]
    source = sa_select(
        col(Participant.id).label("participant_id"),
        bindparam("message_id", type_=table.c.message_id.type),
        bindparam("from_bot", type_=table.c.from_bot.type),
        bindparam("sent_at", type_=table.c.sent_at.type),
    ).where(col(Participant.pseudonym) == bindparam("pseudonym"))
    dialect = dialect_of(session)
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(table)  # the table, not the model: SQLAlchemy's ORM would take the rows for a bulk insert of objects
        .from_select(["participant_id", "message_id", "from_bot", "sent_at"], source)
        .on_conflict_do_nothing(index_elements=["participant_id", "message_id"])
    )
    params = [
        {"pseudonym": pseudonym, "message_id": message_id, "from_bot": from_bot, "sent_at": sent_at}
        for pseudonym, message_id in pairs
    ]
    await session.exec(statement, params=params)
