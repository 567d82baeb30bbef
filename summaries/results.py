"""Report-back to the people who answered: `/results` in the chat (the latest publication, short, in the person's
language: respondents and the clearest findings per roadmap element) and the one message sent to those who asked
to hear about the results. Built only from a publication (already suppressed), identical for everyone: nothing
in it depends on who asks."""

from __future__ import annotations

from config.i18n import t
from storage.database import DbSession
from storage.models import Consultation
from storage.publications import publications
from summaries.model import Summary
from summaries.report import build_report, day
from summaries.tables import ALL

MESSAGE_LIMIT = 3900
FINDINGS_PER_ELEMENT = 2


def results_message(summary: Summary | None, language: str, *, title: str = "", closes_on: str | None = None) -> str:
    """What `/results` answers. Before any publication: when results are expected."""
    if summary is None:
        if closes_on:
            return t(
                language,
                "The results of “%(title)s” are not published yet. They are expected after the consultation "
                "closes on %(date)s. Send /results again then.",
                title=title,
                date=day(closes_on, language),
            )
        return t(
            language,
            "The results of “%(title)s” are not published yet. They are expected after the consultation closes. "
            "Send /results again then.",
            title=title,
        )
    lang = language if language in summary.consultation.languages else summary.consultation.default_language
    report = build_report(summary, lang)
    lines = [
        t(
            lang,
            "Results of “%(title)s” (published %(date)s)",
            title=summary.consultation.title,
            date=day(summary.made_on, lang),
        ),
    ]
    if summary.respondents is None:
        lines.append(t(lang, "Too few people took part to show any result without risk to them."))
        return "\n".join(lines)
    lines.append(t(lang, "People who took part: %(n)s", n=summary.respondents))
    for element in report.framework:
        findings = sorted((f for f in element.findings if f.population == ALL), key=lambda f: -f.share)
        if not findings:
            continue
        lines.append("")
        lines.append(element.label)
        for finding in findings[:FINDINGS_PER_ELEMENT]:
            question = next(q for q in element.questions if q.id == finding.question)
            choice = finding.text.partition(": ")[2]
            lines.append(f"• {question.text} — {choice}")
    lines += ["", t(lang, "Numbers under %(k)s are never shown, so that no one can be recognised.", k=summary.k)]
    text = "\n".join(lines)
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def results_notification(language: str, title: str) -> str:
    """The one message sent to those who pressed "Tell me when the results are out"."""
    return t(
        language,
        "The results of the consultation “%(title)s” are out. Send /results to read a short summary.",
        title=title,
    )


async def results_text(session: DbSession, consultation: Consultation, language: str) -> str:
    """`/results` for a consultation: its latest publication, or when results are expected (the core calls this
    with its own database session)."""
    rows = await publications(session, consultation.id) if consultation.id is not None else []
    latest = Summary.from_json(rows[-1].payload) if rows else None
    return results_message(latest, language, title=consultation.title)
