"""Settings: environment and .env, secrets in development and production, and README documents every one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.settings import Settings, new_data_key, parse_key_ring

README = Path(__file__).resolve().parents[2] / "README.md"


def make(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> Settings:
    for name in list(Settings.model_fields):
        alias = Settings.model_fields[name].validation_alias
        monkeypatch.delenv(str(alias), raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings()


def test_defaults_run_the_sandbox_on_sqlite(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = make(monkeypatch, tmp_path)
    assert settings.sandbox
    assert settings.api_base_url == "http://127.0.0.1:8080/bot"
    assert settings.sqlalchemy_url == "sqlite+aiosqlite:///data/voices.db"


def test_a_token_means_real_telegram(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = make(monkeypatch, tmp_path, TELEGRAM_BOT_TOKEN="123:abc")
    assert not settings.sandbox and settings.token == "123:abc"
    assert settings.api_base_url == "https://api.telegram.org/bot"
    assert "123:abc" not in repr(settings)


def test_base_url_and_database_url_are_honoured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = make(
        monkeypatch,
        tmp_path,
        TELEGRAM_API_BASE_URL="http://127.0.0.1:8081/bot",
        DATABASE_URL="postgresql+asyncpg://u@db:5432/voices",
    )
    assert settings.api_base_url == "http://127.0.0.1:8081/bot"
    assert settings.sqlalchemy_url == "postgresql+asyncpg://u@db:5432/voices"


def test_dotenv_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    make(monkeypatch, tmp_path)
    (tmp_path / ".env").write_text("VOICES_SANDBOX_PORT=9999\nTELEGRAM_BOT_TOKEN=\n", encoding="utf-8")
    settings = Settings()
    assert settings.sandbox_port == 9999 and settings.sandbox


def test_development_secrets_are_generated_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = make(monkeypatch, tmp_path, VOICES_DATA_DIR=str(tmp_path / "d"))
    first = settings.secrets()
    second = settings.secrets()
    assert first.pepper == second.pepper and first.keys == second.keys
    stored = tmp_path / "d" / "dev-secrets.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert set(json.loads(stored.read_text())) == {"pepper", "data_keys"}
    assert "pepper" not in repr(first).replace("pepper=***", "")


def test_production_refuses_to_start_without_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = make(monkeypatch, tmp_path, VOICES_ENV="production", VOICES_PEPPER="x" * 40)
    with pytest.raises(ConfigError, match="VOICES_DATA_KEYS must be set when VOICES_ENV=production"):
        settings.secrets()
    assert not (tmp_path / "data").exists()


def test_production_with_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    keys = f"k2:{new_data_key()},k1:{new_data_key()}"
    settings = make(monkeypatch, tmp_path, VOICES_ENV="production", VOICES_PEPPER="p" * 40, VOICES_DATA_KEYS=keys)
    secrets = settings.secrets()
    assert [kid for kid, _ in secrets.keys] == ["k2", "k1"]


def test_production_refuses_a_short_pepper(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    keys = f"k1:{new_data_key()}"
    settings = make(monkeypatch, tmp_path, VOICES_ENV="production", VOICES_PEPPER="p" * 31, VOICES_DATA_KEYS=keys)
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        settings.secrets()
    assert make(monkeypatch, tmp_path, VOICES_PEPPER="p" * 31, VOICES_DATA_KEYS=keys).secrets().pepper == b"p" * 31


def test_workers_starting_together_share_one_set_of_development_secrets(tmp_path: Path) -> None:
    """Issue 10.11: 15 processes creating data/dev-secrets.json at once all start, and all get the same secrets."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    go = tmp_path / "go"
    script = (
        "import os, sys\n"
        "from config.settings import Settings\n"
        "settings = Settings()\n"
        "print('ready', flush=True)\n"
        f"while not os.path.exists({str(go)!r}): pass\n"  # every worker starts creating at the same moment
        "s = settings.secrets()\n"
        "print(s.pepper.hex(), s.keys[0][1].hex())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICES_", "TELEGRAM_", "DATABASE_"))}
    env.update(VOICES_DATA_DIR=str(tmp_path / "shared"), PYTHONPATH=str(root))
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(15)
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline() == b"ready\n"
    go.touch()
    results = [worker.communicate(timeout=60) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), [err.decode()[-300:] for _, err in results]
    assert len({out for out, _ in results}) == 1
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == ["dev-secrets.json"]  # no draft left behind
    assert (tmp_path / "shared" / "dev-secrets.json").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("ring", "problem"),
    [
        ("k1", "keyid:base64key"),
        ("k1:abc", "32 bytes"),
        (f"k1:{new_data_key()},k1:{new_data_key()}", "twice"),
        ("", "empty"),
    ],
)
def test_bad_key_rings_are_refused(ring: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_key_ring(ring)


def test_readme_documents_every_setting() -> None:
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", README.read_text(encoding="utf-8"), re.M))
    names = {str(field.validation_alias) for field in Settings.model_fields.values()}
    assert names - documented == set(), "settings missing from README's settings table"
    assert documented - names - {"TEST_DATABASE_URL"} == set(), "README documents settings that do not exist"


def test_env_example_lists_every_setting() -> None:
    example = (README.parent / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^# ([A-Z][A-Z0-9_]+)=", example, re.M))
    names = {str(field.validation_alias) for field in Settings.model_fields.values()}
    assert listed == names
