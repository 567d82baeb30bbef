"""The texts the importer writes itself (consent, age question, thank-you, "Other"), in every language of the
form, from the interface catalogs (locales/<lang>/LC_MESSAGES/messages.po): translators find them with the
bot's other texts, and every interface language has them. A form language without a catalog gets English,
and the import report says which texts need translating."""

from __future__ import annotations

from collections.abc import Callable

from config.i18n import available_languages, t

NAMES = {
    "consent": "consent",
    "decline": "consent refusal",
    "age": "age question",
    "end": "thank-you",
    "other": "'Other' option",
    "specify": "'other' follow-up question",
}
"""What each generated text is, for the import report."""


def consent(language: str, title: str, some_required: bool) -> str:
    if some_required:
        skip = t(language, "Some questions must be answered; you can skip the others.")
    else:
        skip = t(language, "You can skip any question.")
    return t(
        language,
        "Hello. This is a short survey: “%(title)s”.\n\n"
        "• Your answers are joined with other people’s answers. Reviewers see only the totals, never who said what.\n"
        "• We do not ask your name. Please do not write names or phone numbers.\n"
        "• %(skip)s\n"
        "• Send /stop to stop; your answers so far are kept.\n"
        "• Telegram chats with bots are not end-to-end encrypted. Answer only where you feel safe.\n\n"
        "Do you agree to take part?",
        title=title,
        skip=skip,
    )


FIXED: dict[str, Callable[[str], str]] = {
    "decline": lambda language: t(
        language, "That is fine. Nothing was saved. If you change your mind, open the link again."
    ),
    "age": lambda language: t(language, "How old are you?"),
    "end": lambda language: t(
        language,
        "Thank you. Your answers are saved. They will be joined with other people’s answers in a summary. "
        "You can close this chat now.",
    ),
    "other": lambda language: t(language, "Other"),
    "specify": lambda language: t(language, "Please write your other answer."),
}


def translated(language: str) -> bool:
    """The interface catalogs have this language (else its generated texts are English)."""
    return language.replace("-", "_").split("_")[0] in available_languages()
