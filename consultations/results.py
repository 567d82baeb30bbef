"""The one results message: written once to the outbox for every participant who pressed "Tell me when the
results are out", each opt-in forgotten in the same transaction as its message is written (the outbox row now
carries the promise; nobody is written to twice). The running bot's outbox senders deliver the rows within
Telegram's rate for the bot as a whole, retrying failures (bot/outbox.py); with no bot running they wait until
one starts. Channel-agnostic: the message is the core's `Reply`, like every conversation reply. The dashboard
and `python -m bot notify` share this one implementation."""

from __future__ import annotations

from collections.abc import Callable

from config.errors import ConsultationError
from consultations.interactions import Reply, reply_data
from storage import outbox, privacy_ops
from storage import repository as repo
from storage.database import Database
from storage.models import Consultation
from storage.privacy import KeyRing

MAX_MESSAGE = 4000
CHUNK = 200
"""Opt-ins written per transaction: the people's locks are held for one chunk at a time (PostgreSQL's lock table
is bounded, and their own updates wait meanwhile)."""


async def opted_in(database: Database, consultation_id: int) -> int:
    """How many people asked for the results message (the facilitator's own count, never published)."""
    async with database.reader() as session:
        return await privacy_ops.opt_in_count(session, consultation_id)


async def queue_results(
    database: Database,
    keys: KeyRing,
    consultation: Consultation,
    text_for: Callable[[str], str],
    *,
    dry_run: bool = False,
) -> int:
    """Write `text_for(language)` to the outbox once for every opted-in chat of the consultation (each in the
    person's language when the consultation has it, ordered with that person's other messages under their
    pseudonym, the chat id and text encrypted as every outbox row is), and forget each opt-in in the transaction
    that writes its message (`CHUNK` people a transaction, under their locks). Returns how many messages were
    queued; `dry_run` only counts."""
    if consultation.id is None:
        raise ConsultationError("a consultation without an id")
    if dry_run:
        return await opted_in(database, consultation.id)
    async with database.reader() as session:
        waiting = await privacy_ops.opt_in_keys(session, consultation.id)
    queued = 0
    for start in range(0, len(waiting), CHUNK):
        chunk = waiting[start : start + CHUNK]
        async with database.transaction() as session:
            # under each person's lock, as their own updates are: nothing of theirs is being answered meanwhile
            # (a message could otherwise overtake a reply being written), and an opt-in forgotten by an erasure
            # that came first is not there any more (read again below)
            await database.lock(session, (pseudonym for _, pseudonym in chunk))
            opt_ins = await privacy_ops.results_opt_ins(
                session, consultation.id, keys, ids=[opt_in_id for opt_in_id, _ in chunk]
            )
            for opt_in in opt_ins:
                language = opt_in.language
                lang = language if language in consultation.language_list else consultation.default_language
                reply = Reply(text_for(lang), lang)
                item = outbox.Item(outbox.RESULTS, {"chat": opt_in.chat_id, "reply": reply_data(reply)})
                await outbox.enqueue(session, keys, opt_in.pseudonym, None, [item])
            await privacy_ops.forget_opt_ins(session, [opt_in.id for opt_in in opt_ins])
        queued += len(opt_ins)
    return queued


async def consultation_by_code(database: Database, code: str) -> Consultation:
    async with database.reader() as session:
        consultation = await repo.consultation_by_code(session, code)
    if consultation is None or consultation.id is None:
        raise ConsultationError(f"no consultation with code {code!r}")
    return consultation
