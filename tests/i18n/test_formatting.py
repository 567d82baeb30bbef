"""Numbers in messages are written the way each language writes them; plural forms follow the language."""

from __future__ import annotations

from config.i18n import t, tn

LONG = "Thank you. Your answer was very long, so I kept the first %(limit)s characters; the rest was not saved."
EXPIRED = (
    "This conversation was closed because it was quiet for more than %(n)s hour. "
    "Your answers so far are kept. Send /start to continue from the same question.",
    "This conversation was closed because it was quiet for more than %(n)s hours. "
    "Your answers so far are kept. Send /start to continue from the same question.",
)


def test_numbers_in_messages_follow_the_locale() -> None:
    assert "first 2,000 characters" in t("en", LONG, limit=2000)
    assert "2\u202f000 premiers caractères" in t("fr", LONG, limit=2000)
    assert "2.000" in t("es", LONG, limit=2000) or "2000" in t("es", LONG, limit=2000)


def test_plural_forms() -> None:
    assert "1 hour." in tn("en", *EXPIRED, 1) and "72 hours." in tn("en", *EXPIRED, 72)
    assert "1 heure." in tn("fr", *EXPIRED, 1) and "72 heures." in tn("fr", *EXPIRED, 72)
    assert "ساعات" in tn("ar", *EXPIRED, 5) and "ساعات" not in tn("ar", *EXPIRED, 72)
