"""XLSForm language names (`English (en)`, `english`, `Français (fr)`, `Kiswahili`, `default`) -> babel codes."""

from __future__ import annotations

import re
from functools import cache

from babel import Locale, UnknownLocaleError


class Languages:
    """Resolves the language names of one form; `default` is the form's default_language setting."""

    def __init__(self, default_name: str) -> None:
        self.default_name = default_name

    def code(self, name: str) -> str | None:
        if name == "default":
            return self.code(self.default_name) if self.default_name != "default" else "en"
        return language_code(name)


@cache
def language_code(name: str) -> str | None:
    """The babel code of a language column name (None when it names no language babel knows)."""
    match = re.search(r"\(\s*([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*)\s*\)\s*$", name)
    if match:
        return _normalise_locale(match[1]) or match[1].lower()
    cleaned = name.strip()
    if re.fullmatch(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*", cleaned) and (found := _normalise_locale(cleaned)):
        return found
    key = cleaned.casefold()
    return _english_names().get(key) or _native_names().get(key)


def _normalise_locale(code: str) -> str | None:
    try:
        return str(Locale.parse(code.replace("-", "_")))
    except (ValueError, UnknownLocaleError):
        return None


@cache
def _english_names() -> dict[str, str]:
    """English language names -> code (two-letter codes win: 'Dari' is fa_AF, 'Swahili' is sw)."""
    english = Locale("en").languages
    found: dict[str, str] = {}
    for code in sorted(english, key=lambda c: (len(c), c)):
        found.setdefault(english[code].casefold(), code)
    return found


@cache
def _native_names() -> dict[str, str]:
    """Language names in the language itself ('Français', 'Kiswahili') -> code; built only when needed."""
    found: dict[str, str] = {}
    for code in sorted(Locale("en").languages, key=lambda c: (len(c), c)):
        try:
            own = Locale.parse(code).get_display_name(code)
        except (ValueError, UnknownLocaleError):
            continue
        if own:
            found.setdefault(own.casefold(), code)
    return found
