"""Help resources: the shipped file has no entry; a CSO's file is validated; lookups fall back by language."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from config.errors import ConfigError
from config.help_resources import (
    DEFAULT_HELP_RESOURCES,
    HelpResource,
    HelpResources,
    load_help_resources,
    pick,
)

# Made-up organisations with numbers from libphonenumber's own example ranges, never a real service.
EXAMPLE = {
    "countries": {
        "ke": [
            {
                "name": {"en": "Example helpline", "sw": "Simu ya msaada"},
                "phone": "116",
                "hours": {"en": "every day"},
                "note": {"en": "free", "fr": "gratuit"},
            },
            {"name": {"en": "Example shelter"}, "phone": "0712 123456", "url": "https://example.org/help"},
        ],
        "PE": [{"name": {"es": "Línea de ejemplo"}, "phone": "+51 912 345 678"}],
    },
    "consultations": {
        "7KQ2M9XD": [{"name": {"en": "The CSO's own line"}, "phone": "0712 123456", "country": "KE"}],
        "ABCDEFGH": [{"name": {"pt-BR": "Linha de exemplo"}, "phone": "+55 11 96123-4567"}],
    },
}


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "help.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_the_shipped_file_has_no_entry_and_invents_no_number() -> None:
    assert load_help_resources(DEFAULT_HELP_RESOURCES).empty
    assert load_help_resources().resources_for("KE", "DEMO", "en") == []
    text = DEFAULT_HELP_RESOURCES.read_text(encoding="utf-8")
    assert not [line for line in text.splitlines() if any(ch.isdigit() for ch in line.split("#")[0])]


def test_lookup_puts_the_consultation_first_and_picks_the_language(tmp_path: Path) -> None:
    directory = load_help_resources(write(tmp_path, EXAMPLE))
    assert not directory.empty
    found = directory.resources_for("ke", "7KQ2M9XD", "sw")
    assert [r.name for r in found] == ["The CSO's own line", "Simu ya msaada", "Example shelter"]
    assert found[1] == HelpResource(name="Simu ya msaada", phone="116", hours="every day", note="free")
    assert found[2].url == "https://example.org/help"
    assert directory.resources_for("KE", None, "fr")[0].note == "gratuit"
    assert directory.resources_for("PE", None, "en")[0].name == "Línea de ejemplo"  # the only language given
    assert directory.resources_for("BR", "ABCDEFGH", "pt")[0].name == "Linha de exemplo"
    assert directory.resources_for("NG", "OTHER", "en") == []
    assert directory.resources_for(None, None, "en") == []


def test_language_fallback() -> None:
    texts = {"en": "hello", "pt": "olá", "fr-CA": "allô"}
    assert pick(texts, "pt-BR") == "olá"
    assert pick(texts, "de") == "hello"
    assert pick(texts, "de", fallbacks=("fr-CA",)) == "allô"
    assert pick({"sw": "habari"}, "en") == "habari"
    assert pick({}, "en") is None


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"countries": {"XX": []}}, "'XX' is not an ISO 3166 alpha-2 country code"),
        ({"countries": {"KE": [{"name": {"en": "x"}, "phone": "12"}]}}, "countries.KE[0]: phone '12' is not a valid"),
        ({"countries": {"KE": [{"name": {"en": "x"}, "phone": "not a number"}]}}, "is not a phone number"),
        ({"countries": {"FR": [{"name": {"en": "x"}, "phone": "0712 123456"}]}}, "is not a valid number for FR"),
        ({"consultations": {"C": [{"name": {"en": "x"}, "phone": "0712 123456"}]}}, "give `country` for a local"),
        ({"countries": {"KE": [{"name": {}}]}}, "needs at least one language"),
        ({"countries": {"KE": [{"name": {"english": "x"}}]}}, "'english' is not a language code"),
        ({"countries": {"KE": [{"name": {"en": " "}}]}}, "the 'en' text is empty"),
        ({"countries": {"KE": [{"name": {"en": "x"}, "url": "example.org"}]}}, "is not a link"),
        ({"countries": {"KE": [{"name": {"en": "x"}, "fax": "1"}]}}, "Extra inputs are not permitted"),
        ({"countries": {"KE": [{"name": {"en": "x"}, "country": "PE"}]}}, "`country: PE` differs from KE"),
        ({"regions": {}}, "regions"),
    ],
)
def test_a_wrong_file_is_refused_with_the_place_and_the_problem(tmp_path: Path, data: object, problem: str) -> None:
    with pytest.raises(ConfigError, match="VOICES_HELP_RESOURCES") as raised:
        load_help_resources(write(tmp_path, data))
    assert problem in str(raised.value)


def test_an_unknown_hotline_can_be_accepted_explicitly(tmp_path: Path) -> None:
    entry = {"name": {"en": "x"}, "phone": "1163"}
    with pytest.raises(ConfigError, match="phone_unverified"):
        load_help_resources(write(tmp_path, {"countries": {"PH": [entry]}}))
    directory = load_help_resources(write(tmp_path, {"countries": {"PH": [{**entry, "phone_unverified": True}]}}))
    assert directory.resources_for("PH", None, "en")[0].phone == "1163"


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_help_resources(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("countries: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_help_resources(bad)


def test_edits_are_picked_up_and_a_broken_edit_keeps_the_last_good_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, {})
    resources = HelpResources(path)
    assert resources.resources_for("KE", None, "en") == []
    write(tmp_path, EXAMPLE)
    os.utime(path, (1, 1))
    assert len(resources.resources_for("KE", None, "en")) == 2
    path.write_text("countries: {KE: [{name: {}}]}", encoding="utf-8")
    os.utime(path, (2, 2))
    assert len(resources.resources_for("KE", None, "en")) == 2
    assert "help resources not reloaded" in caplog.text


def test_the_setting_points_at_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.config.test_settings import make

    assert make(monkeypatch, tmp_path).help_resources_path == DEFAULT_HELP_RESOURCES
    custom = write(tmp_path, EXAMPLE)
    assert make(monkeypatch, tmp_path, VOICES_HELP_RESOURCES=str(custom)).help_resources_path == custom
