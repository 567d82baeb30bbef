"""Checks of the translations: interface catalogs, flow texts and their catalogs, Arabic display."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from config.i18n import DOMAIN, LOCALES_DIR
from flows.loader import DEFINITIONS_DIR
from flows.translation import FLOW_LOCALES_DIR

SHIPPED_LANGUAGES = ("en", "fr", "es", "pt", "ar", "sw")
"""Every shipped flow and the interface are in all of these."""
SHIPPED_FLOWS = sorted(DEFINITIONS_DIR.glob("*.yaml"))
INTERFACE_CATALOGS = sorted(LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
FLOW_CATALOGS = sorted(FLOW_LOCALES_DIR.glob("*/*.po"))
BUTTON_MSGIDS = (
    "Skip",
    "◀ Back",
    "More ▶",
    "I agree",
    "Not now",
    "Done",
    "Yes",
    "No",
    "OK",
    "Under 18",
    "18 to 24",
    "25 to 34",
    "35 to 49",
    "50 or older",
    "Exit and clear chat",
    "Tell me when the results are out",
    "Your privacy",
    "Yes, delete everything",
    "No, keep my answers",
)
"""Interface strings shown on buttons."""
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""LRM, RLM, the embeddings/overrides and the isolates: never inside a button label."""


def catalog_language(path: Path) -> str:
    """locales/<lang>/LC_MESSAGES/messages.po or locales/flows/<lang>/<flow>.po → <lang>."""
    return path.parent.parent.name if path.parent.name == "LC_MESSAGES" else path.parent.name


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=catalog_language(path))


def catalog_id(path: Path) -> str:
    return str(path.relative_to(LOCALES_DIR))
