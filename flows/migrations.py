"""Registry of spec_version migrations: each upgrades a raw flow document by one version, with fixtures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from config.errors import FlowError
from flows.schema import CURRENT_SPEC_VERSION

Document = dict[str, Any]
Migration = Callable[[Document], Document]

MIGRATIONS: dict[int, Migration] = {}
"""from_version -> function returning the document at from_version + 1."""


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


@migration(1)
def message_steps_become_notes(document: Document) -> Document:
    """Spec 2 uses XLSForm's word for a step that only shows a text: `type: message` becomes `type: note`."""
    steps = document.get("steps")
    if isinstance(steps, list):
        document["steps"] = [
            {**step, "type": "note"} if isinstance(step, dict) and step.get("type") == "message" else step
            for step in steps
        ]
    return document
