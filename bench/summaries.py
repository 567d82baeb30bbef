"""Benchmark: summarising 10k, 100k and 1M answers on SQLite and PostgreSQL (time and peak memory).

Usage: python -m bench.summaries [--sizes 10000,100000,1000000] [--backends sqlite,postgresql]
Counting is done by the database (one aggregate query per table shape), so the time grows with the number of
answers only through the database's own scan, and Python's memory with the number of distinct answers, not of
answers. Disclosure control then works on the tables (its time depends on their shape, not on the answers).
Prints the figures and rewrites the table in bench/README.md. PostgreSQL: TEST_DATABASE_URL (as the tests).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlmodel import col
from tqdm import tqdm

from flows.describe import describe
from flows.loader import shipped_library
from storage import repository as repo
from storage import summaries as sql
from storage.database import Database
from storage.migrate import upgrade
from storage.models import Answer, ConversationSession, Participant
from summaries import audit as _auditor  # noqa: F401 - imported before timing: a process imports it once
from summaries.build import live_summary
from summaries.questionnaire import FlowLike

README = Path(__file__).resolve().parent / "README.md"
MARK = "<!-- summaries-bench -->"
POSTGRES = os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
QUESTIONS_PER_PERSON = 7


def flows(flow_id: str, version: int) -> FlowLike:
    return describe(shipped_library().get(flow_id, version))


def answer_row(
    sid: int, cid: int, question: str, codes: str | None, text: bytes | None, skipped: bool, day: date
) -> dict[str, object]:
    return {
        "session_id": sid,
        "consultation_id": cid,
        "question_id": question,
        "choice_codes": codes,
        "skipped": skipped,
        "text_cipher": text,
        "key_id": "k1" if text else None,
        "answered_on": day,
    }


async def fill(database: Database, answers: int) -> None:
    """A roadmap_feedback consultation with `answers` answers (7 per person), inserted in bulk."""
    flow = shipped_library().latest("roadmap_feedback")
    async with database.transaction() as session:
        consultation = await repo.create_consultation(
            session,
            code="BENCH",
            title="Bench",
            country="KE",
            flow_id=flow.id,
            flow_version=flow.version,
            languages=list(flow.languages),
            default_language="en",
        )
        cid = consultation.id
    if cid is None:
        raise RuntimeError("no consultation id")
    people = answers // QUESTIONS_PER_PERSON
    rng = random.Random(87)
    options = {s.id: [o.code for o in s.options] for s in flow.steps}
    bands = ["18_24", "25_34", "35_49", "50_plus"]
    batch = 20_000 // QUESTIONS_PER_PERSON
    now, today = repo.now(), date.today()
    with tqdm(total=people, desc=f"inserting {answers:,} answers", unit="person", mininterval=5.0) as bar:
        for start in range(0, people, batch):
            count = min(batch, people - start)
            async with database.transaction() as session:
                connection = await session.connection()
                participants = [
                    {"pseudonym": f"{uuid.uuid4().hex}{index:032x}"[:64], "language": "en", "created_on": today}
                    for index in range(start, start + count)
                ]
                ids = (
                    await connection.execute(insert(Participant).returning(col(Participant.id)), participants)
                ).scalars()
                sessions = [
                    {
                        "participant_id": pid,
                        "consultation_id": cid,
                        "flow_id": flow.id,
                        "flow_version": flow.version,
                        "state": "thanks",
                        "status": "completed",
                        "language": "en",
                        "context": "{}",
                        "started_at": now,
                        "updated_at": now,
                    }
                    for pid in ids.all()
                ]
                new_sessions = insert(ConversationSession).returning(col(ConversationSession.id))
                sids = [int(x) for x in (await connection.execute(new_sessions, sessions)).scalars().all() if x]
                rows: list[dict[str, object]] = []
                for sid in sids:
                    skip = rng.random() < 0.1
                    given = [
                        ("age", rng.choice(bands)),
                        ("group", rng.choice(options["group"])),
                        ("awareness", rng.choice(options["awareness"])),
                        (
                            "priorities",
                            " ".join(o for o in options["priorities"] if rng.random() < 0.4) or "prevention",
                        ),
                        ("services_access", rng.choice(options["services_access"])),
                        ("survivors_included", None if skip else rng.choice(options["survivors_included"])),
                    ]
                    rows += [
                        answer_row(sid, cid, q, codes, None, skip and q == "survivors_included", today)
                        for q, codes in given
                    ]
                    rows.append(answer_row(sid, cid, "recommendation", None, os.urandom(40), False, today))
                await connection.execute(insert(Answer), rows)
            bar.update(count)


async def measure(url: str, answers: int) -> tuple[float, float, float, float]:
    """(seconds for the SQL aggregation, CPU seconds of this process for it, seconds for the whole summary with
    disclosure control, peak MiB). The CPU time counts SQLite's work (aiosqlite's thread is in this process),
    not PostgreSQL's, and does not grow when other work shares the machine."""
    database = Database(url)
    await upgrade(database)
    try:
        await fill(database, answers)
        if database.dialect == "postgresql":  # the statistics autovacuum keeps on a live database
            async with database.engine.connect() as connection:
                await connection.exec_driver_sql("ANALYZE")
                await connection.commit()
        async with database.reader() as session:
            consultation = await repo.consultation_by_code(session, "BENCH")
            assert consultation is not None and consultation.id is not None
            started, cpu = time.perf_counter(), time.process_time()
            tally = await sql.tally(session, consultation.id, "group")
            aggregation, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert (
            sum(a.count for a in tally.answers if a.scope == "all")
            == answers // QUESTIONS_PER_PERSON * QUESTIONS_PER_PERSON
        )
        tracemalloc.start()
        started = time.perf_counter()
        await live_summary(database, "BENCH", flows)
        whole = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        return aggregation, cpu, whole, peak
    finally:
        await database.dispose()


async def postgres_url() -> tuple[str, str]:
    base = make_url(POSTGRES)
    name = f"voices_bench_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(base.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return base.set(database=name).render_as_string(hide_password=False), name


async def drop_postgres(name: str) -> None:
    base = make_url(POSTGRES)
    connection = await asyncpg.connect(base.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def run(sizes: list[int], backends: list[str]) -> list[tuple[str, int, float, float, float, float]]:
    rows = []
    for backend in backends:
        for answers in sizes:
            if backend == "sqlite":
                with tempfile.TemporaryDirectory() as directory:
                    figures = await measure(f"sqlite+aiosqlite:///{directory}/bench.db", answers)
            else:
                url, name = await postgres_url()
                try:
                    figures = await measure(url, answers)
                finally:
                    await drop_postgres(name)
            rows.append((backend, answers, *figures))
            print(
                f"{backend:>10} {answers:>10,} answers: SQL {figures[0]:.2f} s (CPU here {figures[1]:.2f} s), "
                f"summary {figures[2]:.2f} s, peak {figures[3]:.1f} MiB"
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="numbers of answers, comma-separated")
    parser.add_argument("--backends", default="sqlite,postgresql", help="sqlite and/or postgresql")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    rows = asyncio.run(run(sizes, args.backends.split(",")))
    table = [
        MARK,
        f"Run {datetime.now(UTC):%Y-%m-%d} on {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores shared with other work; `python -m bench.summaries`.",
        "",
        "| database | answers | SQL aggregation (s) | its CPU in this process (s) "
        "| whole summary, with disclosure control (s) | peak Python memory of the summary (MiB) |",
        "|---|---:|---:|---:|---:|---:|",
        *[f"| {b} | {n:,} | {a:.2f} | {c:.2f} | {w:.2f} | {p:.1f} |" for b, n, a, c, w, p in rows],
        MARK,
    ]
    text = README.read_text(encoding="utf-8")
    if MARK not in text:
        text += (
            "\n## Summaries (`bench/summaries.py`)\n\n"
            "A roadmap_feedback consultation with 10k, 100k and 1M answers (7 per person, one written) is summarised: "
            "the answers are counted by the database per question, participant group and invite channel, then "
            "disclosure control runs on the tables. Target: 1M answers in under 3 s on SQLite on one core.\n\n"
            f"{MARK}\n{MARK}\n"
        )
    before, _, rest = text.partition(MARK)
    _, _, after = rest.partition(MARK)
    README.write_text(before + "\n".join(table) + after, encoding="utf-8")
    print(f"results written to {README}")


if __name__ == "__main__":
    main()
