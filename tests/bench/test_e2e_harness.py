"""bench/e2e.py and bench/e2e_pg.py work: smoke runs on tiny numbers drive the bots (Voices twice in e2e.py) and
print the tables.
Not a timed assertion: the figures themselves are the benchmark's business (bench/README.md)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parents[2]


def test_the_quick_run_drives_every_bot_and_prints_the_table() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.e2e", "--quick", "--no-readme", "--timeout", "20"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for kind in ("floor", "peer", "voices", "lifted"):
        assert f" {kind}: " in done.stdout, done.stdout
    assert "without a reply" not in done.stdout, done.stdout  # every action of every bot was answered
    table = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    names = [line.split("|")[1].strip() for line in table]
    assert "closed loop: actions/s" in names and "peak RSS, bot process (MiB)" in names
    assert "offered 10/s: p99 reply (ms)" in names
    closed = next(line for line in table if "closed loop" in line).split("|")
    assert all(cell.strip() not in ("", "> timeout") for cell in closed[2:6])
    assert closed[6].strip().endswith("×") and closed[7].strip().endswith("×")  # lifted / floor, lifted / peer


@pytest.mark.postgres
def test_the_quick_postgresql_webhook_run_drives_workers_behind_the_proxy_and_prints_the_table() -> None:
    """bench/e2e_pg.py: one webhook worker on a fresh PostgreSQL database, with the overall rate lifted and with
    the product's limit; every update answered, the table printed, the database dropped afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.e2e_pg", "--quick", "--no-readme", "--limited-workers", "1", "--timeout", "20"],
        cwd=ROOT,
        env={**os.environ, "BENCH_DATABASE_URL": TEST_DATABASE_URL},  # the test server, whichever it is
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, out + err
    assert "round 1 1 worker(s), no overall limit" in out and "round 1 1 worker(s), 30/s limit" in out, out
    assert "without a reply" not in out, out  # every update was answered through the proxy
    table = [[cell.strip() for cell in line.split("|")[1:-1]] for line in out.splitlines() if line.startswith("| ")]
    header, rows = table[0], table[1:]
    assert [row[:3] for row in rows] == [
        ["1", "lifted", "5"],
        ["1", "lifted", "10"],
        ["1", "30/s (the product)", "5"],
        ["1", "30/s (the product)", "10"],
    ]
    for name in ("replies/s", "CPU/action: workers (ms)", "unanswered when the offer ends"):
        assert all(float(row[header.index(name)].replace(",", "")) >= 0 for row in rows), (name, rows)
    assert all(float(row[header.index("replies/s")]) > 0 for row in rows)
    assert "The smallest number of workers that keeps up at 10 updates/s" in out
    left = asyncio.run(databases(f"voices_bench_{process.pid}_%"))
    assert left == [], left


async def databases(pattern: str) -> list[str]:
    connection = await asyncpg.connect(
        make_url(TEST_DATABASE_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        rows = await connection.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", pattern)
    finally:
        await connection.close()
    return [str(row["datname"]) for row in rows]
