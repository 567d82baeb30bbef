"""`python -m bot users ...` and `organisations ...`: dashboard accounts from the terminal; the passwords they
print work in the dashboard's sign-in."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from config.settings import Settings, get_settings
from consultations.staff import StaffAccounts
from storage.database import Database
from tests.bot.test_cli import cli

ONE_TIME = re.compile(r"(?:One-time password|New one-time password for \S+): (\S+)")


def test_the_groups_have_help(tmp_path: Path) -> None:
    result = cli(tmp_path, "users", "create", "--help")
    assert result.returncode == 0 and "--organisation" in result.stdout and "one-time password" in result.stdout


@pytest.fixture
def operator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """`python -m bot` in this process, with settings of its own (a data directory in tmp_path)."""
    for field in Settings.model_fields.values():
        monkeypatch.delenv(str(field.validation_alias), raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOICES_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def sign_in(tmp_path: Path, username: str, password: str) -> bool:
    async def go() -> bool:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'voices.db'}")
        try:
            pepper = json.loads((tmp_path / "data" / "dev-secrets.json").read_text())["pepper"].encode()
            return (await StaffAccounts.with_pepper(database, pepper).sign_in(username, password)).staff is not None
        finally:
            await database.dispose()

    return asyncio.run(go())


def test_create_reset_disable(operator: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "users", "create", "amina", "--role", "facilitator", "--organisation", "Nope")
    assert code == 2 and "no organisation named 'Nope'" in err and "Traceback" not in err
    assert run(capsys, "organisations", "create", "Kenya CSO Network")[0] == 0
    code, out, err = run(
        capsys, "users", "create", "Amina", "--role", "facilitator", "--organisation", "kenya cso network"
    )
    assert code == 0, err
    [password] = ONE_TIME.findall(out)
    assert sign_in(operator, "amina", password)
    _, listing, _ = run(capsys, "users", "list")
    assert re.search(r"amina\s+facilitator\s+Kenya CSO Network\s+new", listing), listing
    code, _, err = run(capsys, "users", "create", "rev", "--role", "reviewer")
    assert code == 2 and "belong to an organisation" in err
    _, out, _ = run(capsys, "users", "reset", "amina")
    [again] = ONE_TIME.findall(out)
    assert again != password and sign_in(operator, "amina", again) and not sign_in(operator, "amina", password)
    code, out, _ = run(capsys, "users", "disable", "AMINA")
    assert code == 0 and "is disabled" in out
    assert not sign_in(operator, "amina", again)
    code, _, err = run(capsys, "users", "reset", "ghost")
    assert code == 2 and "No user named ghost" in err
    _, out, _ = run(capsys, "organisations", "list")
    assert out.strip() == "Kenya CSO Network"
