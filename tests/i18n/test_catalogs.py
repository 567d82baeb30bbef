"""Every catalog: complete (no empty, no fuzzy), same placeholders and /commands as its source, compiles cleanly."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from config.i18n import LOCALES_DIR
from flows.translation import FLOW_LOCALES_DIR, tokens
from tests.i18n import (
    FLOW_CATALOGS,
    INTERFACE_CATALOGS,
    SHIPPED_LANGUAGES,
    catalog_id,
    catalog_language,
    read_catalog,
)

ALL_CATALOGS = INTERFACE_CATALOGS + FLOW_CATALOGS
SOURCE_LANGUAGE = "en"
"""The language of the msgids: its interface catalog may leave a msgstr empty (gettext then shows the msgid)."""


def forms(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    if value is None:
        return [""]
    return [value] if isinstance(value, str) else list(value)


def test_every_shipped_language_has_its_catalogs() -> None:
    interface = {catalog_language(p) for p in INTERFACE_CATALOGS}
    assert set(SHIPPED_LANGUAGES) <= interface
    flows = {catalog_language(p) for p in FLOW_CATALOGS}
    assert set(SHIPPED_LANGUAGES) - {SOURCE_LANGUAGE} <= flows


@pytest.mark.parametrize("path", ALL_CATALOGS, ids=catalog_id)
def test_every_entry_is_translated_and_reviewed(path: Path) -> None:
    catalog = read_catalog(path)
    language = catalog_language(path)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        where = f"{message.context + ': ' if message.context else ''}{forms(message.id)[0][:60]!r}"
        if message.fuzzy:
            problems.append(f"fuzzy: {where}")
        if language != SOURCE_LANGUAGE and any(not s.strip() for s in forms(message.string)):
            problems.append(f"not translated: {where}")
    assert not problems, f"{catalog_id(path)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", INTERFACE_CATALOGS, ids=catalog_id)
def test_interface_catalog_has_every_msgid_of_the_template(path: Path) -> None:
    with (LOCALES_DIR / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    catalog = read_catalog(path)
    missing = [str(m.id)[:60] for m in template if m.id and catalog.get(m.id, context=m.context) is None]
    assert not missing, f"{catalog_id(path)} lacks (run `make i18n-update`, then translate): {missing}"


@pytest.mark.parametrize("path", FLOW_CATALOGS, ids=catalog_id)
def test_flow_catalog_has_every_text_of_its_template(path: Path) -> None:
    with (FLOW_LOCALES_DIR / f"{path.stem}.pot").open("rb") as handle:
        template = read_po(handle)
    catalog = read_catalog(path)
    missing = [m.context for m in template if m.id and catalog.get(m.id, context=m.context) is None]
    assert not missing, f"{catalog_id(path)} lacks (run `make flows-update`, then translate): {missing}"


@pytest.mark.parametrize("path", ALL_CATALOGS, ids=catalog_id)
def test_placeholders_and_commands_are_kept(path: Path) -> None:
    """`%(name)s`, `%s` and /commands of the msgid appear in the msgstr, no more and no fewer. In a plural
    entry, a form may leave out `%(n)s` (Arabic says "one hour", "two hours" without the number)."""
    catalog = read_catalog(path)
    problems = [f"{m.id!r}: {', '.join(str(e) for e in errors)}" for m, errors in catalog.check()]
    for message in catalog:
        if not message.id or not message.string:
            continue
        source = forms(message.id)[-1]
        expected = tokens(source)
        for form in forms(message.string):
            got = tokens(form)
            if message.pluralizable:  # compared as sets, `%(n)s` optional
                expected = (expected[0], sorted({*expected[1], "%(n)s"}))
                got = (got[0], sorted({*got[1], "%(n)s"}))
            if form and got != expected:
                problems.append(f"{message.context or ''} {source[:50]!r}: {expected} → {got}")
    assert not problems, f"{catalog_id(path)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", INTERFACE_CATALOGS, ids=catalog_id)
def test_plural_forms_suit_the_language(path: Path) -> None:
    catalog = read_catalog(path)
    expected = get_plural(catalog_language(path)).num_plurals
    assert catalog.num_plurals == expected
    if catalog_language(path) == "ar":
        assert catalog.num_plurals == 6
    for message in catalog:
        if message.pluralizable and message.string:
            assert len(forms(message.string)) == expected, message.id


@pytest.mark.parametrize("path", ALL_CATALOGS, ids=catalog_id)
def test_catalog_compiles(path: Path) -> None:
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(path))
    assert buffer.getvalue()[:4] in (b"\xde\x12\x04\x95", b"\x95\x04\x12\xde")


@pytest.mark.parametrize("path", [p for p in ALL_CATALOGS if catalog_language(p) != SOURCE_LANGUAGE], ids=catalog_id)
def test_sentences_are_not_left_in_english(path: Path) -> None:
    catalog = read_catalog(path)
    copied = [str(m.id)[:60] for m in catalog if m.id and len(str(m.id)) > 20 and m.string == m.id]
    assert not copied, f"{catalog_id(path)}: msgstr is the English msgid: {copied}"
