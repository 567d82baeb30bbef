"""The CLI, as an operator runs it: `python -m bot ...` in a subprocess, with its own database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = [
    [],
    ["run"],
    ["db"],
    ["db", "upgrade"],
    ["consultation"],
    ["consultation", "create"],
    ["consultation", "list"],
    ["consultation", "close"],
    ["consultation", "upgrade-flow"],
    ["summary"],
    ["flows"],
    ["flows", "lint"],
]


def cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VOICES_", "DATABASE_"))}
    environment.update({"VOICES_DATA_DIR": str(tmp_path / "data"), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env={**environment, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_every_command_has_help(tmp_path: Path, command: list[str]) -> None:
    result = cli(tmp_path, *command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m bot")


def test_create_list_summary_close(tmp_path: Path) -> None:
    created = cli(
        tmp_path,
        "consultation",
        "create",
        "--flow",
        "roadmap_feedback",
        "--country",
        "pe",
        "--title",
        "Peru roadmap 2026",
        "--organisation",
        "CSO Lima",
    )
    assert created.returncode == 0, created.stderr
    code = next(line.split(": ")[1] for line in created.stdout.splitlines() if line.startswith("Invite code"))
    assert f"Invite link: https://t.me/voices87_sandbox_bot?start={code}" in created.stdout
    assert (tmp_path / "data" / "voices.db").exists()

    listed = cli(tmp_path, "consultation", "list")
    assert code in listed.stdout and "PE" in listed.stdout and "Peru roadmap 2026" in listed.stdout

    summary = cli(tmp_path, "summary", code)
    assert summary.returncode == 0, summary.stderr
    assert "Respondents: 0" in summary.stdout and "awareness" in summary.stdout

    closed = cli(tmp_path, "consultation", "close", code)
    assert closed.returncode == 0 and "closed" in closed.stdout
    assert "closed" in cli(tmp_path, "consultation", "list").stdout


def test_bot_username_setting_shapes_the_link(tmp_path: Path) -> None:
    created = cli(
        tmp_path,
        "consultation",
        "create",
        "--flow",
        "roadmap_feedback",
        "--country",
        "KE",
        "--title",
        "t",
        "--languages",
        "fr",
        env={"TELEGRAM_BOT_USERNAME": "@my_cso_bot"},
    )
    assert created.returncode == 0, created.stderr
    assert "https://t.me/my_cso_bot?start=" in created.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--flow", "nope", "--country", "KE", "--title", "t"], "no flow named 'nope'"),
        (["--flow", "roadmap_feedback", "--country", "XX", "--title", "t"], "not an ISO 3166 alpha-2"),
        (["--flow", "roadmap_feedback", "--country", "KE", "--title", "t", "--languages", "de"], "has no text in de"),
        (["--flow", "roadmap_feedback", "--country", "KE", "--title", "t", "--retention-days", "-5"], "1 to 3650 days"),
        (["--flow", "roadmap_feedback", "--country", "KE", "--title", "  "], "a title of 1 to 200 characters"),
    ],
)
def test_create_refuses_bad_input_clearly(tmp_path: Path, args: list[str], message: str) -> None:
    result = cli(tmp_path, "consultation", "create", *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_summary_of_unknown_code(tmp_path: Path) -> None:
    result = cli(tmp_path, "summary", "NOPE")
    assert result.returncode == 2 and "no consultation with code 'NOPE'" in result.stderr


def test_flows_lint(tmp_path: Path) -> None:
    ok = cli(tmp_path, "flows", "lint")
    assert ok.returncode == 0 and "ok   " in ok.stdout and "roadmap_feedback v1" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "spec_version: 1\nid: bad\nversion: 1\naudience: survivor\nlanguages: [en]\n"
        "default_language: en\ntitle: {en: B}\nsteps:\n  - {id: a, type: end, text: {en: x}, next: a}\n"
    )
    failed = cli(tmp_path, "flows", "lint", str(bad))
    assert failed.returncode == 1
    assert "step 'a': an end step cannot have `next`" in failed.stdout


def test_production_without_secrets_fails_with_a_clear_message(tmp_path: Path) -> None:
    result = cli(tmp_path, "run", env={"VOICES_ENV": "production", "TELEGRAM_BOT_TOKEN": "1:x"})
    assert result.returncode == 2
    assert "VOICES_PEPPER, VOICES_DATA_KEYS must be set when VOICES_ENV=production" in result.stderr
    assert "Traceback" not in result.stderr


def test_upgrade_flow_to_an_unknown_version_is_refused(tmp_path: Path) -> None:
    created = cli(tmp_path, "consultation", "create", "--flow", "roadmap_feedback", "--country", "KE", "--title", "t")
    code = next(line.split(": ")[1] for line in created.stdout.splitlines() if line.startswith("Invite code"))
    same = cli(tmp_path, "consultation", "upgrade-flow", code)
    assert same.returncode == 0 and "v1 -> v1" in same.stdout
    missing = cli(tmp_path, "consultation", "upgrade-flow", code, "--version", "9")
    assert missing.returncode == 2 and "flow 'roadmap_feedback' version 9 is not available" in missing.stderr
