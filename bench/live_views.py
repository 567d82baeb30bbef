"""Benchmark: the cost of a new live view step (dashboard live progress, `summary CODE --live`) as a
consultation grows, and how many live views are stored.

Usage: python -m bench.live_views [--sizes 100,300,1000,3000] [--k 10] [--profile FILE]
A consultation of the shipped roadmap_feedback flow grows by a few people at a time (the test seed's answers);
after each batch a live view is asked for, as a refreshed screen would. Every time a new view is stored the
script prints: respondents, stored views, wall and CPU seconds of that step. Prints the table and rewrites it in
bench/README.md (between the `<!-- live-views-bench -->` markers).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import platform
import pstats
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage import publications as store
from storage import repository as repo
from storage.database import Database
from storage.migrate import upgrade
from summaries import audit as _auditor  # noqa: F401 - imported before timing: a process imports it once
from summaries import publications
from tests.summaries.seed import flows, seed

MARKER = "<!-- live-views-bench -->"
CODE = "BENCHLIVE"


async def stored_views(database: Database) -> int:
    async with database.reader() as session:
        consultation = await repo.consultation_by_code(session, CODE)
        assert consultation is not None and consultation.id is not None
        return sum(1 for row in await store.shown(session, consultation.id) if row.number < 0)


async def run(sizes: list[int], k: int, profiler: cProfile.Profile | None) -> list[tuple[int, int, float, float]]:
    rows: list[tuple[int, int, float, float]] = []
    if profiler is not None:  # the step's work runs in a worker thread: profile it there
        unprofiled = publications._safe_view

        def profiled(*args: Any) -> Any:
            profiler.enable()
            try:
                return unprofiled(*args)
            finally:
                profiler.disable()

        publications._safe_view = profiled  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite+aiosqlite:///{Path(folder) / 'voices.db'}")
        await upgrade(database)
        people = 12
        await seed(database, CODE, people=people, min_cell=k)
        views = 0
        for target in sizes:
            while people < target:
                batch = max(1, min(target - people, people // 40))  # refreshed every 2.5% of growth
                await seed(database, CODE, people=batch, start=people, create=False)
                people += batch
                wall, cpu = time.perf_counter(), time.process_time()
                view = await publications.live_view(database, CODE, flows)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                now = await stored_views(database)
                if now != views:
                    views = now
                    rows.append((view.respondents or 0, views, wall, cpu))
                    print(
                        f"{people:>6} people: view of {view.respondents} stored, {views} stored views, "
                        f"{wall:.2f} s ({cpu:.2f} s CPU)",
                        flush=True,
                    )
        await database.dispose()
    return rows


def table(rows: list[tuple[int, int, float, float]], sizes: list[int], k: int) -> str:
    lines = [
        f"Run {datetime.now(UTC).date().isoformat()} on CPython {platform.python_version()}, {platform.machine()}, "
        f"2 cores shared with other work; `python -m bench.live_views --sizes {','.join(map(str, sizes))} --k {k}`.",
        "",
        "| respondents in the new view | stored views | step (s) | its CPU (s) |",
        "|---:|---:|---:|---:|",
    ]
    lines += [f"| {r:,} | {v} | {w:.2f} | {c:.2f} |" for r, v, w, c in rows]
    return "\n".join(lines)


def rewrite_readme(text: str) -> None:
    readme = Path(__file__).with_name("README.md")
    content = readme.read_text()
    block = f"{MARKER}\n{text}\n{MARKER}"
    if MARKER in content:
        before, _, rest = content.partition(MARKER)
        _, _, after = rest.partition(MARKER)
        content = before + block + after
    else:
        content = content.rstrip("\n") + "\n\n" + block + "\n"
    readme.write_text(content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,300,1000,3000")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--profile", help="write cProfile statistics of the live views to this file")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    profiler = cProfile.Profile() if args.profile else None
    rows = asyncio.run(run(sizes, args.k, profiler))
    text = table(rows, sizes, args.k)
    print(text)
    if profiler is not None:
        profiler.dump_stats(args.profile)
        pstats.Stats(args.profile).sort_stats("cumulative").print_stats(25)
    if not args.no_readme:
        rewrite_readme(text)


if __name__ == "__main__":
    main()
