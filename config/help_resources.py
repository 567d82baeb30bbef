"""Help resources (hotlines, organisations) per country and per consultation, from a YAML file the CSO fills in.

The project ships none: a wrong or invented number given to a person at risk is real harm. With no entry for
a consultation, the bot says to ask the organisation that shared the link. The file is read by
`load_help_resources` (setting VOICES_HELP_RESOURCES) and validated with pydantic; phone numbers are checked
with libphonenumber (`phonenumbers`) for their country.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import phonenumbers
import yaml
from phonenumbers import shortnumberinfo
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from config.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_HELP_RESOURCES = Path(__file__).resolve().parent / "help_resources.yaml"
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_URL = re.compile(r"^(?:https?://|tg://)\S+$")

Texts = dict[str, str]


def _check_texts(value: Texts, *, required: bool) -> Texts:
    if required and not value:
        raise ValueError("needs at least one language, e.g. {en: ...}")
    for language, text in value.items():
        if not _LANGUAGE.match(language):
            raise ValueError(f"{language!r} is not a language code (e.g. en, fr, pt-BR)")
        if not str(text).strip():
            raise ValueError(f"the {language!r} text is empty")
    return {language: str(text).strip() for language, text in value.items()}


class ResourceEntry(BaseModel):
    """One help contact as written in the file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Texts = Field(description="per language: the organisation or service")
    phone: str | None = Field(default=None, description="as people dial it; local or +international format")
    url: str | None = None
    hours: Texts = Field(default_factory=dict)
    note: Texts = Field(default_factory=dict)
    country: str | None = Field(default=None, description="ISO alpha-2 of a local phone number (consultation lists)")
    phone_unverified: bool = Field(default=False, description="accept a number libphonenumber does not know")

    @field_validator("name")
    @classmethod
    def _name(cls, value: Texts) -> Texts:
        return _check_texts(value, required=True)

    @field_validator("hours", "note")
    @classmethod
    def _texts(cls, value: Texts) -> Texts:
        return _check_texts(value, required=False)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not _URL.match(value.strip()):
            raise ValueError(f"{value!r} is not a link (it must start with https://)")
        return value.strip() if value else value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return None if value is None else _country_code(value)

    def check_phone(self, region: str | None) -> None:
        """Refuse a phone number that is not valid for `region` (or, without one, in international format)."""
        if self.phone is None:
            return
        if not self.phone.strip():
            raise ValueError("phone is empty (leave it out instead)")
        if region is None and not self.phone.strip().startswith("+"):
            raise ValueError(f"phone {self.phone!r}: give `country` for a local number, or write it as +<code>...")
        try:
            number = phonenumbers.parse(self.phone, region)
        except phonenumbers.NumberParseException as exc:
            raise ValueError(f"phone {self.phone!r} is not a phone number") from exc
        where = region or phonenumbers.region_code_for_number(number) or "ZZ"
        if self.phone_unverified:
            return
        valid = phonenumbers.is_valid_number(number) or shortnumberinfo.is_valid_short_number_for_region(number, where)
        if not valid:
            raise ValueError(
                f"phone {self.phone!r} is not a valid number for {where} (libphonenumber); check it, or, for a "
                "hotline libphonenumber does not know yet, add `phone_unverified: true` to this entry"
            )


class HelpResourcesFile(BaseModel):
    """The whole file: `countries: {KE: [entries]}` and `consultations: {INVITECODE: [entries]}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    countries: dict[str, list[ResourceEntry]] = Field(default_factory=dict)
    consultations: dict[str, list[ResourceEntry]] = Field(default_factory=dict)

    @field_validator("countries", mode="before")
    @classmethod
    def _country_keys(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {_country_code(str(key)): entries for key, entries in value.items()}
        return value

    @model_validator(mode="after")
    def _phones(self) -> HelpResourcesFile:
        for country, entries in self.countries.items():
            for index, entry in enumerate(entries):
                if entry.country is not None and entry.country != country:
                    raise ValueError(f"countries.{country}[{index}]: `country: {entry.country}` differs from {country}")
                _at(f"countries.{country}[{index}]", entry.check_phone, country)
        for code, entries in self.consultations.items():
            for index, entry in enumerate(entries):
                _at(f"consultations.{code}[{index}]", entry.check_phone, entry.country)
        return self


def _at(where: str, check: Any, region: str | None) -> None:
    try:
        check(region)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc


def _country_code(value: str) -> str:
    code = value.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{value!r} is not an ISO 3166 alpha-2 country code (e.g. KE, PE, NG)")
    return code


@dataclass(frozen=True)
class HelpResource:
    """One help contact resolved to one language, ready to show."""

    name: str
    phone: str | None = None
    url: str | None = None
    hours: str | None = None
    note: str | None = None


def pick(texts: Texts, language: str, fallbacks: tuple[str, ...] = ("en",)) -> str | None:
    """The text in `language`, else its base language (pt-BR -> pt), else a fallback, else the first one given."""
    if not texts:
        return None
    base = re.split(r"[-_]", language)[0]
    for candidate in (language, base, *fallbacks):
        if candidate in texts:
            return texts[candidate]
    return next(iter(texts.values()))


class HelpDirectory:
    """The validated help resources; `resources_for` answers /help."""

    def __init__(self, data: HelpResourcesFile | None = None) -> None:
        self.data = data or HelpResourcesFile()

    @property
    def empty(self) -> bool:
        return not any(self.data.countries.values()) and not any(self.data.consultations.values())

    def resources_for(
        self,
        country: str | None,
        code: str | None,
        language: str,
        fallbacks: tuple[str, ...] = ("en",),
        extra: Sequence[ResourceEntry] = (),
    ) -> list[HelpResource]:
        """The consultation's own entries first (`extra`, entered in the dashboard, then the file's), then its
        country's; empty when none are configured."""
        entries = [
            *extra,
            *self.data.consultations.get(code or "", []),
            *self.data.countries.get((country or "").upper(), []),
        ]
        return [
            HelpResource(
                name=pick(entry.name, language, fallbacks) or "",
                phone=entry.phone,
                url=entry.url,
                hours=pick(entry.hours, language, fallbacks),
                note=pick(entry.note, language, fallbacks),
            )
            for entry in entries
        ]


def load_help_resources(path: Path | None = None) -> HelpDirectory:
    """Read and validate the file; ConfigError (naming the entry and the problem) when it is wrong."""
    path = path or DEFAULT_HELP_RESOURCES
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"VOICES_HELP_RESOURCES: cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"VOICES_HELP_RESOURCES: {path} is not valid YAML: {exc}") from exc
    if raw is None:
        return HelpDirectory()
    try:
        return HelpDirectory(HelpResourcesFile.model_validate(raw))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in error['loc']) or 'file'}: {error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors()
        )
        raise ConfigError(f"VOICES_HELP_RESOURCES: {path}: {problems}") from exc


class HelpResources:
    """The directory, re-read when the file changes; a broken edit keeps the last good version (and is logged)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or DEFAULT_HELP_RESOURCES
        self._mtime = self._stamp()
        self._directory = load_help_resources(self.path)  # a broken file fails at start-up

    def _stamp(self) -> float | None:
        try:
            return self.path.stat().st_mtime
        except OSError:
            return None

    def current(self) -> HelpDirectory:
        stamp = self._stamp()
        if stamp != self._mtime:
            self._mtime = stamp
            try:
                self._directory = load_help_resources(self.path)
            except ConfigError as exc:
                log.error("help resources not reloaded, the previous version stays in use: %s", exc)
        return self._directory

    def resources_for(
        self,
        country: str | None,
        code: str | None,
        language: str,
        fallbacks: tuple[str, ...] = ("en",),
        extra: Sequence[ResourceEntry] = (),
    ) -> list[HelpResource]:
        return self.current().resources_for(country, code, language, fallbacks, extra)


def stored_entries(text: str | None) -> list[ResourceEntry]:
    """A consultation's own help contacts as the dashboard stores them (JSON, checked when entered); an
    unreadable value gives none rather than breaking /help."""
    if not text:
        return []
    try:
        return [ResourceEntry.model_validate(item) for item in json.loads(text)]
    except (ValueError, TypeError, ValidationError):
        log.error("a consultation's help contacts could not be read")
        return []
