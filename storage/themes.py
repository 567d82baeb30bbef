"""SQL for written answers' review: the consultation's codebook of themes, answers coded into themes, the review
queue, and quotes (approved or rejected by a facilitator; encrypted like the answers they come from)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import delete, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.errors import StorageError
from storage.models import Answer, AnswerReview, ConversationSession, Quote, Theme, ThemeAssignment
from storage.privacy import KeyRing, answer_context
from storage.repository import now

APPROVED = "approved"
REJECTED = "rejected"


def quote_context(consultation_id: int, question_id: str) -> str:
    """Associated data binding an encrypted quote to its consultation and question."""
    return f"quote:{consultation_id}:{question_id}"


@dataclass(frozen=True)
class CodebookEntry:
    id: int
    code: str
    labels: dict[str, str] = field(default_factory=dict)
    keywords: dict[str, list[str]] = field(default_factory=dict)


def _entry(theme: Theme) -> CodebookEntry:
    if theme.id is None:
        raise StorageError("a theme without an id")
    return CodebookEntry(theme.id, theme.code, json.loads(theme.labels), json.loads(theme.keywords))


async def codebook(session: AsyncSession, consultation_id: int) -> list[CodebookEntry]:
    rows = await session.exec(select(Theme).where(Theme.consultation_id == consultation_id).order_by(col(Theme.id)))
    return [_entry(theme) for theme in rows.all()]


async def save_theme(
    session: AsyncSession,
    consultation_id: int,
    code: str,
    labels: dict[str, str],
    keywords: dict[str, list[str]] | None = None,
) -> CodebookEntry:
    """Add a theme to the codebook, or update its labels and keywords."""
    found = await session.exec(select(Theme).where(Theme.consultation_id == consultation_id, Theme.code == code))
    theme = found.first() or Theme(consultation_id=consultation_id, code=code, created_at=now())
    theme.labels = json.dumps(labels, ensure_ascii=False, sort_keys=True)
    if keywords is not None:
        theme.keywords = json.dumps(keywords, ensure_ascii=False, sort_keys=True)
    session.add(theme)
    await session.flush()
    return _entry(theme)


async def delete_theme(session: AsyncSession, consultation_id: int, code: str) -> bool:
    result = await session.exec(
        delete(Theme).where(col(Theme.consultation_id) == consultation_id, col(Theme.code) == code)
    )
    return bool(result.rowcount)


@dataclass(frozen=True)
class WrittenAnswer:
    """A written answer, decrypted (already redacted when it was stored), with what the review knows of it."""

    answer_id: int
    question_id: str
    text: str
    themes: tuple[str, ...]
    reviewed: bool
    quote: str | None  # the approved quote's text, if any
    language: str | None = None  # the language the person answered in


async def written_answers(
    session: AsyncSession,
    consultation_id: int,
    keys: KeyRing,
    *,
    pending_only: bool = True,
    limit: int | None = None,
    offset: int = 0,
    answer_id: int | None = None,
) -> list[WrittenAnswer]:
    """Written answers of a consultation in the order they came (from `offset`, at most `limit`; or only the one
    with `answer_id`), decrypted for a facilitator's review."""
    reviewed = select(AnswerReview.answer_id).where(col(AnswerReview.answer_id) == col(Answer.id)).exists()
    query = (
        select(Answer, ConversationSession.language, ConversationSession.participant_id)
        .join(ConversationSession, col(ConversationSession.id) == col(Answer.session_id))
        .where(Answer.consultation_id == consultation_id, col(Answer.text_cipher).is_not(None))
    )
    if pending_only:
        query = query.where(~reviewed)
    if answer_id is not None:
        query = query.where(col(Answer.id) == answer_id)
    query = query.order_by(col(Answer.id)).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    found = list((await session.exec(query)).all())
    answers = [answer for answer, _, _ in found]
    languages = {answer.id: language for answer, language, _ in found}
    participants = {answer.id: participant for answer, _, participant in found}
    ids = [a.id for a in answers if a.id is not None]
    themes: dict[int, list[str]] = {}
    if ids:
        rows = await session.exec(
            select(ThemeAssignment.answer_id, Theme.code)
            .join(Theme, col(Theme.id) == col(ThemeAssignment.theme_id))
            .where(col(ThemeAssignment.answer_id).in_(ids))
        )
        for answer_id, code in rows.all():
            themes.setdefault(answer_id, []).append(code)
    done = set()
    quotes: dict[int, str] = {}
    if ids:
        done = set(
            (await session.exec(select(AnswerReview.answer_id).where(col(AnswerReview.answer_id).in_(ids)))).all()
        )
        for quote in (
            await session.exec(select(Quote).where(col(Quote.answer_id).in_(ids), Quote.status == APPROVED))
        ).all():
            if quote.answer_id is not None:
                quotes[quote.answer_id] = keys.decrypt(
                    quote.text_cipher, quote.key_id, quote_context(consultation_id, quote.question_id)
                )
    out = []
    for answer in answers:
        if answer.id is None or answer.text_cipher is None or answer.key_id is None:
            continue
        context = answer_context(consultation_id, participants[answer.id], answer.session_id, answer.question_id)
        text = keys.decrypt(answer.text_cipher, answer.key_id, context)
        out.append(
            WrittenAnswer(
                answer.id,
                answer.question_id,
                text,
                tuple(sorted(themes.get(answer.id, []))),
                answer.id in done,
                quotes.get(answer.id),
                languages.get(answer.id),
            )
        )
    return out


async def written_answer_count(session: AsyncSession, consultation_id: int, *, pending_only: bool = True) -> int:
    """How many written answers the consultation has (not yet reviewed, or all)."""
    reviewed = select(AnswerReview.answer_id).where(col(AnswerReview.answer_id) == col(Answer.id)).exists()
    query = (
        select(func.count())
        .select_from(Answer)
        .where(Answer.consultation_id == consultation_id, col(Answer.text_cipher).is_not(None))
    )
    if pending_only:
        query = query.where(~reviewed)
    return int((await session.exec(query)).one())


async def code_answer(session: AsyncSession, consultation_id: int, answer_id: int, theme_codes: list[str]) -> None:
    """Set the themes of one written answer (replacing earlier coding)."""
    answer = await session.get(Answer, answer_id)
    if answer is None or answer.consultation_id != consultation_id:
        raise StorageError(f"no written answer {answer_id} in this consultation")
    entries = {entry.code: entry.id for entry in await codebook(session, consultation_id)}
    unknown = [code for code in theme_codes if code not in entries]
    if unknown:
        raise StorageError(f"no theme {', '.join(unknown)} in this consultation's codebook")
    await session.exec(delete(ThemeAssignment).where(col(ThemeAssignment.answer_id) == answer_id))
    for code in dict.fromkeys(theme_codes):
        session.add(ThemeAssignment(answer_id=answer_id, theme_id=entries[code]))
    await session.flush()


async def decide(
    session: AsyncSession,
    consultation_id: int,
    answer_id: int,
    keys: KeyRing,
    *,
    quote: str | None,
    rejected: bool = False,
) -> None:
    """Mark a written answer reviewed; `quote` (already checked to only remove text) is approved for publication,
    `rejected` records that it must not be quoted. A new decision replaces an earlier one."""
    answer = await session.get(Answer, answer_id)
    if answer is None or answer.consultation_id != consultation_id:
        raise StorageError(f"no written answer {answer_id} in this consultation")
    await session.exec(delete(Quote).where(col(Quote.answer_id) == answer_id))
    if quote is not None or rejected:
        cipher, key_id = keys.encrypt(quote or "", quote_context(consultation_id, answer.question_id))
        session.add(
            Quote(
                consultation_id=consultation_id,
                answer_id=answer_id,
                question_id=answer.question_id,
                status=REJECTED if quote is None else APPROVED,
                text_cipher=cipher,
                key_id=key_id,
                decided_at=now(),
            )
        )
    if await session.get(AnswerReview, answer_id) is None:
        session.add(AnswerReview(answer_id=answer_id, consultation_id=consultation_id, reviewed_at=now()))
    await session.flush()


@dataclass(frozen=True)
class ApprovedQuote:
    question_id: str
    text: str
    language: str | None = None


async def approved_quotes(session: AsyncSession, consultation_id: int, keys: KeyRing) -> list[ApprovedQuote]:
    rows = await session.exec(
        select(Quote).where(Quote.consultation_id == consultation_id, Quote.status == APPROVED).order_by(col(Quote.id))
    )
    return [
        ApprovedQuote(
            q.question_id, keys.decrypt(q.text_cipher, q.key_id, quote_context(consultation_id, q.question_id))
        )
        for q in rows.all()
    ]


async def detach_approved_quotes(session: AsyncSession, consultation_id: int) -> int:
    """Before retention deletes the raw answers: approved quotes stay (no longer linked to any answer), the
    rejected ones go."""
    await session.exec(
        delete(Quote).where(col(Quote.consultation_id) == consultation_id, col(Quote.status) != APPROVED)
    )
    result = await session.exec(
        update(Quote).where(col(Quote.consultation_id) == consultation_id).values(answer_id=None)
    )
    return int(result.rowcount)
