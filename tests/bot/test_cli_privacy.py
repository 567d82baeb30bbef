"""Operator commands for privacy, run as an operator runs them: keys, purge, help-resources."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from config.settings import new_data_key, parse_key_ring
from storage import repository as repo
from storage.database import Database
from storage.models import Consultation, ConversationSession
from storage.privacy import KeyRing, answer_context
from tests.bot.test_cli import cli

COMMANDS = [
    ["keys"],
    ["keys", "status"],
    ["keys", "new"],
    ["keys", "rotate"],
    ["keys", "retire"],
    ["purge"],
    ["help-resources"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_privacy_command_has_help(tmp_path: Path, command: list[str]) -> None:
    result = cli(tmp_path, *command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m bot")


def create(tmp_path: Path, *extra: str) -> str:
    created = cli(
        tmp_path, "consultation", "create", "--flow", "roadmap_feedback", "--country", "KE", "--title", "t", *extra
    )
    assert created.returncode == 0, created.stderr
    return next(line.split(": ")[1] for line in created.stdout.splitlines() if line.startswith("Invite code"))


def add_answers(tmp_path: Path, code: str, people: int, keys: str | None = None) -> None:
    """Participants answering, written straight into the CLI's SQLite file with the CLI's own key."""
    if keys is None:
        keys = json.loads((tmp_path / "data" / "dev-secrets.json").read_text())["data_keys"]
    ring = KeyRing(parse_key_ring(keys))

    async def go() -> None:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'voices.db'}")
        try:
            async with database.transaction() as session:
                consultation = await repo.consultation_by_code(session, code)
                assert consultation is not None and consultation.id is not None
                for index in range(people):
                    participant = await repo.get_or_create_participant(session, f"{code}{index:056d}", "en")
                    assert participant.id is not None
                    row = await repo.save_session(
                        session,
                        ConversationSession(
                            participant_id=participant.id,
                            consultation_id=consultation.id,
                            flow_id="roadmap_feedback",
                            flow_version=consultation.flow_version,
                            state="done",
                            status="completed",
                            language="en",
                            started_at=repo.now(),
                            updated_at=repo.now(),
                        ),
                    )
                    await repo.record_consent(session, participant.id, consultation.id, "v1")
                    assert row.id is not None
                    context = answer_context(consultation.id, participant.id, row.id, "ideas")
                    cipher, kid = ring.encrypt("more shelters", context)
                    await repo.upsert_answer(session, row, repo.AnswerValue("ideas", text_cipher=cipher, key_id=kid))
                    await repo.upsert_answer(session, row, repo.AnswerValue("awareness", codes=("yes",)))
        finally:
            await database.dispose()

    asyncio.run(go())


def test_keys_new_prints_a_key_line(tmp_path: Path) -> None:
    result = cli(tmp_path, "keys", "new")
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"k1:[A-Za-z0-9_-]{43}\n", result.stdout)
    assert parse_key_ring(result.stdout.strip())[0][0] == "k1"
    assert not (tmp_path / "data" / "dev-secrets.json").exists()  # printing a key creates nothing
    ring = f"k7:{new_data_key()},k3:{new_data_key()}"
    assert cli(tmp_path, "keys", "new", env={"VOICES_DATA_KEYS": ring}).stdout.startswith("k8:")


def test_development_rotation_status_and_retirement(tmp_path: Path) -> None:
    code = create(tmp_path)
    status = cli(tmp_path, "keys", "status")  # creates the development secrets (k1)
    assert status.returncode == 0 and re.search(r"k1\s+active\s+0\s+0", status.stdout)
    add_answers(tmp_path, code, 3)
    assert re.search(r"k1\s+active\s+3\s+0", cli(tmp_path, "keys", "status").stdout)

    active = cli(tmp_path, "keys", "retire", "k1")
    assert active.returncode == 2 and "k1 is the active key" in active.stderr

    rotated = cli(tmp_path, "keys", "rotate", "--new-key", "--batch-size", "2")
    assert rotated.returncode == 0, rotated.stderr
    assert "New key k2 put first in" in rotated.stdout
    assert "Re-encrypted 3 value(s) (3 answers, 0 opt-ins) under k2 in 2 batch(es)." in rotated.stdout
    assert "re-encrypting" in rotated.stderr  # the progress bar
    secrets = json.loads((tmp_path / "data" / "dev-secrets.json").read_text())
    assert [kid for kid, _ in parse_key_ring(secrets["data_keys"])] == ["k2", "k1"]
    assert (tmp_path / "data" / "dev-secrets.json").stat().st_mode & 0o777 == 0o600

    listing = cli(tmp_path, "keys", "status").stdout
    assert re.search(r"k2\s+active\s+3\s+0", listing) and re.search(r"k1\s+decrypts\s+0\s+0", listing)
    retired = cli(tmp_path, "keys", "retire", "k1")
    assert retired.returncode == 0 and "No value uses k1: it can be removed from" in retired.stdout
    assert "Every value already uses the active key k2." in cli(tmp_path, "keys", "rotate").stdout


def test_retire_refuses_while_a_value_uses_the_key(tmp_path: Path) -> None:
    code = create(tmp_path)
    k1, k2 = f"k1:{new_data_key()}", f"k2:{new_data_key()}"
    env = {"VOICES_DATA_KEYS": f"{k2},{k1}", "VOICES_PEPPER": "p" * 40}
    add_answers(tmp_path, code, 2, keys=k1)
    refused = cli(tmp_path, "keys", "retire", "k1", env=env)
    assert refused.returncode == 2
    assert "2 value(s) still use k1 (2 answers, 0 opt-ins); run python -m bot keys rotate first" in refused.stderr


def test_rotate_new_key_in_production_explains_what_to_do(tmp_path: Path) -> None:
    env = {"VOICES_ENV": "production", "VOICES_PEPPER": "p" * 40, "VOICES_DATA_KEYS": f"k1:{new_data_key()}"}
    result = cli(tmp_path, "keys", "rotate", "--new-key", env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "put it FIRST in VOICES_DATA_KEYS" in result.stderr and "python -m bot keys new" in result.stderr
    assert not (tmp_path / "data" / "dev-secrets.json").exists()


def close_long_ago(tmp_path: Path, code: str) -> None:
    async def go() -> None:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'voices.db'}")
        try:
            async with database.transaction() as session:
                consultation = await repo.consultation_by_code(session, code)
                assert isinstance(consultation, Consultation) and consultation.closed_at is not None
                consultation.closed_at -= timedelta(days=31)
                session.add(consultation)
        finally:
            await database.dispose()

    asyncio.run(go())


def test_purge_keeps_the_summary(tmp_path: Path) -> None:
    code = create(tmp_path, "--retention-days", "30", "--contact", "Our office, weekdays")
    other = create(tmp_path, "--retention-days", "30")
    cli(tmp_path, "keys", "status")
    add_answers(tmp_path, code, 6)
    add_answers(tmp_path, other, 5)
    assert cli(tmp_path, "consultation", "close", code).returncode == 0
    before = cli(tmp_path, "summary", code).stdout
    assert "Respondents: 6" in before

    nothing = cli(tmp_path, "purge", "--dry-run")
    assert "No consultation is past its retention period." in nothing.stdout
    close_long_ago(tmp_path, code)
    dry = cli(tmp_path, "purge", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"Would purge consultation {code}" in dry.stdout and "12 answers, 6 sessions" in dry.stdout
    assert "Dry run: nothing was deleted." in dry.stdout

    done = cli(tmp_path, "purge")
    assert done.returncode == 0, done.stderr
    assert f"Purged consultation {code}" in done.stdout and "its counts are kept" in done.stdout
    assert other not in done.stdout
    assert cli(tmp_path, "summary", code).stdout == before
    assert "No consultation is past its retention period." in cli(tmp_path, "purge").stdout
    assert "Respondents: 5" in cli(tmp_path, "summary", other).stdout


def test_help_resources_command(tmp_path: Path) -> None:
    shipped = cli(tmp_path, "help-resources")
    assert shipped.returncode == 0 and "valid, and empty" in shipped.stdout
    path = tmp_path / "help.yaml"
    entry = {"name": {"en": "Example line", "sw": "Simu"}, "phone": "0712 123456", "hours": {"en": "24/7"}}
    path.write_text(yaml.safe_dump({"countries": {"KE": [entry]}}), encoding="utf-8")
    env = {"VOICES_HELP_RESOURCES": str(path)}
    listed = cli(tmp_path, "help-resources", env=env)
    assert "valid; 1 countries, 0 consultations." in listed.stdout and "KE: 1 contact(s)" in listed.stdout
    shown = cli(tmp_path, "help-resources", "--country", "ke", "--language", "sw", env=env)
    assert "- Simu | 0712 123456 | 24/7" in shown.stdout
    assert "No contacts there" in cli(tmp_path, "help-resources", "--country", "NG", env=env).stdout
    path.write_text(yaml.safe_dump({"countries": {"KE": [{**entry, "phone": "12"}]}}), encoding="utf-8")
    broken = cli(tmp_path, "help-resources", env=env)
    assert broken.returncode == 2 and "Traceback" not in broken.stderr
    assert "countries.KE[0]: phone '12' is not a valid number for KE" in broken.stderr
