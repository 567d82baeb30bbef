"""The participant's safeguards: the safe exit's message ids, erasure (/delete), access (/mydata), results opt-in.

Each function runs inside the caller's locked transaction and returns what the adapter should do.
"""

from __future__ import annotations

from datetime import date

from babel import UnknownLocaleError
from babel.dates import format_date

from config.errors import FlowError
from config.i18n import t
from consultations.interactions import ConfirmDelete, Option, Outcome, Reply
from flows.engine import engine_for
from flows.loader import FlowLibrary
from flows.schema import FlowDefinition
from storage import privacy_ops
from storage.database import DbSession
from storage.privacy import KeyRing

EXIT_MARGIN = 30
"""Message ids before the first one we know of that the safe exit also deletes (the /start message, a consent
shown before any row existed). In a private chat ids are sequential, so the range covers the conversation."""
EXIT_MAX = 3000
"""At most this many ids per safe exit (30 deleteMessages calls of 100)."""
MESSAGE_LIMIT = 3900
"""/mydata is split into messages of at most this many characters (every channel takes that much)."""


async def exit_ids(s: DbSession, participant_id: int | None, message_id: int | None) -> list[int]:
    """The message ids the safe exit deletes, newest first: every one kept for the participant, the one of this
    input, and the range around them (ids in a private chat are sequential). The kept ids are forgotten only
    once the channel deleted them (the outbox's deletion, retried until done)."""
    known = await privacy_ops.recent_message_ids(s, participant_id) if participant_id is not None else []
    if message_id is not None:
        known.append(message_id)
    if not known:
        return []
    high = max(known) + 3
    low = max(1, min(known) - EXIT_MARGIN, high - EXIT_MAX)
    return sorted({i for i in known if i >= low} | set(range(low, high + 1)), reverse=True)


def delete_prompt(language: str, has_data: bool) -> Outcome:
    if not has_data:
        return Outcome([Reply(t(language, "Nothing is stored about you."), language)])
    text = t(
        language,
        "Do you want to delete everything you gave? Your answers, your place and your consent record will be "
        "erased. Totals already published stay, because they do not contain anything about you alone.",
    )
    options = (
        Option(t(language, "Yes, delete everything"), ConfirmDelete(erase=True)),
        Option(t(language, "No, keep my answers"), ConfirmDelete(erase=False)),
    )
    return Outcome([Reply(text, language, options=options)])


async def delete_everything(s: DbSession, pseudonym: str, language: str) -> Outcome:
    report = await privacy_ops.erase_participant(s, pseudonym)
    if not report.found:
        return Outcome([Reply(t(language, "Nothing is stored about you."), language)])
    text = t(
        language,
        "Done. Everything you gave has been deleted. If you open the link again, you will start afresh.",
    )
    return Outcome([Reply(text, language)])


async def my_data(s: DbSession, pseudonym: str, keys: KeyRing, library: FlowLibrary, language: str) -> Outcome:
    """The access right: everything stored about the person, answers decrypted, in their language."""
    data = await privacy_ops.participant_data(s, pseudonym, keys)
    if data is None:
        return Outcome([Reply(t(language, "Nothing is stored about you."), language)])
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
        flow = _flow_of(library, taken.flow_id, taken.flow_version)
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
    return Outcome([Reply(chunk, language) for chunk in _chunks(lines)])


def _flow_of(library: FlowLibrary, flow_id: str, version: int) -> FlowDefinition | None:
    """The flow a person answered, for question texts and option labels (the latest version if theirs is no
    longer available; None if the flow is gone)."""
    try:
        return library.get(flow_id, version)
    except FlowError:
        try:
            return library.latest(flow_id)
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
    """Join lines into messages that fit the limit, never splitting a line."""
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


async def opt_in(s: DbSession, participant_id: int, consultation_id: int, identity: int, keys: KeyRing) -> None:
    """Remember (encrypted, apart from the answers) where to send one results message: the only message the
    bot will ever send first."""
    await privacy_ops.opt_in_results(s, participant_id, consultation_id, identity, keys)


def opted_in(language: str) -> Outcome:
    text = t(
        language,
        "Thank you. You will get one message when the results are published, and nothing else. /delete removes this.",
    )
    return Outcome([Reply(text, language)])
