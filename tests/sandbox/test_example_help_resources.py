"""Issue 10, item 20: the sandbox ships clearly fake help contacts so /help can be tried; nothing else loads them."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from bot.runners import sandbox_help_resources
from config import help_resources
from config.help_resources import DEFAULT_HELP_RESOURCES, load_help_resources
from sandbox import EXAMPLE_HELP_RESOURCES
from tests.config.test_settings import make

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = {"en", "fr", "es", "pt", "ar", "sw"}


def test_every_example_entry_is_marked_and_has_no_number() -> None:
    directory = load_help_resources(EXAMPLE_HELP_RESOURCES)  # valid by the same rules as a CSO's file
    entries = [
        e for group in (directory.data.countries, directory.data.consultations) for es in group.values() for e in es
    ]
    assert entries
    for entry in entries:
        assert set(entry.name) == LANGUAGES
        assert all(name.startswith("EXAMPLE – ") for name in entry.name.values()), entry.name
        assert entry.phone is None
        assert entry.url is not None and urlsplit(entry.url).hostname == "example.org"  # reserved for examples
    content = "\n".join(line.split("#")[0] for line in EXAMPLE_HELP_RESOURCES.read_text(encoding="utf-8").splitlines())
    assert not re.search(r"\d{3}", content), "no number that could be dialled"
    # it covers the demo consultation `make run` creates, and its country
    assert directory.resources_for("KE", "DEMO", "sw")[0].name == "EXAMPLE – simu ya msaada ya shirika (si halisi)"


def test_the_sandbox_loads_the_example(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert sandbox_help_resources(make(monkeypatch, tmp_path)) == EXAMPLE_HELP_RESOURCES


@pytest.mark.parametrize(
    "env",
    [
        {"TELEGRAM_BOT_TOKEN": "123:abc"},  # real Telegram
        {"TELEGRAM_BOT_TOKEN": "123:abc", "VOICES_ENV": "production"},
        {"VOICES_ENV": "production"},  # production never shows fake contacts, token or not
        {"VOICES_HELP_RESOURCES": str(DEFAULT_HELP_RESOURCES)},  # the operator chose a file
    ],
    ids=["token", "production with token", "production without token", "file chosen"],
)
def test_the_example_is_never_loaded_outside_the_sandbox(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str]
) -> None:
    settings = make(monkeypatch, tmp_path, **env)
    assert sandbox_help_resources(settings) is None
    assert load_help_resources(settings.help_resources_path).empty  # what such a run loads: the shipped, empty file


def test_the_sandbox_shows_the_operators_own_contacts_once_there_are_some(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    filled = tmp_path / "help.yaml"
    filled.write_text(yaml.safe_dump({"countries": {"KE": [{"name": {"en": "Checked line"}}]}}), encoding="utf-8")
    monkeypatch.setattr(help_resources, "DEFAULT_HELP_RESOURCES", filled)
    assert sandbox_help_resources(make(monkeypatch, tmp_path)) is None


def test_production_ships_no_contact() -> None:
    assert load_help_resources(DEFAULT_HELP_RESOURCES).empty
    copied = [line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("COPY")]
    assert copied and not [path for path in copied if path.startswith("sandbox")]  # the image has no sandbox/
