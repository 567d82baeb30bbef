"""The choices sheet: lists, option codes (renamed when a choice name cannot be one), duplicates, options."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from config.errors import FlowError
from flows.schema import Option
from flows.xlsform.result import Report

NOT_ATTRIBUTES = ("list name", "list_name", "name", "label", "media", "__row", "image", "audio", "video")


@dataclass
class ChoiceLists:
    """The choice lists the survey uses, with option codes for every choice name."""

    lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    """list name -> {XLSForm choice name: option code} (they differ only when a name is not a valid code)."""
    renamed_codes: dict[str, str] = field(default_factory=dict)

    def read(self, rows: list[dict[str, Any]], used: set[str], report: Report) -> None:
        """Group the rows by list; a name repeated in a list (pyxform's allow_choice_duplicates) keeps its
        first row, and the report names the rows left out."""
        seen: dict[tuple[str, str], list[int]] = {}
        for choice in rows:
            list_name = choice.get("list_name", choice.get("list name"))
            if list_name is None or choice.get("name") is None:
                continue
            key = (str(list_name), str(choice["name"]))
            seen.setdefault(key, []).append(int(choice.get("__row") or 0))
            if len(seen[key]) == 1:
                self.lists.setdefault(str(list_name), []).append(choice)
        for (list_name, name), numbers in seen.items():
            if len(numbers) > 1 and list_name in used:
                later = f"row{'s' if len(numbers) > 2 else ''} {', '.join(str(n) for n in numbers[1:])}"
                report.warnings.append(
                    f"choices sheet, rows {', '.join(str(n) for n in numbers)}: list {list_name} has the choice "
                    f"name {name!r} {len(numbers)} times; row {numbers[0]} is kept, {later} left out "
                    "(give each choice of a list its own name)"
                )
        for list_name in sorted(used):
            self.codes[list_name] = self._codes(list_name, report)

    def _codes(self, list_name: str, report: Report) -> dict[str, str]:
        names = [str(choice["name"]) for choice in self.lists.get(list_name, [])]
        taken = {name for name in names if code_ok(name)}
        mapping: dict[str, str] = {}
        for name in names:
            code = name if code_ok(name) else unique(sanitise(name, "c"), taken)
            if code != name:
                self.renamed_codes[name] = code
            taken.add(code)
            mapping[name] = code
        renamed = [f"{name} → {code}" for name, code in mapping.items() if name != code]
        if renamed:
            report.warnings.append(
                f"choices sheet, list {list_name}: option codes must start with a letter, so "
                f"{', '.join(renamed[:5])}{', ...' if len(renamed) > 5 else ''} (expressions follow)"
            )
        return mapping

    def count(self, list_name: str, other: bool) -> int:
        extra = 1 if other and "other" not in self.codes.get(list_name, {}) else 0
        return len(self.lists.get(list_name, [])) + extra

    def attributes(self, choice: dict[str, Any], parents: dict[str, str]) -> dict[str, str]:
        """A choice's extra columns, which a choice_filter can test (codes of parent lists renamed alike)."""
        return {
            str(k): parents.get(str(v), str(v))
            for k, v in choice.items()
            if k not in NOT_ATTRIBUTES and isinstance(v, str | int | float)
        }


def code_ok(code: str) -> bool:
    try:
        Option.model_validate({"code": code, "label": {}})
    except ValidationError:
        return False
    return True


def sanitise(name: str, prefix: str) -> str:
    """A name as a flow identifier: lower-case letters, digits and _, starting with a letter, at most 40."""
    cleaned = re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_")
    cleaned = re.sub(r"_+", "_", cleaned)
    if not cleaned or not cleaned[0].isalpha():
        cleaned = f"{prefix}_{cleaned}" if cleaned else prefix
    return cleaned[:40]


def unique(candidate: str, taken: Iterable[str]) -> str:
    used = set(taken)
    if candidate not in used:
        return candidate
    for n in range(2, 10_000):
        suffix = f"_{n}"
        name = candidate[: 40 - len(suffix)] + suffix
        if name not in used:
            return name
    raise FlowError(f"too many steps named like {candidate!r}")
