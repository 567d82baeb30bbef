"""What an import produces: the flow document and the report a CSO reads (warnings, rows left out, dropped)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml


@dataclass
class Report:
    """Lines for the person importing, gathered while the form is read."""

    warnings: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    """Rows not imported (only with skip_unsupported): one line each, with the reason."""
    dropped: list[str] = field(default_factory=list)
    """Metadata rows dropped because they would identify the participant."""


@dataclass
class ImportResult:
    """The flow document (already validated by the loader) and what the CSO should know about it."""

    document: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    """Rows not imported (only with skip_unsupported): one line each, with the reason."""
    dropped: list[str] = field(default_factory=list)
    """Metadata rows dropped because they would identify the participant."""

    def yaml(self, source: str = "") -> str:
        return to_yaml(self.document, source)


class _Dumper(yaml.SafeDumper):
    """Texts of several lines as YAML block scalars (`|-`), so a flow file reads like the texts it holds."""


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not any(line != line.rstrip() for line in value.splitlines()) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_text)


def to_yaml(document: dict[str, Any], source: str = "") -> str:
    header = f"# Imported from {source} by `python -m bot flows import`.\n" if source else ""
    return header + yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)
