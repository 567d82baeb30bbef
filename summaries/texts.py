"""Every interface text of the reports, in the reader's language (gettext via `config.i18n.t`)."""

from __future__ import annotations

from config.i18n import t
from flows.schema import ROADMAP_ELEMENTS

ELEMENTS = ROADMAP_ELEMENTS
"""The roadmap elements of the Alliance 8.7 Accountability Framework, in the order a review reads them."""


def element_label(lang: str, element: str) -> str:
    labels = {
        "priorities": t(lang, "Priorities"),
        "key_actions": t(lang, "Key actions"),
        "responsibilities": t(lang, "Responsibilities"),
        "timelines": t(lang, "Timelines"),
        "budget": t(lang, "Budget"),
        "indicators": t(lang, "Indicators"),
        "survivor_inclusion": t(lang, "Survivor inclusion"),
        "participatory_approach": t(lang, "Participatory approach"),
    }
    return labels.get(element, element)


def kind_label(lang: str, kind: str) -> str:
    if kind == "progress_report":
        return t(lang, "Annual progress report")
    return t(lang, "Roadmap")


def audience_label(lang: str, audience: str) -> str:
    if audience == "cso":
        return t(lang, "Civil society organisations (CSO staff)")
    return t(lang, "Survivors, their families and communities")


def row_label(lang: str, row: str) -> str:
    """Labels of rows that are not options: status rows, bins, the no-theme row."""
    if row == "answered":
        return t(lang, "Answered")
    if row == "skipped":
        return t(lang, "Skipped")
    if row == "not_reached":
        return t(lang, "Not reached")
    if row == "respondents":
        return t(lang, "Respondents")
    if row == "theme:":
        return t(lang, "No theme (or not coded yet)")
    return row


def interface(lang: str, k: int) -> dict[str, str]:
    """The fixed texts of a report."""
    return {
        "summary": t(lang, "Consultation summary"),
        "publication": t(lang, "Publication"),
        "final": t(lang, "final"),
        "preview": t(lang, "Live preview: not a publication, not to be shared"),
        "respondents": t(lang, "Respondents"),
        "everyone": t(lang, "Everyone"),
        "question": t(lang, "Question"),
        "answer": t(lang, "Answer"),
        "count": t(lang, "Count"),
        "share": t(lang, "Share"),
        "answered": t(lang, "Answered"),
        "skipped": t(lang, "Skipped"),
        "not_reached": t(lang, "Not reached"),
        "median": t(lang, "Median"),
        "hidden": t(lang, "hidden"),
        "hidden_long": t(lang, "hidden to protect the people who answered"),
        "roadmap_elements": t(lang, "Roadmap elements"),
        "by_group": t(lang, "By participant group"),
        "by_channel": t(lang, "By invite channel"),
        "framework": t(lang, "Accountability Framework view"),
        "framework_intro": t(
            lang, "For each element of the roadmap, what the questions tagged with it found, and from whom."
        ),
        "no_questions": t(lang, "No question of this consultation was about this element."),
        "survivors": t(lang, "People with lived experience"),
        "csos": t(lang, "CSO staff"),
        "all_participants": t(lang, "All participants"),
        "most_chosen": t(lang, "Most chosen"),
        "quotes": t(lang, "Quotes (approved by a facilitator)"),
        "comparison": t(lang, "Comparison with other consultations in the same country"),
        "comparison_intro": t(lang, "Questions asked in several consultations, from each one's latest publication."),
        "methodology": t(lang, "Methodology"),
        "country": t(lang, "Country"),
        "consultation": t(lang, "Consultation"),
        "kind": t(lang, "Review of"),
        "cycle": t(lang, "Cycle"),
        "organisation": t(lang, "Run by"),
        "questionnaire": t(lang, "Questionnaire"),
        "version": t(lang, "version"),
        "languages": t(lang, "Languages"),
        "dates": t(lang, "Dates"),
        "opened": t(lang, "opened"),
        "closed": t(lang, "closed"),
        "published": t(lang, "published"),
        "still_open": t(lang, "still open"),
        "asked_whom": t(lang, "Who was asked"),
        "threshold": t(lang, "Smallest number shown (k)"),
        "suppression_title": t(lang, "What “hidden” means"),
        "suppression": t(
            lang,
            "No number from 1 to %(k)s is shown, and none can be worked out from the others: totals, "
            "answered/skipped/not reached, shares, other populations and earlier publications. Where a number "
            "would allow that, it is hidden too. Hidden numbers may be 0 or large: they are not small numbers.",
            k=k - 1,
        ),
        "carried": t(
            lang,
            "Fewer than %(k)s people took part after the previous publication: to protect them, this final "
            "publication repeats its figures.",
            k=k,
        ),
        "bins_note": t(
            lang, "Numbers typed as answers are shown only as ranges; a median only from %(k)s answers.", k=k
        ),
        "quotes_note": t(
            lang, "Written answers are shown only as counts per theme, and as quotes a facilitator approved."
        ),
        "rows_note": t(lang, "Answers with several choices are ranked by count; hidden ones come last."),
    }
