"""Each registered spec_version migration has fixtures `{description, original, migrated}` and passes them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.errors import FlowError
from flows.migrations import MIGRATIONS, migrate_to_latest
from flows.schema import CURRENT_SPEC_VERSION

TESTDATA = Path(__file__).parent / "testdata" / "migrations"


def test_every_migration_has_fixtures() -> None:
    assert sorted(MIGRATIONS) == list(range(1, CURRENT_SPEC_VERSION))
    assert {int(p.stem) for p in TESTDATA.glob("*.yaml")} >= set(MIGRATIONS)


@pytest.mark.parametrize("version", sorted(MIGRATIONS))
def test_migration_fixtures(version: int) -> None:
    cases: list[dict[str, Any]] = yaml.safe_load((TESTDATA / f"{version}.yaml").read_text(encoding="utf-8"))
    assert cases
    for case in cases:
        original = copy.deepcopy(case["original"])
        migrated = MIGRATIONS[version](copy.deepcopy(case["original"]))
        migrated["spec_version"] = version + 1
        assert migrated == case["migrated"], case["description"]
        assert case["original"] == original, "a migration must not change its input"


def test_documents_are_migrated_to_the_latest_spec() -> None:
    document = {"spec_version": 1, "steps": [{"id": "a", "type": "message"}]}
    assert migrate_to_latest(document, "x")["spec_version"] == CURRENT_SPEC_VERSION


def test_missing_or_future_spec_version_is_refused() -> None:
    with pytest.raises(FlowError, match="spec_version` is missing"):
        migrate_to_latest({"steps": []}, "x.yaml")
    with pytest.raises(FlowError, match="newer than this program"):
        migrate_to_latest({"spec_version": CURRENT_SPEC_VERSION + 1}, "x.yaml")
