"""bench/e2e.py works: a smoke run on tiny numbers drives the bots (Voices twice) and prints the side-by-side table.
Not a timed assertion: the figures themselves are the benchmark's business (bench/README.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
