"""Benchmark: the memory a worker's libraries take before any Voices code runs (issue 11's peak RSS goal).

Usage: python -m bench.imports [--rounds 3] [--no-readme]
Each row imports one more set of libraries, in a fresh interpreter, and reads its peak RSS (`VmHWM`); the
median of the rounds is printed and the table rewritten in bench/README.md. The rows are cumulative: the
last but one is what `python -m bot run` cannot do without, the last adds Voices' own modules of the run.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "bench" / "README.md"
MARK = "<!-- imports-bench -->"

STAGES: list[tuple[str, str]] = [
    ("the bare interpreter", ""),
    ("asyncio with OpenSSL (any HTTPS client)", "import asyncio, ssl"),
    ("python-telegram-bot (`telegram.ext`, with httpx)", "import telegram.ext"),
    ("SQLAlchemy's asyncio ORM with aiosqlite", "import sqlalchemy.ext.asyncio, sqlalchemy.orm, aiosqlite"),
    ("SQLModel (with pydantic)", "import sqlmodel"),
    ("aiohttp's server (the dashboard, webhooks, /healthz)", "import aiohttp.web"),
    ("Voices' modules of the run (`bot.runners`, `bot.cli.run`)", "import bot.runners, bot.cli.run"),
]
PEAK = "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))"


def peak_mib(imports: str) -> float:
    """The peak RSS (MiB) of a fresh interpreter that runs `imports`."""
    done = subprocess.run(
        [sys.executable, "-c", f"{imports}\n{PEAK}"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return int(done.stdout.split()[-1]) / 1024


def run(rounds: int) -> list[tuple[str, float]]:
    rows = []
    done: list[str] = []
    for label, imports in STAGES:
        if imports:
            done.append(imports)
        rows.append((label, statistics.median(peak_mib("\n".join(done)) for _ in range(rounds))))
    return rows


def table(rows: list[tuple[str, float]], rounds: int) -> list[str]:
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d} on {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}; `python -m bench.imports`: the median of {rounds} fresh interpreters per row.",
        "",
        "| imported, each row adding to the ones above | peak RSS (MiB) | added (MiB) |",
        "|---|---:|---:|",
    ]
    before = 0.0
    for label, peak in rows:
        lines.append(f"| {label} | {peak:.1f} | {peak - before:+.1f} |")
        before = peak
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-readme", action="store_true", help="print only; leave bench/README.md as it is")
    args = parser.parse_args(argv)
    lines = table(run(args.rounds), args.rounds)
    print("\n".join(lines))
    if args.no_readme:
        return
    text = README.read_text(encoding="utf-8")
    before, _, rest = text.partition(MARK)
    _, _, after = rest.partition(MARK)
    README.write_text(before + "\n".join([MARK, *lines, MARK]) + after, encoding="utf-8")
    print(f"results written to {README}")


if __name__ == "__main__":
    main()
