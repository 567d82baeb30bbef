"""The dashboard's language: the one chosen in the session, else the browser's (Accept-Language), else English;
texts through the same gettext catalogs as the bot (`config.i18n.t`)."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError

from config.i18n import available_languages

RTL = frozenset({"ar"})


def languages() -> list[str]:
    return available_languages()


def language_name(code: str) -> str:
    """A language's own name (Français, العربية, Kiswahili) for the switcher."""
    try:
        name = Locale.parse(code).get_display_name(code) or code
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:]


def from_accept_language(header: str | None) -> str | None:
    """The first language of an Accept-Language header we have a catalog for."""
    if not header:
        return None
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, index, tag.strip().lower()))
    offered = languages()
    for _, _, tag in sorted(weighted):
        base = tag.replace("_", "-").split("-")[0]
        if base in offered:
            return base
    return None
