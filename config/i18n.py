"""Interface strings through gettext catalogs in locales/ (babel); `t(lang, msgid)` is the one way to them."""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal
from babel.support import Translations

from config.errors import ConfigError

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"


def available_languages() -> list[str]:
    """Languages with a catalog in locales/ (English is the source language and always available)."""
    found = {p.parent.parent.name for p in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return sorted(found | {"en"})


@cache
def _catalog(language: str) -> gettext.NullTranslations:
    return Translations.load(str(LOCALES_DIR), [language], DOMAIN)


def t(language: str, msgid: str, /, **values: object) -> str:
    """Translate an interface string; placeholders are gettext's python-format `%(name)s`. Numbers given as
    values are written the way the language writes them (babel: 2,000 / 2 000 / 2.000)."""
    text = _catalog(language).gettext(msgid)
    return text % _localised(language, values) if values else text


def tn(language: str, singular: str, plural: str, n: int, /, **values: object) -> str:
    """Translate with gettext plural forms (Arabic has six); `n` is available as `%(n)s`."""
    text = _catalog(language).ngettext(singular, plural, n)
    return text % _localised(language, {"n": n, **values})


def _localised(language: str, values: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, value in values.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                out[name] = format_decimal(value, locale=language)
            except (ValueError, UnknownLocaleError):
                out[name] = value
        else:
            out[name] = value
    return out


def check_catalogs() -> None:
    """Fail at start-up when a .po catalog has no compiled .mo (run `make i18n-compile`)."""
    missing = [str(po) for po in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po") if not po.with_suffix(".mo").exists()]
    if missing:
        raise ConfigError(f"uncompiled translation catalogs (run `make i18n-compile`): {', '.join(missing)}")


def negotiate(preferred: str | None, offered: list[str], default: str) -> str:
    """Pick the offered language closest to the one Telegram reports (e.g. 'pt-br' → 'pt'), else default."""
    if preferred:
        try:
            match = Locale.negotiate([preferred.replace("-", "_")], offered, sep="_")
        except (ValueError, UnknownLocaleError):
            match = None
        if match:
            return str(match)
        base = preferred.split("-")[0].split("_")[0].lower()
        if base in offered:
            return base
    return default


def N_(msgid: str) -> str:
    """Mark a text for the catalogs where its reader's language is not known yet (the core's refusals); the
    adapter translates it later with `t(language, msgid, **values)`."""
    return msgid
