"""Shipped flows in every language: every text present, the catalogs agree with the YAML, and every message and
button, described by the engine and rendered by the Telegram adapter, fits Telegram (4096 characters, 64 bytes of
callback data, short labels)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.callback_data import MAX_BYTES, MAX_CODE_LENGTH
from bot.keyboard import CHECK, LONG_LABEL, render
from config.i18n import t
from consultations.service import replies
from flows.engine import Engine
from flows.events import ShowMessage
from flows.loader import MAX_MESSAGE_LENGTH, load_flow
from flows.schema import FlowDefinition
from flows.session import SessionState, Status
from flows.steps import REGISTRY
from flows.steps.base import PAGE_SIZE
from flows.translation import (
    FLOW_LOCALES_DIR,
    MAX_BUTTON_LABEL,
    flow_texts,
    read_document,
    read_translations,
    template,
    translation_problems,
)
from tests.i18n import BIDI_CONTROLS, BUTTON_MSGIDS, SHIPPED_FLOWS, SHIPPED_LANGUAGES

CODE = "X" * MAX_CODE_LENGTH
"""The longest consultation or invite code a button can name (bot/callback_data.py)."""


def flow_id(path: Path) -> str:
    return path.stem


@pytest.fixture(scope="module", params=SHIPPED_FLOWS, ids=flow_id)
def flow(request: pytest.FixtureRequest) -> FlowDefinition:
    path: Path = request.param
    return load_flow(path)


def prompts(flow: FlowDefinition) -> Iterator[tuple[str, str, ShowMessage]]:
    """(language, step id, message) for every step shown, in every language: each page of a long option list,
    and a multiple choice with nothing and with everything ticked."""
    engine = Engine(flow)
    for language in flow.languages:
        for step in flow.steps:
            if not REGISTRY[step.type].needs_text:
                continue
            pages = max(1, -(-len(step.options) // PAGE_SIZE))
            ticked = [[], [o.code for o in step.options]] if step.type == "multiple_choice" else [[]]
            for page in range(pages):
                for selections in ticked:
                    state = SessionState(step.id, language, Status.ACTIVE, selections=list(selections), page=page)
                    yield language, step.id, engine.prompt(state)


def test_shipped_flows_offer_every_language(flow: FlowDefinition) -> None:
    assert set(flow.languages) == set(SHIPPED_LANGUAGES)


@pytest.mark.parametrize("path", SHIPPED_FLOWS, ids=flow_id)
def test_every_text_is_present_in_every_language(path: Path) -> None:
    load_flow(path)  # the validator refuses a flow missing a text in a declared language
    _, document = read_document(path)
    missing = [
        f"{item.context}: {language}"
        for item in flow_texts(document)
        for language in document["languages"]
        if not item.texts.get(language, "").strip()
    ]
    assert not missing


def test_rendered_messages_and_buttons_fit_telegram(flow: FlowDefinition) -> None:
    problems = []
    count = 0
    for language, step_id, message in prompts(flow):
        count += 1
        where = f"{flow.id} {language} {step_id}"
        [reply] = replies([message], CODE, language)
        shown = render(reply)  # raises if a button's data would not fit or not decode back
        if len(shown.text) > MAX_MESSAGE_LENGTH:
            problems.append(f"{where}: message of {len(shown.text)} characters")
        for label, data in [button for row in shown.keyboard for button in row]:
            if len(data.encode()) > MAX_BYTES:
                problems.append(f"{where}: callback data {data!r} over {MAX_BYTES} bytes")
            if not label.strip() or len(label) > MAX_BUTTON_LABEL:
                problems.append(f"{where}: button label {label!r} is empty or over {MAX_BUTTON_LABEL} characters")
            if BIDI_CONTROLS.search(label):
                problems.append(f"{where}: direction mark in button label {label!r}")
    assert count >= len(flow.steps) and not problems, "\n".join(problems)


def test_option_labels_stay_words_on_buttons(flow: FlowDefinition) -> None:
    """No label, in any language, is long enough for the engine to list it by number instead (a ticked
    multiple-choice label carries a check mark too)."""
    too_long = [
        f"{step.id}.{option.code} {language}: {label!r}"
        for step in flow.steps
        for option in step.options
        for language, label in option.label.items()
        if len(label) > MAX_BUTTON_LABEL - (len(CHECK) if step.type == "multiple_choice" else 0)
    ]
    assert not too_long


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_interface_buttons_are_short(language: str) -> None:
    labels = {msgid: t(language, msgid) for msgid in BUTTON_MSGIDS}
    assert all(0 < len(label) <= MAX_BUTTON_LABEL for label in labels.values()), labels
    assert not [label for label in labels.values() if BIDI_CONTROLS.search(label)]


def test_max_button_label_is_the_telegram_adapters_limit() -> None:
    assert MAX_BUTTON_LABEL == LONG_LABEL == 40


@pytest.mark.parametrize("path", SHIPPED_FLOWS, ids=flow_id)
def test_flow_template_is_current(path: Path) -> None:
    flow_id, fresh = template(path)
    with (FLOW_LOCALES_DIR / f"{flow_id}.pot").open("rb") as handle:
        stored = read_po(handle)
    assert {(m.context, m.id) for m in stored if m.id} == {(m.context, m.id) for m in fresh if m.id}, (
        f"locales/flows/{flow_id}.pot is out of date: run `make flows-update`, translate, then `make flows-merge`"
    )


@pytest.mark.parametrize("path", SHIPPED_FLOWS, ids=flow_id)
def test_flow_catalogs_agree_with_the_yaml(path: Path) -> None:
    """What runs (the YAML) is what translators see (the .po): nothing waits to be merged, nothing is lost."""
    _, document = read_document(path)
    default = document["default_language"]
    differ = []
    for language in document["languages"]:
        if language == default:
            continue
        catalog = read_translations(document["id"], language)
        assert not translation_problems(document, language, catalog)
        for item in flow_texts(document):
            message = catalog.get(item.texts[default], context=item.context)
            if message is None or message.string != item.texts[language]:
                differ.append(f"{language}: {item.context}")
    assert not differ, "YAML and .po differ (run `make flows-merge`, or `make flows-update`): " + ", ".join(differ)
