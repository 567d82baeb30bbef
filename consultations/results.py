"""The one results message: sent once to every participant who pressed "Tell me when the results are out", then
those opt-ins are forgotten (the promise is kept, nobody is written to twice). Channel-agnostic: the adapter
gives a `Messenger` (the Telegram bot in `python -m bot notify` and in the running process); the dashboard and
the command line share this one implementation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from config.errors import ConsultationError
from storage import privacy_ops
from storage import repository as repo
from storage.database import Database
from storage.models import Consultation
from storage.privacy import KeyRing

MAX_MESSAGE = 4000


class Messenger(Protocol):
    """Where messages go (a chat channel). `send` returns True when delivered, False when the person cannot be
    reached (they blocked the bot or deleted the chat: their choice). Nothing else is asked of a channel."""

    @property
    def ready(self) -> bool:
        """Whether the channel can send now (the bot has started)."""
        ...

    async def send(self, chat_id: int, text: str) -> bool: ...


async def opted_in(database: Database, consultation_id: int) -> int:
    """How many people asked for the results message (the facilitator's own count, never published)."""
    async with database.reader() as session:
        return await privacy_ops.opt_in_count(session, consultation_id)


async def send_results(
    database: Database,
    keys: KeyRing,
    messenger: Messenger,
    consultation: Consultation,
    text_for: Callable[[str], str],
    *,
    dry_run: bool = False,
    progress: Callable[[int], object] | None = None,
) -> tuple[int, int]:
    """Send `text_for(language)` once to every opted-in chat of the consultation (each in the person's language
    when the consultation has it), then forget those opt-ins. (sent, not reached); `dry_run` only counts."""
    if consultation.id is None:
        raise ConsultationError("a consultation without an id")
    async with database.reader() as session:
        chats = await privacy_ops.opted_in_chats_by_language(session, consultation.id, keys)
    if dry_run:
        return len(chats), 0
    if not messenger.ready:  # nothing sent, nothing forgotten
        raise ConsultationError("the chat channel is not running: the results message cannot be sent now")
    sent = failed = 0
    for chat_id, language in chats:
        lang = language if language in consultation.language_list else consultation.default_language
        if await messenger.send(chat_id, text_for(lang)):
            sent += 1
        else:
            failed += 1
        if progress is not None:
            progress(1)
    async with database.transaction() as session:
        await privacy_ops.forget_results_opt_ins(session, consultation.id)
    return sent, failed


async def consultation_by_code(database: Database, code: str) -> Consultation:
    async with database.reader() as session:
        consultation = await repo.consultation_by_code(session, code)
    if consultation is None or consultation.id is None:
        raise ConsultationError(f"no consultation with code {code!r}")
    return consultation
