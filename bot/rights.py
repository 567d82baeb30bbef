"""The participant's safeguards in the chat: safe exit, erasure (/delete), access (/mydata), results opt-in.

Each function runs inside the caller's locked transaction and returns what the adapter should do.
"""

from __future__ import annotations

from datetime import date

from babel import UnknownLocaleError
from babel.dates import format_date
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.interactions import Outcome, Person, Reply
from config.errors import FlowError
from config.i18n import t
from flows.engine import engine_for
from flows.loader import FlowLibrary
from flows.schema import FlowDefinition
from flows.session import Status
from storage import privacy_ops
from storage import repository as repo
from storage.models import Consultation, ConversationSession, Participant
from storage.privacy import KeyRing

DELETE_YES, DELETE_NO = "del:y", "del:n"
RESULTS_PREFIX = "res:"
EXIT_MARGIN = 30
"""Message ids before the first one we know of that the safe exit also deletes (the /start message, a consent
shown before any row existed). In a private chat ids are sequential, so the range covers the conversation."""
EXIT_MAX = 3000
"""At most this many ids per safe exit (30 deleteMessages calls of 100)."""
MESSAGE_LIMIT = 3900


async def safe_exit(
    s: AsyncSession, participant: Participant | None, person: Person, row: ConversationSession | None
) -> Outcome:
    """Delete every message of the chat the bot still may (younger than 48 h), both sides; end the session;
    forget the message ids. Nothing is sent afterwards: the chat is left empty."""
    known = await privacy_ops.recent_message_ids(s, participant.id) if participant and participant.id else []
    if person.message_id is not None:
        known.append(person.message_id)
    if not known:
        return Outcome()
    high = max(known) + 3
    low = max(1, min(known) - EXIT_MARGIN, high - EXIT_MAX)
    ids = sorted({i for i in known if i >= low} | set(range(low, high + 1)), reverse=True)
    if participant is not None and participant.id is not None:
        await privacy_ops.forget_message_ids(s, participant.id)
    if row is not None and row.status in (Status.ACTIVE, Status.PAUSED):
        row.status = Status.STOPPED
        await repo.save_session(s, row)
    return Outcome(delete_ids=ids)


def delete_prompt(language: str, has_data: bool) -> Outcome:
    if not has_data:
        return Outcome([Reply(t(language, "Nothing is stored about you."))])
    text = t(
        language,
        "Do you want to delete everything you gave? Your answers, your place and your consent record will be "
        "erased. Totals already published stay, because they do not contain anything about you alone.",
    )
    keyboard = (
        ((t(language, "Yes, delete everything"), DELETE_YES),),
        ((t(language, "No, keep my answers"), DELETE_NO),),
    )
    return Outcome([Reply(text, keyboard)])


async def delete_everything(s: AsyncSession, pseudonym: str, language: str) -> Outcome:
    report = await privacy_ops.erase_participant(s, pseudonym)
    if not report.found:
        return Outcome([Reply(t(language, "Nothing is stored about you."))])
    text = t(
        language,
        "Done. Everything you gave has been deleted. If you open the link again, you will start afresh.",
    )
    return Outcome([Reply(text)])


async def my_data(s: AsyncSession, pseudonym: str, keys: KeyRing, library: FlowLibrary, language: str) -> Outcome:
    """The access right: everything stored about the person, answers decrypted, in their language."""
    data = await privacy_ops.participant_data(s, pseudonym, keys)
    if data is None:
        return Outcome([Reply(t(language, "Nothing is stored about you."))])
    lines = [
        t(language, "What is stored about you:"),
        t(language, "• A code made from your Telegram account (not your name, username, number or id)."),
        t(
            language,
            "• First seen on %(date)s. Language: %(language)s.",
            date=_date(data.first_seen_on, language),
            language=data.language or "—",
        ),
    ]
    for taken in data.consultations:
        flow = await _flow_of(s, library, taken.code)
        lines += [
            "",
            f"【{taken.title}】",
            t(
                language,
                "Consent given on %(date)s (%(version)s).",
                date=_date(taken.consent_given_on, language),
                version=taken.consent_version or "—",
            ),
            t(language, "Status: %(status)s.", status=_status(language, taken.session_status)),
        ]
        if taken.results_opt_in:
            lines.append(t(language, "You asked for one message when the results are published."))
        steps = {step.id: step for step in flow.steps} if flow is not None else {}
        for answer in taken.answers:
            step = steps.get(answer.question_id)
            if step is None or step.type == "consent":
                continue
            question = step.text.get(language) or next(iter(step.text.values()), answer.question_id)
            if answer.skipped:
                given = t(language, "(skipped)")
            elif answer.unreadable:
                given = t(language, "(a written answer that can no longer be read)")
            elif answer.text is not None:
                given = answer.text
            else:
                labels = engine_for(flow).answer_labels(step.id, language) if flow is not None else {}
                given = ", ".join(labels.get(code, code) for code in answer.codes)
            lines.append(f"— {question.splitlines()[0]}\n   {given}")
    lines += ["", t(language, "/delete erases all of this.")]
    return Outcome([Reply(chunk) for chunk in _chunks(lines)])


async def _flow_of(s: AsyncSession, library: FlowLibrary, code: str) -> FlowDefinition | None:
    """The flow a consultation runs, for question texts and option labels (None if no longer available)."""
    consultation = await repo.consultation_by_code(s, code)
    if consultation is None:
        return None
    try:
        return library.get(consultation.flow_id, consultation.flow_version)
    except FlowError:
        return None


def _date(value: date | None, language: str) -> str:
    """A date as the participant's locale writes it (babel)."""
    if value is None:
        return "—"
    try:
        return format_date(value, format="medium", locale=language)
    except (ValueError, UnknownLocaleError):
        return value.isoformat()


def _status(language: str, status: str) -> str:
    names = {
        "active": t(language, "answering"),
        "paused": t(language, "paused"),
        "stopped": t(language, "stopped"),
        "expired": t(language, "closed after a quiet time"),
        "completed": t(language, "completed"),
    }
    return names.get(status, status)


def _chunks(lines: list[str]) -> list[str]:
    """Join lines into messages that fit Telegram's limit, never splitting a line."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        while len(line) > MESSAGE_LIMIT:
            head, line = line[:MESSAGE_LIMIT], line[MESSAGE_LIMIT:]
            if current:
                chunks.append(current)
                current = ""
            chunks.append(head)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > MESSAGE_LIMIT:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        chunks.append(current)
    return chunks


async def opt_in(
    s: AsyncSession,
    participant: Participant | None,
    consultation: Consultation | None,
    person: Person,
    keys: KeyRing,
    language: str,
) -> Outcome:
    """Remember (encrypted, apart from the answers) where to send one results message; the only message the
    bot will ever send first."""
    if participant is None or participant.id is None or consultation is None or consultation.id is None:
        return Outcome(callback_note=t(language, "This button belongs to an earlier question."))
    await privacy_ops.opt_in_results(s, participant.id, consultation.id, person.user_id, keys)
    text = t(
        language,
        "Thank you. You will get one message when the results are published, and nothing else. /delete removes this.",
    )
    return Outcome([Reply(text)])
