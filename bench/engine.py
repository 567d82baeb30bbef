"""Benchmark: the flow engine alone (no I/O) stepping many sessions through roadmap_feedback.

Usage: python -m bench.engine [--sessions 100000]
Prints steps per second and peak memory at several points, and rewrites the table in bench/README.md.
Memory must not grow with the number of sessions stepped: machines are shared and models removed each step.
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from flows.engine import Engine
from flows.events import ChoiceInput, Input, Start, TextInput
from flows.loader import shipped_library
from flows.session import SessionState

README = Path(__file__).resolve().parent / "README.md"
MARK = "<!-- engine-bench -->"


def script(engine: Engine) -> list[Input]:
    """One participant's inputs: consent, every question answered (choices, a multi-select, free text)."""
    flow = engine.flow
    inputs: list[Input] = [Start()]
    for index, step in enumerate(flow.steps):
        if step.type == "consent":
            inputs.append(ChoiceInput(index, "y"))
        elif step.type == "single_choice":
            inputs.append(ChoiceInput(index, "0"))
        elif step.type == "multiple_choice":
            inputs += [ChoiceInput(index, "0"), ChoiceInput(index, "1"), ChoiceInput(index, "d")]
        elif step.type == "free_text":
            inputs.append(TextInput("More inspectors in rural areas."))
    return inputs


def run(sessions: int) -> list[tuple[int, float, float]]:
    """Step `sessions` participants; at checkpoints record (sessions, steps/s so far, peak RSS in MiB)."""
    engine = Engine(shipped_library().latest("roadmap_feedback"))
    inputs = script(engine)
    checkpoints = {sessions // 10, sessions // 2, sessions}
    rows: list[tuple[int, float, float]] = []
    steps = 0
    started = time.perf_counter()
    for number in tqdm(range(1, sessions + 1), desc="sessions", unit="session", mininterval=5.0):
        state: SessionState = engine.new_session("en")
        for given in inputs:
            engine.handle(state, given)
            steps += 1
        if number in checkpoints:
            elapsed = time.perf_counter() - started
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
            rows.append((number, steps / elapsed, peak))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000, help="sessions to step (default 100000)")
    args = parser.parse_args()
    rows = run(args.sessions)
    speed = rows[-1][1]
    print(f"\nEngine alone: {speed:,.0f} steps/s on one core")
    print(f"{'sessions':>10} {'steps/s':>10} {'peak RSS MiB':>13}")
    for number, rate, peak in rows:
        print(f"{number:>10,} {rate:>10,.0f} {peak:>13.1f}")
    table = [
        MARK,
        f"Run {datetime.now(UTC):%Y-%m-%d} on {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}; `python -m bench.engine --sessions {args.sessions}`.",
        "",
        f"Speed: **{speed:,.0f} steps/s** on one core (target: at least 5,000).",
        "",
        "| sessions stepped | steps/s so far | peak RSS of the process (MiB) |",
        "|---:|---:|---:|",
        *[f"| {n:,} | {r:,.0f} | {p:.1f} |" for n, r, p in rows],
        MARK,
    ]
    text = README.read_text(encoding="utf-8")
    before, _, rest = text.partition(MARK)
    _, _, after = rest.partition(MARK)
    README.write_text(before + "\n".join(table) + after, encoding="utf-8")
    print(f"results written to {README}")


if __name__ == "__main__":
    main()
