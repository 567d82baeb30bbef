"""The summary and quotes commands as an operator runs them: create with k, kind and cycle; publish; render in
every format and language; audit files (clean ones pass, a tampered one is caught); review written answers."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

from storage.database import Database
from storage.migrate import upgrade
from tests.bot.test_cli import cli
from tests.summaries.seed import seed


def _seed(tmp_path: Path, code: str, people: int) -> dict[str, str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'voices.db'}"

    async def go() -> None:
        database = Database(url)
        await upgrade(database)
        try:
            await seed(database, code, people=people)
        finally:
            await database.dispose()

    asyncio.run(go())
    keys = "k1:" + base64.urlsafe_b64encode(bytes(range(32))).decode()
    return {"DATABASE_URL": url, "VOICES_DATA_KEYS": keys}


def test_create_takes_k_kind_and_cycle(tmp_path: Path) -> None:
    args = ["consultation", "create", "--flow", "roadmap_feedback", "--country", "KE", "--title", "t"]
    made = cli(tmp_path, *args, "--min-cell", "12", "--kind", "progress_report", "--cycle-year", "2027")
    assert made.returncode == 0, made.stderr
    assert "Smallest number shown (k): 12; progress report 2027" in made.stdout
    refused = cli(tmp_path, *args, "--min-cell", "4")
    assert refused.returncode == 2 and "at least 5" in refused.stderr and "Traceback" not in refused.stderr


def test_publish_render_audit(tmp_path: Path) -> None:
    env = _seed(tmp_path, "CLISUM", 50)
    published = cli(tmp_path, "summary", "publish", "CLISUM", env=env)
    assert published.returncode == 0, published.stderr
    assert "publication 1 made (k = 10)" in published.stdout
    again = cli(tmp_path, "summary", "publish", "CLISUM", env=env)
    assert again.returncode == 2 and "fewer than 10 (k) new respondents since publication 1" in again.stderr
    assert "0 new" not in again.stderr  # how many came in between is not said

    for fmt, lang in (("html", "fr"), ("csv", "es"), ("xlsx", "pt"), ("json", "sw"), ("pdf", "ar"), ("md", "en")):
        out = tmp_path / f"report.{fmt}"
        rendered = cli(tmp_path, "summary", "CLISUM", "--format", fmt, "--language", lang, "-o", str(out), env=env)
        assert rendered.returncode == 0, rendered.stderr
        assert out.stat().st_size > 1000
    console = cli(tmp_path, "summary", "CLISUM", "--language", "fr", env=env)
    assert console.returncode == 0 and "Publication 1" in console.stdout and "masqué" in console.stdout
    assert "<5" not in console.stdout

    files = [str(tmp_path / f"report.{fmt}") for fmt in ("html", "csv", "xlsx", "json")]
    audited = cli(tmp_path, "summary", "audit", *files, env=env)
    assert audited.returncode == 0, audited.stdout + audited.stderr
    assert "nothing can be worked out" in audited.stdout and "4 files" in audited.stdout

    document = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    for question in document["questions"]:  # un-hide what suppression hid, the way a careless editor would
        for table in question["tables"]:
            for row in table["rows"]:
                if row["suppressed"] and row["key"] != "theme:":
                    row["count"], row["suppressed"] = 3, False
                    break
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document), encoding="utf-8")
    caught = cli(tmp_path, "summary", "audit", str(tampered), env=env)
    assert caught.returncode != 0


def test_quotes_review_codes_and_approves(tmp_path: Path) -> None:
    env = _seed(tmp_path, "QUOTES", 20)
    theme = cli(
        tmp_path,
        "quotes",
        "theme",
        "QUOTES",
        "shelters",
        "--label",
        "Shelters",
        "--keywords",
        "shelter,safe house",
        env=env,
    )
    assert theme.returncode == 0 and "saved" in theme.stdout
    suggested = cli(tmp_path, "quotes", "suggest", "QUOTES", "--language", "en", env=env)
    assert suggested.returncode == 0 and "en (" in suggested.stdout
    # first answer: themes as suggested, quoted with words removed; second: no theme, rejected; then stop
    script = "\n".join(["", "e", "Shelters [\u2026]", "-", "r", "q", ""]) + "\n"
    review = cli(tmp_path, "quotes", "review", "QUOTES", env=env, stdin=script)
    assert review.returncode == 0, review.stderr
    assert "2 answer(s) reviewed" in review.stdout
    listed = cli(tmp_path, "quotes", "list", "QUOTES", env=env)
    assert "1 approved quote(s)" in listed.stdout and "[recommendation]" in listed.stdout


def test_an_edited_quote_may_only_remove_words(tmp_path: Path) -> None:
    env = _seed(tmp_path, "EDITS", 12)
    script = "\n".join(["-", "e", "The government is great", "r", "q", ""]) + "\n"
    review = cli(tmp_path, "quotes", "review", "EDITS", env=env, stdin=script)
    assert review.returncode == 0, review.stderr
    assert "Refused: a quote may only remove words" in review.stdout
    assert "0 approved quote(s)" in cli(tmp_path, "quotes", "list", "EDITS", env=env).stdout
