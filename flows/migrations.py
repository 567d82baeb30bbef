"""Registry of spec_version migrations: each upgrades a raw flow document by one version, with fixtures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from config.errors import FlowError
from flows.schema import CURRENT_SPEC_VERSION

Document = dict[str, Any]
Migration = Callable[[Document], Document]

MIGRATIONS: dict[int, Migration] = {}
"""from_version -> function returning the document at from_version + 1 (none yet: spec 1 is the first)."""


def migration(from_version: int) -> Callable[[Migration], Migration]:
    def register(func: Migration) -> Migration:
        if from_version in MIGRATIONS:
            raise ValueError(f"two migrations from spec_version {from_version}")
        MIGRATIONS[from_version] = func
        return func

    return register


def migrate_to_latest(document: Document, source: str) -> Document:
    """Upgrade a raw document to CURRENT_SPEC_VERSION, one registered migration at a time."""
    version = document.get("spec_version")
    if not isinstance(version, int):
        raise FlowError(f"{source}: `spec_version` is missing or not a whole number")
    if version > CURRENT_SPEC_VERSION:
        raise FlowError(
            f"{source}: spec_version {version} is newer than this program understands ({CURRENT_SPEC_VERSION})"
        )
    while version < CURRENT_SPEC_VERSION:
        if version not in MIGRATIONS:
            raise FlowError(f"{source}: no migration from spec_version {version}")
        document = MIGRATIONS[version](dict(document))
        version += 1
        document["spec_version"] = version
    return document
