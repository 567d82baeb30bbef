"""A participant's rights and the safe exit: message ids, erasure (/delete), access (/mydata), results opt-ins.

Every function takes the caller's session (its transaction). Call the ones that change a participant's rows
inside `database.transaction(lock_key=pseudonym)`, like any other update of that participant.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.errors import StorageError
from storage.database import request_scrub
from storage.gather import Part, gather, rows_source
from storage.models import (
    Answer,
    ConsentRecord,
    Consultation,
    ConversationSession,
    OutboxMessage,
    Participant,
    ResultsOptIn,
    SentMessage,
)
from storage.outbox import PENDING, RESULTS
from storage.privacy import KeyRing, answer_context, opt_in_context
from storage.repository import now, participant_by_pseudonym, today

SAFE_EXIT_WINDOW = timedelta(hours=48)
"""Telegram lets a bot delete messages of a private chat for 48 hours; ids older than that are useless."""


# ---- message ids for the safe exit ----


async def record_sent_message(
    session: AsyncSession, participant_id: int, message_id: int, *, from_bot: bool, sent_at: datetime | None = None
) -> None:
    """Keep one message id of the participant's chat (theirs or the bot's) for the safe exit; repeats are ignored."""
    await record_sent_messages(session, participant_id, [message_id], from_bot=from_bot, sent_at=sent_at)


async def record_sent_messages(
    session: AsyncSession,
    participant_id: int,
    message_ids: Iterable[int],
    *,
    from_bot: bool,
    sent_at: datetime | None = None,
) -> None:
    """Keep several message ids at once (e.g. every reply to one update); ids already kept are ignored."""
    when = sent_at or now()
    rows = [
        {"participant_id": participant_id, "message_id": message_id, "from_bot": from_bot, "sent_at": when}
        for message_id in dict.fromkeys(message_ids)
    ]
    if not rows:
        return
    gather(session, SentWrite(rows))


class SentWrite(Part):
    """Message ids to keep (`record_sent_messages`): one statement, ids already kept ignored."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def shape(self) -> int:
        return len(self.rows)

    def params(self) -> dict[str, Any]:
        return {f"m{i}_{name}": value for i, row in enumerate(self.rows) for name, value in row.items()}

    def run(self, session: Session) -> None:
        # the table's insert with the rows as parameters: one statement, compiled once for any number of rows
        session.execute(_insert_sent(session.get_bind().dialect.name), self.rows)

    @classmethod
    def query(cls, shape: int) -> tuple[Any, None]:
        table = SentMessage.__table__  # type: ignore[attr-defined]
        written = pg_insert(table).from_select(SENT_COLUMNS, rows_source(table, SENT_COLUMNS, shape, "m"))
        return written.on_conflict_do_nothing(index_elements=["participant_id", "message_id"]), None


SENT_COLUMNS = ("participant_id", "message_id", "from_bot", "sent_at")


@functools.cache
def _insert_sent(dialect: str) -> Any:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = SentMessage.__table__  # type: ignore[attr-defined]
    return insert(table).on_conflict_do_nothing(index_elements=["participant_id", "message_id"])


async def recent_message_ids(
    session: AsyncSession, participant_id: int, younger_than: timedelta = SAFE_EXIT_WINDOW
) -> list[int]:
    """The participant's message ids Telegram still lets the bot delete, oldest first."""
    result = await session.exec(
        select(SentMessage.message_id)
        .where(SentMessage.participant_id == participant_id, col(SentMessage.sent_at) >= now() - younger_than)
        .order_by(col(SentMessage.message_id))
    )
    return [int(message_id) for message_id in result.all()]


async def forget_message_ids(session: AsyncSession, participant_id: int) -> int:
    """Drop every message id kept for the participant (after the safe exit deleted them, or on /delete)."""
    result = await session.exec(delete(SentMessage).where(col(SentMessage.participant_id) == participant_id))
    return int(result.rowcount)


async def purge_old_message_ids(session: AsyncSession, older_than: timedelta = SAFE_EXIT_WINDOW) -> int:
    """Drop every message id older than the safe-exit window: nothing can be done with them any more."""
    result = await session.exec(delete(SentMessage).where(col(SentMessage.sent_at) < now() - older_than))
    return int(result.rowcount)


# ---- erasure: /delete ----


@dataclass(frozen=True)
class ErasureReport:
    """What `erase_participant` deleted; `found` is False when nothing was stored about the pseudonym."""

    found: bool
    answers: int = 0
    sessions: int = 0
    consent_records: int = 0
    message_ids: int = 0
    results_opt_ins: int = 0


async def erase_participant(session: AsyncSession, pseudonym: str) -> ErasureReport:
    """Delete everything stored about a pseudonym: answers, sessions, consent records, message ids, opt-ins, and
    the participant row itself. A later /start starts fresh. Aggregate snapshots of purged consultations stay:
    they hold no individual data."""
    participant = await participant_by_pseudonym(session, pseudonym)
    if participant is None or participant.id is None:
        return ErasureReport(found=False)
    pid = participant.id
    session_ids = select(ConversationSession.id).where(ConversationSession.participant_id == pid)
    answers = await session.exec(delete(Answer).where(col(Answer.session_id).in_(session_ids)))
    sessions = await session.exec(delete(ConversationSession).where(col(ConversationSession.participant_id) == pid))
    consents = await session.exec(delete(ConsentRecord).where(col(ConsentRecord.participant_id) == pid))
    messages = await session.exec(delete(SentMessage).where(col(SentMessage.participant_id) == pid))
    opt_ins = await session.exec(delete(ResultsOptIn).where(col(ResultsOptIn.participant_id) == pid))
    await session.exec(delete(Participant).where(col(Participant.id) == pid))
    # what was already sent to them (content wiped, but the rows still say when), and a results message not yet
    # sent (they asked for it, then to be forgotten: the bot does not write first any more); the other pending
    # rows (the answer to this very erasure) stay to be sent
    await session.exec(
        delete(OutboxMessage).where(
            col(OutboxMessage.chat_key) == pseudonym,
            or_(col(OutboxMessage.state) != PENDING, col(OutboxMessage.kind) == RESULTS),
        )
    )
    request_scrub(session)
    return ErasureReport(
        found=True,
        answers=int(answers.rowcount),
        sessions=int(sessions.rowcount),
        consent_records=int(consents.rowcount),
        message_ids=int(messages.rowcount),
        results_opt_ins=int(opt_ins.rowcount),
    )


# ---- access: /mydata ----


@dataclass(frozen=True)
class MyAnswer:
    """One stored answer. `text` is the stored (redacted) free text, decrypted; `unreadable` when its key is gone."""

    question_id: str
    codes: tuple[str, ...] = ()
    text: str | None = None
    skipped: bool = False
    unreadable: bool = False
    answered_on: date | None = None


@dataclass(frozen=True)
class MyConsultation:
    """One consultation the participant took part in, with its consent record and their answers."""

    code: str
    title: str
    flow_id: str  # the flow and version this person answered (their session's)
    flow_version: int
    organisation: str | None
    contact: str | None
    consultation_status: str  # open / closed
    session_status: str  # e.g. active, paused, completed
    started_on: date
    consent_version: str | None
    consent_given_on: date | None
    results_opt_in: bool
    answers: list[MyAnswer] = field(default_factory=list)


@dataclass(frozen=True)
class MyData:
    """Everything stored about one pseudonym, for the access right (/mydata)."""

    language: str | None
    first_seen_on: date
    consultations: list[MyConsultation]
    message_ids_kept: int  # ids (numbers only, no text) kept at most 48 h for the safe exit


async def participant_data(session: AsyncSession, pseudonym: str, keyring: KeyRing) -> MyData | None:
    """What is stored about the pseudonym, free text decrypted; None when nothing is."""
    participant = await participant_by_pseudonym(session, pseudonym)
    if participant is None or participant.id is None:
        return None
    pid = participant.id
    rows = await session.exec(
        select(ConversationSession, Consultation)
        .join(Consultation, col(Consultation.id) == ConversationSession.consultation_id)
        .where(ConversationSession.participant_id == pid)
        .order_by(col(ConversationSession.started_at), col(ConversationSession.id))
    )
    consents: dict[int, ConsentRecord] = {}
    for record in (await session.exec(select(ConsentRecord).where(ConsentRecord.participant_id == pid))).all():
        latest = consents.get(record.consultation_id)
        if latest is None or (record.given_on, record.id or 0) > (latest.given_on, latest.id or 0):
            consents[record.consultation_id] = record
    opted_in = await session.exec(select(ResultsOptIn.consultation_id).where(ResultsOptIn.participant_id == pid))
    opted = set(opted_in.all())
    consultations = []
    for row, consultation in rows.all():
        answers = await session.exec(select(Answer).where(Answer.session_id == row.id).order_by(col(Answer.id)))
        consent = consents.get(row.consultation_id)
        consultations.append(
            MyConsultation(
                code=consultation.code,
                title=consultation.title,
                flow_id=row.flow_id,
                flow_version=row.flow_version,
                organisation=consultation.organisation,
                contact=consultation.contact,
                consultation_status=consultation.status,
                session_status=row.status,
                started_on=row.started_at.date(),
                consent_version=consent.consent_version if consent else None,
                consent_given_on=consent.given_on if consent else None,
                results_opt_in=row.consultation_id in opted,
                answers=[_my_answer(answer, row.participant_id, keyring) for answer in answers.all()],
            )
        )
    kept = await session.exec(select(func.count()).select_from(SentMessage).where(SentMessage.participant_id == pid))
    return MyData(
        language=participant.language,
        first_seen_on=participant.created_on,
        consultations=consultations,
        message_ids_kept=int(kept.one()),
    )


def _my_answer(answer: Answer, participant_id: int, keyring: KeyRing) -> MyAnswer:
    codes = tuple((answer.choice_codes or "").split())
    if answer.text_cipher is None or answer.key_id is None:
        return MyAnswer(answer.question_id, codes, skipped=answer.skipped, answered_on=answer.answered_on)
    try:
        context = answer_context(answer.consultation_id, participant_id, answer.session_id, answer.question_id)
        text = keyring.decrypt(answer.text_cipher, answer.key_id, context)
    except StorageError:
        return MyAnswer(answer.question_id, codes, unreadable=True, answered_on=answer.answered_on)
    return MyAnswer(answer.question_id, codes, text=text, answered_on=answer.answered_on)


# ---- results opt-ins: the only reason the bot may ever write first ----


async def opt_in_results(
    session: AsyncSession, participant_id: int, consultation_id: int, chat_id: int, keyring: KeyRing
) -> ResultsOptIn:
    """Remember, encrypted, where to send this consultation's results to this participant (replaces a previous one)."""
    result = await session.exec(
        select(ResultsOptIn).where(
            ResultsOptIn.participant_id == participant_id, ResultsOptIn.consultation_id == consultation_id
        )
    )
    row = result.first() or ResultsOptIn(
        participant_id=participant_id, consultation_id=consultation_id, chat_cipher=b"", key_id="", created_on=today()
    )
    row.chat_cipher, row.key_id = keyring.encrypt(str(chat_id), opt_in_context(consultation_id, participant_id))
    row.created_on = today()
    session.add(row)
    await session.flush()
    return row


async def opt_out_results(session: AsyncSession, participant_id: int, consultation_id: int) -> bool:
    """Forget a results opt-in; False when there was none."""
    result = await session.exec(
        delete(ResultsOptIn).where(
            col(ResultsOptIn.participant_id) == participant_id, col(ResultsOptIn.consultation_id) == consultation_id
        )
    )
    return bool(result.rowcount)


async def has_opted_in(session: AsyncSession, participant_id: int, consultation_id: int) -> bool:
    result = await session.exec(
        select(func.count())
        .select_from(ResultsOptIn)
        .where(ResultsOptIn.participant_id == participant_id, ResultsOptIn.consultation_id == consultation_id)
    )
    return bool(result.one())


async def forget_opt_ins(session: AsyncSession, opt_in_ids: Iterable[int]) -> int:
    """Forget these results opt-ins (each in the transaction that wrote its results message to the outbox: the
    promise is kept, nobody is written to twice; an opt-in made meanwhile stays for the next time)."""
    ids = list(opt_in_ids)
    if not ids:
        return 0
    result = await session.exec(delete(ResultsOptIn).where(col(ResultsOptIn.id).in_(ids)))
    return int(result.rowcount)


async def opted_in_chats(session: AsyncSession, consultation_id: int, keyring: KeyRing) -> list[int]:
    """The chat ids (decrypted) of everyone who asked to hear this consultation's results."""
    result = await session.exec(
        select(ResultsOptIn).where(ResultsOptIn.consultation_id == consultation_id).order_by(col(ResultsOptIn.id))
    )
    return [
        int(keyring.decrypt(row.chat_cipher, row.key_id, opt_in_context(consultation_id, row.participant_id)))
        for row in result.all()
    ]


@dataclass(frozen=True)
class OptIn:
    """One results opt-in, decrypted: the chat to write to, whose it is (the pseudonym, the outbox's ordering
    key) and their language."""

    id: int
    pseudonym: str
    chat_id: int
    language: str | None


async def opt_in_keys(session: AsyncSession, consultation_id: int) -> list[tuple[int, str]]:
    """Each results opt-in of the consultation as (its id, its person's pseudonym), oldest request first; nothing
    decrypted."""
    result = await session.exec(
        select(ResultsOptIn.id, Participant.pseudonym)
        .join(Participant, col(Participant.id) == col(ResultsOptIn.participant_id))
        .where(ResultsOptIn.consultation_id == consultation_id)
        .order_by(col(ResultsOptIn.id))
    )
    return [(int(opt_in_id or 0), pseudonym) for opt_in_id, pseudonym in result.all()]


async def results_opt_ins(
    session: AsyncSession, consultation_id: int, keyring: KeyRing, ids: Iterable[int] | None = None
) -> list[OptIn]:
    """Everyone who asked to hear this consultation's results (of those `ids` still there, when given), oldest
    request first."""
    query = (
        select(ResultsOptIn, Participant.pseudonym, Participant.language)
        .join(Participant, col(Participant.id) == col(ResultsOptIn.participant_id))
        .where(ResultsOptIn.consultation_id == consultation_id)
        .order_by(col(ResultsOptIn.id))
    )
    if ids is not None:
        query = query.where(col(ResultsOptIn.id).in_(list(ids)))
    result = await session.exec(query)
    return [
        OptIn(
            row.id or 0,
            pseudonym,
            int(keyring.decrypt(row.chat_cipher, row.key_id, opt_in_context(consultation_id, row.participant_id))),
            language,
        )
        for row, pseudonym, language in result.all()
    ]


async def opt_in_count(session: AsyncSession, consultation_id: int) -> int:
    """How many people asked to hear this consultation's results (nothing decrypted)."""
    result = await session.exec(
        select(func.count()).select_from(ResultsOptIn).where(ResultsOptIn.consultation_id == consultation_id)
    )
    return int(result.one())
