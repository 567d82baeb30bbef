"""The facilitator's and the reviewer's desk, for the dashboard: live progress (under the same disclosure control
as a publication), the review of written answers (the CLI `quotes` commands' functions), publications (the CLI
`summary publish` logic), and exports in every format. Every view of a written answer, every decision about a
quote, every publication and every export is written to the audit log in the same transaction.

The caller has already checked that the person may act on the consultation (`consultations.facilitation`);
everything here takes the consultation and who acts."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from config.errors import VoicesError
from storage import audit
from storage import repository as repo
from storage import themes as store
from storage.database import Database, DbSession
from storage.models import Consultation
from storage.privacy import KeyRing
from summaries import publications
from summaries.model import FORMATS, Summary
from summaries.questionnaire import FlowSource
from summaries.report import Report, build_report
from summaries.tables import ALL, NOT_REACHED, RESPONDENTS
from summaries.themes import only_removes, suggest_keywords, suggest_themes

EXPORTS = tuple(fmt for fmt in FORMATS if fmt != "console")
MEDIA_TYPES = {
    "html": "text/html",
    "pdf": "application/pdf",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "md": "text/markdown",
}
THEME_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
REVIEW_PAGE = 10
LIVE_WAIT = 5.0
"""Seconds the live progress page waits for a new step of the live view before showing the latest one."""
"""Written answers shown at once: each one shown is a recorded view."""


class DeskRefusal(VoicesError):
    """Refused for a reason the person can fix: `reason` names it (the adapter words it in their language)."""

    def __init__(self, reason: str, **values: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values


NOT_ONLY_REMOVED = "not only removed"
UNKNOWN_THEME = "unknown theme"
BAD_THEME_CODE = "bad theme code"
NO_LABEL = "no label"
NO_SUCH_ANSWER = "no such answer"


@dataclass(frozen=True)
class Actor:
    """Who acts, as the audit log names them."""

    id: int | None
    name: str


SCHEDULE = Actor(None, "schedule")


@dataclass(frozen=True)
class Progress:
    """A live view for the facilitator's screen: the report of the counts at the latest step (no count from 1 to
    k-1, none that can be worked out, alone or against any publication or earlier view), and how far people
    got."""

    report: Report
    completed: int | None
    """People who reached the last question: shown only when it is published-safe arithmetic of shown cells
    and at least k; None otherwise."""
    last_publication: int | None = None
    """The latest publication's number: figures that could be compared with it are hidden too."""


@dataclass(frozen=True)
class ReviewItem:
    answer: store.WrittenAnswer
    suggested: list[str]


class Desk:
    def __init__(
        self, database: Database, keys: KeyRing, flows: FlowSource, *, live_wait: float | None = LIVE_WAIT
    ) -> None:
        self.database = database
        self.keys = keys
        self.flows = flows
        self.live_wait = live_wait
        """Seconds the live progress page waits for a new step (then shows the latest one; None: as long as it
        takes)."""

    # ---- live progress ----

    async def progress(self, consultation: Consultation, language: str) -> Progress:
        """The current counts made safe like the next publication would be: on their own and against every
        publication and live view already shown (`publications.live_view`: it moves in steps of at least k
        people, and each new view is recorded), so comparing this page with any other reveals nobody."""
        previous = await publications.list_publications(self.database, consultation.code)
        summary = await publications.live_view(self.database, consultation.code, self.flows, wait=self.live_wait)
        report = build_report(summary, _language(summary, language))
        return Progress(report, completed(summary), previous[-1].number if previous else None)

    # ---- written answers ----

    async def codebook(self, consultation: Consultation) -> list[store.CodebookEntry]:
        async with self.database.reader() as session:
            return await store.codebook(session, _id(consultation))

    async def save_theme(
        self, consultation: Consultation, actor: Actor, code: str, language: str, label: str, keywords: str
    ) -> store.CodebookEntry:
        code = code.strip().lower()
        label = " ".join(label.split())
        if not THEME_CODE.match(code):
            raise DeskRefusal(BAD_THEME_CODE)
        if not label or len(label) > 120:
            raise DeskRefusal(NO_LABEL)
        async with self.database.transaction() as session:
            existing = {e.code: e for e in await store.codebook(session, _id(consultation))}
            entry = existing.get(code)
            labels = dict(entry.labels) if entry else {}
            labels[language] = label
            words = dict(entry.keywords) if entry else {}
            given = [k.strip() for k in keywords.split(",") if k.strip()][:30]
            if given or language in words:
                words[language] = [k[:60] for k in given]
            saved = await store.save_theme(session, _id(consultation), code, labels, words)
            await _audit(session, actor, "theme saved", consultation, code)
            return saved

    async def review_queue(
        self, consultation: Consultation, actor: Actor, *, everything: bool = False, page: int = 0
    ) -> tuple[list[ReviewItem], int, int]:
        """Page `page` of REVIEW_PAGE written answers (not yet reviewed, or all), decrypted; each one shown is
        recorded in the audit log as a view. Also how many are waiting for review, and how many the list has."""
        cid = _id(consultation)
        async with self.database.reader() as session:
            waiting = await store.written_answer_count(session, cid)
            listed = waiting if not everything else await store.written_answer_count(session, cid, pending_only=False)
            shown = await store.written_answers(
                session,
                cid,
                self.keys,
                pending_only=not everything,
                limit=REVIEW_PAGE,
                offset=(page * REVIEW_PAGE) if everything else 0,
            )
            codebook = await store.codebook(session, cid)
        if shown:
            async with self.database.transaction() as session:
                for answer in shown:
                    await _audit(session, actor, "written answer viewed", consultation, f"answer:{answer.answer_id}")
        items = [ReviewItem(a, suggest_themes(a.text, codebook, a.language)) for a in shown]
        return items, waiting, listed

    async def decide(
        self,
        consultation: Consultation,
        actor: Actor,
        answer_id: int,
        themes: list[str],
        *,
        approve: bool,
        quote: str = "",
    ) -> str | None:
        """Code the answer into `themes`, and approve it as a quote (`quote`: the answer with text only taken
        out, checked here whatever the browser sent) or reject it. The approved text, or None when rejected."""
        cid = _id(consultation)
        async with self.database.reader() as session:
            found = await store.written_answers(session, cid, self.keys, pending_only=False, answer_id=answer_id)
            codebook = {e.code for e in await store.codebook(session, cid)}
        if not found:
            raise DeskRefusal(NO_SUCH_ANSWER)
        original = found[0].text
        unknown = [code for code in themes if code not in codebook]
        if unknown:
            raise DeskRefusal(UNKNOWN_THEME, theme=", ".join(unknown))
        approved: str | None = None
        if approve:
            edited = " ".join(quote.split())
            if not edited or edited == " ".join(original.split()):
                approved = original
            elif only_removes(original, edited):
                approved = edited
            else:
                raise DeskRefusal(NOT_ONLY_REMOVED)
        async with self.database.transaction() as session:
            await store.code_answer(session, cid, answer_id, themes)
            await store.decide(session, cid, answer_id, self.keys, quote=approved, rejected=not approve)
            action = "quote approved" if approve else "quote rejected"
            detail = f"answer:{answer_id}" + (" shortened" if approved is not None and approved != original else "")
            await _audit(session, actor, action, consultation, detail)
        return approved

    async def keywords(self, consultation: Consultation, actor: Actor, top: int = 15) -> dict[str, list[str]]:
        """Key phrases of the written answers, per language (yake): suggestions, the facilitator decides. The
        phrases come from the answers, so reading them counts as a view of the written answers."""
        cid = _id(consultation)
        async with self.database.reader() as session:
            answers = await store.written_answers(session, cid, self.keys, pending_only=False)
        by_language: dict[str, list[str]] = {}
        for answer in answers:
            by_language.setdefault(answer.language or consultation.default_language, []).append(answer.text)
        out: dict[str, list[str]] = {}
        for language, texts in sorted(by_language.items()):
            out[language] = await asyncio.to_thread(suggest_keywords, texts, language, top)
        if answers:
            async with self.database.transaction() as session:
                await _audit(session, actor, "keywords read", consultation, f"{len(answers)} written answers")
        return out

    # ---- publications ----

    async def publications(self, consultation: Consultation) -> list[Summary]:
        return await publications.list_publications(self.database, consultation.code)

    async def publication(self, consultation: Consultation, number: int) -> Summary:
        for summary in await self.publications(consultation):
            if summary.number == number:
                return summary
        raise publications.PublicationRefused(f"no publication {number}", publications.NO_PUBLICATION)

    async def publish(self, consultation: Consultation, actor: Actor, *, final: bool = False) -> Summary:
        """The next publication (`summary publish`), recorded in the audit log in the same transaction:
        PublicationRefused says why not (reason)."""

        async def record(session: DbSession, made: Summary) -> None:
            detail = f"publication {made.number}" + (" final" if made.final else "")
            await _audit(session, actor, "publication made", consultation, detail)

        return await publications.publish(
            self.database, consultation.code, self.flows, keys=self.keys, final=final, record=record
        )

    async def final_publication(self, consultation: Consultation, actor: Actor) -> Summary | None:
        """After closing: the final publication, unless there is one already."""
        rows = await self.publications(consultation)
        if rows and rows[-1].final:
            return None
        return await self.publish(consultation, actor, final=True)

    async def final_publications(self, codes: list[str]) -> list[Summary]:
        """The final publications of consultations the schedule just closed (those without one yet)."""
        made = []
        for code in codes:
            async with self.database.reader() as session:
                consultation = await repo.consultation_by_code(session, code)
            if consultation is not None:
                final = await self.final_publication(consultation, SCHEDULE)
                if final is not None:
                    made.append(final)
        return made

    async def export(
        self, consultation: Consultation, actor: Actor, number: int, fmt: str, language: str, *, read: bool = False
    ) -> tuple[bytes, str]:
        """Publication `number` in `fmt` (one of EXPORTS) and `language`; recorded in the audit log (`read`: shown
        in the browser rather than downloaded). The bytes and a file name."""
        if fmt not in EXPORTS:
            raise publications.PublicationRefused(f"no format {fmt}", publications.NO_PUBLICATION)
        summary = await self.publication(consultation, number)
        lang = _language(summary, language)
        from summaries.render import render  # the renderers (weasyprint, openpyxl) only when a file is made

        data = await asyncio.to_thread(render, build_report(summary, lang), fmt)
        async with self.database.transaction() as session:
            action = "publication read" if read else "publication exported"
            await _audit(session, actor, action, consultation, f"publication {number} {fmt} {lang}")
        return data, f"{consultation.code}-{number}-{lang}.{fmt}"

    async def record(self, consultation: Consultation, actor: Actor, action: str, detail: str = "") -> None:
        """An entry in the audit log about this consultation (e.g. the results message sent)."""
        async with self.database.transaction() as session:
            await _audit(session, actor, action, consultation, detail)


def completed(summary: Summary) -> int | None:
    """People who reached the last question: respondents minus those who did not reach it, shown only when both
    are shown (so it is arithmetic any reader of the page could do) and it is at least k."""
    if not summary.tables.questions:
        return None
    respondents = summary.tables.counts.get((ALL, "", RESPONDENTS))
    last = summary.tables.questions[-1].id
    not_reached = summary.tables.counts.get((ALL, last, NOT_REACHED))
    if respondents is None or not_reached is None:
        return None
    value = respondents - not_reached
    return value if value >= summary.k else None


def _language(summary: Summary, wanted: str) -> str:
    return wanted if wanted in summary.consultation.languages else summary.consultation.default_language


def _id(consultation: Consultation) -> int:
    if consultation.id is None:
        raise VoicesError("a consultation without an id")
    return consultation.id


async def _audit(session: DbSession, actor: Actor, action: str, consultation: Consultation, detail: str = "") -> None:
    await audit.append(
        session,
        actor_id=actor.id,
        actor=actor.name,
        action=action,
        target=f"consultation:{consultation.id}",
        detail=detail,
    )
