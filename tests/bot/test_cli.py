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
    ["quotes"],
    ["quotes", "themes"],
    ["quotes", "theme"],
    ["quotes", "suggest"],
    ["quotes", "review"],
    ["quotes", "list"],
    ["flows"],
    ["flows", "lint"],
    ["notify"],
]


def cli(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VOICES_", "DATABASE_"))}
    environment.update({"VOICES_DATA_DIR": str(tmp_path / "data"), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env={**environment, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        input=stdin,
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

    nothing = cli(tmp_path, "summary", code)
    assert nothing.returncode == 2 and "has no publication yet" in nothing.stderr and "--live" in nothing.stderr
    live = cli(tmp_path, "summary", code, "--live")
    assert live.returncode == 0, live.stderr
    assert "Live preview" in live.stdout and "Have you heard of your country" in live.stdout

    closed = cli(tmp_path, "consultation", "close", code)
    assert closed.returncode == 0 and "closed" in closed.stdout and "Final publication 1 made" in closed.stdout
    final = cli(tmp_path, "summary", code)
    assert final.returncode == 0 and "Publication 1 (final)" in final.stdout and "Respondents: hidden" in final.stdout
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
    assert ok.returncode == 0 and "ok   " in ok.stdout and "roadmap_feedback v2" in ok.stdout
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
    assert same.returncode == 0 and "v2 -> v2" in same.stdout
    missing = cli(tmp_path, "consultation", "upgrade-flow", code, "--version", "9")
    assert missing.returncode == 2 and "flow 'roadmap_feedback' version 9 is not available" in missing.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test"}, "write postgresql+asyncpg://"),
        (
            {"DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:5432/voices_no_such_db"},
            "the database 'voices_no_such_db' does not exist",
        ),
        ({"DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/x"}, "cannot reach the database at 127.0.0.1:1"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL is not a database URL"),
        ({"VOICES_SANDBOX_PORT": "abc"}, "setting VOICES_SANDBOX_PORT"),
    ],
)
def test_operator_errors_are_one_line_saying_what_to_do(tmp_path: Path, env: dict[str, str], message: str) -> None:
    """Issue 12.7: each of these printed a traceback (up to 176 lines)."""
    result = cli(tmp_path, "db", "upgrade", env=env)
    assert result.returncode in (1, 2)
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_db_upgrade_says_what_it_did(tmp_path: Path) -> None:
    first = cli(tmp_path, "db", "upgrade")
    assert first.returncode == 0 and first.stdout.startswith("created the database schema (revision ")
    again = cli(tmp_path, "db", "upgrade")
    assert again.stdout.startswith("the database schema is up to date (revision ")


def test_output_piped_into_head_ends_quietly(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VOICES_", "DATABASE_"))}
    environment.update({"VOICES_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)})
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"{sys.executable} -m bot flows diagram roadmap_feedback | head -1"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout.strip() and result.returncode == 0
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr


def test_invite_link_without_telegram_reachable_is_still_printed(tmp_path: Path) -> None:
    """With a token and no network, the consultation is created and the link printed with a placeholder."""
    env = {"TELEGRAM_BOT_TOKEN": "123456:" + "a" * 30, "TELEGRAM_API_BASE_URL": "http://127.0.0.1:1/bot"}
    result = cli(
        tmp_path, "consultation", "create", "--flow", "roadmap_feedback", "--country", "KE", "--title", "t", env=env
    )
    assert result.returncode == 0, result.stderr
    assert "Invite code: " in result.stdout and "https://t.me/<your_bot>?start=" in result.stdout
    assert "set TELEGRAM_BOT_USERNAME" in result.stderr and "Traceback" not in result.stderr
    listed = cli(tmp_path, "consultation", "list", env=env)
    code = result.stdout.split("Invite code: ")[1].split()[0]
    assert listed.returncode == 0 and code in listed.stdout
