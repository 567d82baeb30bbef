"""Arabic: every text is in Arabic script, with no Latin leftovers, and displays right to left in Telegram.

A /command inside right-to-left text shows as "stop/" unless a left-to-right mark (U+200E) comes right before
its slash; the same mark keeps a date such as 2025-03-31 (or a `%(date)s` placeholder) in its order. Those are
the only direction marks allowed, and never inside a button label (a label is one short run and needs none).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from config.i18n import LOCALES_DIR, t
from flows.translation import flow_texts, read_document
from tests.i18n import BIDI_CONTROLS, BUTTON_MSGIDS, SHIPPED_FLOWS, read_catalog

ARABIC = re.compile("[\u0600-\u06ff]")
LATIN_WORD = re.compile(r"[A-Za-z]+")
COMMAND = re.compile(r"(?<![\w/])/[a-z]+\b")
PLACEHOLDER = re.compile(r"%\([A-Za-z_]\w*\)[sd]|%[sd]")
ALLOWED_LATIN_WORDS = frozenset(
    {"Alliance", "Telegram", "Voices", "XLSForm", "KoboToolbox", "ODK", "QR", "UTC", "https", "k"}
)
"""Names that may stay in Latin letters (the texts now write تيليجرام and التحالف 8.7, but a name is not an error);
the dashboard names formats and tools as their users meet them (XLSForm, QR, UTC) and the threshold k."""
LRM = "\u200e"


SOURCES = ("messages", *(path.stem for path in SHIPPED_FLOWS))


def arabic_texts(source: str) -> Iterator[tuple[str, str, bool]]:
    """(where, text, is a button label) for every Arabic interface string, or every Arabic text of a flow."""
    if source == "messages":
        catalog = read_catalog(LOCALES_DIR / "ar" / "LC_MESSAGES" / "messages.po")
        for message in catalog:
            if message.id:
                for form in [message.string] if isinstance(message.string, str) else list(message.string or ()):
                    yield f"{str(message.id)[:40]!r}", form, message.id in BUTTON_MSGIDS
        return
    _, document = read_document(next(path for path in SHIPPED_FLOWS if path.stem == source))
    for item in flow_texts(document):
        yield item.context, item.texts.get("ar", ""), ".option." in item.context


def latin_leftovers(text: str) -> set[str]:
    rest = PLACEHOLDER.sub(" ", COMMAND.sub(" ", text))
    return set(LATIN_WORD.findall(rest)) - ALLOWED_LATIN_WORDS


@pytest.mark.parametrize("source", SOURCES)
def test_arabic_text_is_arabic_without_latin_leftovers(source: str) -> None:
    problems = []
    for place, text, _ in arabic_texts(source):
        if not ARABIC.search(text):
            problems.append(f"{place}: no Arabic script in {text!r}")
        if leftovers := latin_leftovers(text):
            problems.append(f"{place}: Latin words {sorted(leftovers)}")
    assert not problems, f"{source}:\n" + "\n".join(problems)


@pytest.mark.parametrize("source", SOURCES)
def test_direction_marks_only_where_they_belong(source: str) -> None:
    problems = []
    for place, text, is_button in arabic_texts(source):
        if is_button:
            if BIDI_CONTROLS.search(text):
                problems.append(f"{place}: direction mark in a button label")
            continue
        for mark in BIDI_CONTROLS.finditer(text):
            after = text[mark.end() : mark.end() + 1]
            if mark.group() != LRM or not (after in ("/", "%") or after.isdigit()):
                problems.append(f"{place}: stray direction mark U+{ord(mark.group()):04X} at {mark.start()}")
        for command in COMMAND.finditer(text):
            if not text[: command.start()].endswith(LRM):
                problems.append(f"{place}: {command.group()} needs U+200E right before it")
    assert not problems, f"{source}:\n" + "\n".join(problems)


def test_interface_buttons_in_arabic_have_no_direction_marks() -> None:
    for msgid in BUTTON_MSGIDS:
        label = t("ar", msgid)
        assert ARABIC.search(label) and not BIDI_CONTROLS.search(label), msgid


def test_allow_list_catches_leftovers() -> None:
    assert latin_leftovers("أرسل \u200e/stop للتوقف في Telegram، %(organisation)s وقل hello") == {"hello"}


def test_the_consent_commands_read_left_to_right() -> None:
    [text] = [text for place, text, _ in arabic_texts("roadmap_feedback") if place == "consent.text"]
    assert all(f"{LRM}/{name}" in text for name in ("pause", "resume", "exit", "delete"))
