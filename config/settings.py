"""Settings from the environment, then `.env`, then defaults (pydantic-settings); secrets handled here."""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.errors import ConfigError

log = logging.getLogger(__name__)

TELEGRAM_DEFAULT_BASE_URL = "https://api.telegram.org/bot"
SANDBOX_TOKEN = "1000001:SANDBOX-voices87-local-only"  # noqa: S105 - a fixed, public token for the local emulator
SANDBOX_BOT_USERNAME = "voices87_sandbox_bot"
MIN_PEPPER_BYTES = 32
"""A shorter pseudonym pepper could be guessed, and with it every Telegram id behind the pseudonyms."""


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every setting the product reads. Each field is documented in README's settings table."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = Field(default=None, validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(default=TELEGRAM_DEFAULT_BASE_URL, validation_alias="TELEGRAM_API_BASE_URL")
    telegram_bot_username: str | None = Field(default=None, validation_alias="TELEGRAM_BOT_USERNAME")
    database_url: str = Field(default="", validation_alias="DATABASE_URL")
    env: Environment = Field(default=Environment.DEVELOPMENT, validation_alias="VOICES_ENV")
    data_dir: Path = Field(default=Path("data"), validation_alias="VOICES_DATA_DIR")
    pepper: SecretStr | None = Field(default=None, validation_alias="VOICES_PEPPER")
    data_keys: SecretStr | None = Field(default=None, validation_alias="VOICES_DATA_KEYS")
    sandbox_host: str = Field(default="127.0.0.1", validation_alias="VOICES_SANDBOX_HOST")
    sandbox_port: int = Field(default=8080, validation_alias="VOICES_SANDBOX_PORT")
    webhook_url: str | None = Field(default=None, validation_alias="VOICES_WEBHOOK_URL")
    webhook_secret: SecretStr | None = Field(default=None, validation_alias="VOICES_WEBHOOK_SECRET")
    webhook_host: str = Field(default="0.0.0.0", validation_alias="VOICES_WEBHOOK_HOST")  # noqa: S104
    webhook_port: int = Field(default=8443, validation_alias="VOICES_WEBHOOK_PORT")
    max_updates_in_flight: int = Field(default=16, ge=1, le=1000, validation_alias="VOICES_MAX_UPDATES_IN_FLIGHT")
    max_text_length: int = Field(default=2000, ge=50, le=4000, validation_alias="VOICES_MAX_TEXT_LENGTH")
    default_language: str = Field(default="en", validation_alias="VOICES_DEFAULT_LANGUAGE")
    session_idle_hours: int = Field(default=72, ge=1, le=24 * 90, validation_alias="VOICES_SESSION_IDLE_HOURS")
    log_level: str = Field(default="INFO", validation_alias="VOICES_LOG_LEVEL")
    help_resources: Path | None = Field(default=None, validation_alias="VOICES_HELP_RESOURCES")
    dashboard_host: str = Field(default="127.0.0.1", validation_alias="VOICES_DASHBOARD_HOST")
    dashboard_port: int = Field(default=8080, ge=1, le=65535, validation_alias="VOICES_DASHBOARD_PORT")
    dashboard_secret: SecretStr | None = Field(default=None, validation_alias="VOICES_DASHBOARD_SECRET")
    dashboard_idle_minutes: int = Field(default=30, ge=5, le=24 * 60, validation_alias="VOICES_DASHBOARD_IDLE_MINUTES")

    @field_validator(
        "telegram_bot_token",
        "pepper",
        "data_keys",
        "webhook_secret",
        "help_resources",
        "dashboard_secret",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def sandbox(self) -> bool:
        """True when no bot token is set: the bot talks to the local emulator."""
        return self.telegram_bot_token is None

    @property
    def token(self) -> str:
        return SANDBOX_TOKEN if self.telegram_bot_token is None else self.telegram_bot_token.get_secret_value()

    @property
    def api_base_url(self) -> str:
        if self.sandbox and self.telegram_api_base_url == TELEGRAM_DEFAULT_BASE_URL:
            return f"http://{self.sandbox_host}:{self.sandbox_port}/bot"
        return self.telegram_api_base_url

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'voices.db').as_posix()}"

    @property
    def production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def help_resources_path(self) -> Path:
        """The help resources file: VOICES_HELP_RESOURCES, else the shipped (empty) config/help_resources.yaml."""
        from config.help_resources import DEFAULT_HELP_RESOURCES

        return self.help_resources or DEFAULT_HELP_RESOURCES

    @property
    def data_keys_from_settings(self) -> bool:
        """True when VOICES_DATA_KEYS is set (environment or .env); False when development keys are generated."""
        return self.data_keys is not None

    def secrets(self) -> Secrets:
        """The pepper and the data key ring: from settings, or (development only) generated once into data/."""
        pepper = self.pepper.get_secret_value() if self.pepper else None
        keys = self.data_keys.get_secret_value() if self.data_keys else None
        if pepper and len(pepper.encode()) < MIN_PEPPER_BYTES:
            if self.env is Environment.PRODUCTION:
                raise ConfigError(
                    f"VOICES_PEPPER must be at least {MIN_PEPPER_BYTES} bytes long in production; make one with: "
                    'python -c "import secrets; print(secrets.token_urlsafe(32))"'
                )
            log.warning("VOICES_PEPPER is shorter than %d bytes: production refuses such a pepper", MIN_PEPPER_BYTES)
        if pepper and keys:
            return Secrets(pepper=pepper.encode(), keys=parse_key_ring(keys))
        if self.env is Environment.PRODUCTION:
            missing = [n for n, v in (("VOICES_PEPPER", pepper), ("VOICES_DATA_KEYS", keys)) if not v]
            raise ConfigError(
                f"{', '.join(missing)} must be set when VOICES_ENV=production "
                "(see README, 'Keys and their backup'); refusing to start without them."
            )
        stored = _load_or_create_dev_secrets(self.data_dir)
        return Secrets(
            pepper=(pepper or stored["pepper"]).encode(),
            keys=parse_key_ring(keys or stored["data_keys"]),
        )


class Secrets:
    """The pseudonym pepper and the ordered data key ring (first key encrypts; every key decrypts)."""

    def __init__(self, pepper: bytes, keys: list[tuple[str, bytes]]) -> None:
        self.pepper = pepper
        self.keys = keys

    def __repr__(self) -> str:  # never print secret material
        return f"Secrets(pepper=***, keys={[kid for kid, _ in self.keys]})"


def parse_key_ring(text: str) -> list[tuple[str, bytes]]:
    """Parse `kid:base64key[,kid:base64key...]`; each key must be 32 bytes (AES-256-GCM)."""
    ring: list[tuple[str, bytes]] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        kid, sep, encoded = part.partition(":")
        if not sep or not kid.isalnum() or len(kid) > 16:
            raise ConfigError("VOICES_DATA_KEYS: each entry must be 'keyid:base64key' (key id alphanumeric)")
        try:
            key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError as exc:
            raise ConfigError(f"VOICES_DATA_KEYS: key {kid!r} is not valid base64") from exc
        if len(key) != 32:
            raise ConfigError(f"VOICES_DATA_KEYS: key {kid!r} must decode to 32 bytes, not {len(key)}")
        if any(k == kid for k, _ in ring):
            raise ConfigError(f"VOICES_DATA_KEYS: key id {kid!r} appears twice")
        ring.append((kid, key))
    if not ring:
        raise ConfigError("VOICES_DATA_KEYS is empty")
    return ring


def new_data_key() -> str:
    """A fresh 256-bit key in the VOICES_DATA_KEYS encoding (without the key id)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def next_key_id(existing: list[str]) -> str:
    """The next free key id in the k1, k2, ... series."""
    numbers = [int(kid[1:]) for kid in existing if kid[:1] == "k" and kid[1:].isdigit()]
    return f"k{max(numbers, default=0) + 1}"


def add_dev_data_key(data_dir: Path) -> str:
    """Development only: put a fresh key first in data/dev-secrets.json (old keys kept after it); its id."""
    stored = _load_or_create_dev_secrets(data_dir)
    ring = parse_key_ring(stored["data_keys"])
    kid = next_key_id([k for k, _ in ring])
    stored["data_keys"] = f"{kid}:{new_data_key()}," + stored["data_keys"]
    path = data_dir / "dev-secrets.json"
    fresh = path.with_name(path.name + ".new")
    fresh.unlink(missing_ok=True)
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(stored, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(fresh, path)  # atomic: the file always holds every key
    return kid


def _load_or_create_dev_secrets(data_dir: Path) -> dict[str, str]:
    """Read data/dev-secrets.json, creating it first if there is none. Workers starting together race here: each
    writes a complete private file under its own name and links it into place, which succeeds for exactly one;
    the others read the winner's file. Nobody ever sees a half-written file."""
    path = data_dir / "dev-secrets.json"
    if path.exists():
        loaded: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        return loaded
    data_dir.mkdir(parents=True, exist_ok=True)
    created = {"pepper": secrets.token_urlsafe(32), "data_keys": f"k1:{new_data_key()}"}
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(created, handle)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(draft, path)  # atomic, and fails if another worker got there first
        except FileExistsError:
            winner: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
            return winner
    finally:
        draft.unlink(missing_ok=True)
    log.warning(
        "Development secrets generated in %s (pseudonym pepper and data key). "
        "Back this file up or set VOICES_PEPPER and VOICES_DATA_KEYS; production refuses to run without them.",
        path,
    )
    return created


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
