"""Benchmark: `python -m bot run --webhook` on PostgreSQL, N workers behind a proxy, offered 20 and 100 updates/s.

Usage: python -m bench.e2e_pg [--workers 1,2,3,4] [--rates 20,100] [--seconds 10] [--rounds 3]
       [--limited-workers N] [--quick] [--no-readme]
Issue 11: "p99 < 50 ms from update to reply ... at 100 updates/s on PostgreSQL with as many webhook workers as it
takes, and the benchmark says how many." The users, the script and the open loop are bench/e2e.py's; here:
- a fresh PostgreSQL database per worker count and round (`voices_bench_<pid>_<n>` on the server of
  BENCH_DATABASE_URL, default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres; dropped afterwards), prepared
  as an operator would (schema, an admin, the consultation);
- N processes of `python -m bot run --webhook` with a token (production mode), each listening on its own port;
  a round-robin reverse proxy in this process forwards every webhook POST to the next worker and returns its
  answer; every worker sets the proxy's URL as the webhook (the same URL, as a real deployment does);
- the emulator delivers updates as Telegram's Bot API server does under load: up to 40 POSTs at once (the
  default max_connections), each chat's updates one at a time and in order (`Emulator(parallel_webhook=True)`);
- the outbox sender's overall rate lifted (bench/e2e_voices.py, rate 0): the product keeps the bot within
  Telegram's 30 messages a second, shared by the workers, which the emulator does not enforce; --limited-workers N
  (default: the largest N) also runs N workers with the product's limit, for comparison.
For each worker count and offered rate: p50 / p99 of the time from an update to its reply, replies per second,
the updates still unanswered when the offered period ends (the backlog), and CPU per answered action: the
workers together, the PostgreSQL server processes serving their connections, and this process (emulator, users
and proxy), all on the same machine. Each figure is min / median / max over the rounds.
Prints the table and rewrites it in bench/README.md (between the `<!-- e2e-pg-bench -->` marks).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
from aiohttp import web
from sqlalchemy.engine import make_url

from bench.e2e import (
    README,
    SCRIPT,
    TICK,
    Replies,
    closed_loop,
    cpu_seconds,
    free_port,
    open_loop,
    peak_rss_mib,
    percentile,
    prepare_voices,
    spread,
    tail,
    voices_environment,
    write_readme,
)
from bot.runners import SECRET_HEADER, WEBHOOK_PATH
from config.settings import SANDBOX_TOKEN
from sandbox import Emulator, create_sandbox_app

MARK = "<!-- e2e-pg-bench -->"
SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-webhook-secret"  # the loopback webhook's secret, for this benchmark only
GOAL_MS = 50.0
"""Issue 11: p99 from update to reply below 50 ms."""
KEEPS_UP = 0.95
"""Replies per second at least this share of the offered rate, and nothing left unanswered: it keeps up."""
_databases = iter(range(1, 1_000_000))


# ----------------------------------------------------------------------------------------------- the database


def server_dsn() -> str:
    return make_url(SERVER_URL).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[tuple[str, str]]:
    """A new, empty database on the server: (its SQLAlchemy URL, its name); dropped afterwards."""
    name = f"voices_bench_{os.getpid()}_{next(_databases)}"
    connection = await asyncpg.connect(server_dsn(), timeout=10)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    try:
        yield make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False), name
    finally:
        connection = await asyncpg.connect(server_dsn(), timeout=10)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


async def server_version() -> str:
    connection = await asyncpg.connect(server_dsn(), timeout=10)
    try:
        return str(await connection.fetchval("SHOW server_version")).split()[0]
    finally:
        await connection.close()


def process_times(pid: int) -> tuple[int, float]:
    """(parent pid, CPU seconds of the process and of its children it has reaped) from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), sum(int(x) for x in fields[11:15]) / TICK  # utime, stime, cutime, cstime


def machine_times() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine since boot, every core (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields) - idle) / TICK, sum(fields) / TICK


def server_seconds(postmaster: int) -> float:
    """CPU seconds of the postmaster, of the children it reaped, and of its live children."""
    total = process_times(postmaster)[1]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parent, seconds = process_times(int(stat.parent.name))
            if parent == postmaster:
                total += seconds
    return total


class ServerCpu:
    """The PostgreSQL server's CPU time (the postmaster, its live processes, and the backends that have exited:
    connections closed by a worker's pool count too), read from /proc, so the server must run on this machine
    (NaN otherwise); and how many connections were opened to one database. The whole server: another
    database's work at the same time would count too."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.postmaster = 0
        self.start = (float("nan"), 0)

    async def _sample(self) -> tuple[float, int]:
        connection = await asyncpg.connect(server_dsn(), timeout=10)
        try:
            sessions = await connection.fetchval("SELECT sessions FROM pg_stat_database WHERE datname = $1", self.name)
            if not self.postmaster:  # this connection's server process is a child of the postmaster
                with contextlib.suppress(OSError, IndexError, ValueError):
                    self.postmaster = process_times(int(await connection.fetchval("SELECT pg_backend_pid()")))[0]
        finally:
            await connection.close()
        try:
            total = server_seconds(self.postmaster) if self.postmaster else float("nan")
        except (OSError, IndexError, ValueError):
            total = float("nan")
        return total, int(sessions or 0)

    async def begin(self) -> None:
        self.start = await self._sample()

    async def since(self) -> tuple[float, int]:
        """CPU seconds and connections opened since `begin`."""
        total, sessions = await self._sample()
        return total - self.start[0], sessions - self.start[1]


# ----------------------------------------------------------------------------------------------- the workers


class RoundRobin:
    """The reverse proxy in front of the workers: each webhook POST goes to the next worker; its answer (status
    and body) goes back to the sender, a failed connection as 502 (Telegram then delivers the update again)."""

    def __init__(self, ports: list[int]) -> None:
        self.targets = [f"http://127.0.0.1:{port}{WEBHOOK_PATH}" for port in ports]
        self.turn = 0
        self.session: aiohttp.ClientSession | None = None

    async def forward(self, request: web.Request) -> web.Response:
        if self.session is None:
            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        if not self.targets:
            return web.Response(status=503, text="no worker yet")
        target = self.targets[self.turn % len(self.targets)]
        self.turn += 1
        headers = {k: v for k, v in request.headers.items() if k in ("Content-Type", SECRET_HEADER)}
        try:
            async with self.session.post(target, data=await request.read(), headers=headers) as response:
                return web.Response(status=response.status, body=await response.read())
        except (aiohttp.ClientError, OSError):
            return web.Response(status=502, text="bad gateway")

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()


@dataclass
class Workers:
    processes: list[asyncio.subprocess.Process]
    ports: list[int]
    logs: list[Path]

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.processes)


@contextlib.asynccontextmanager
async def webhook_workers(
    count: int, api_url: str, hook_url: str, database_url: str, data: Path, overall_rate: float | None
) -> AsyncIterator[Workers]:
    """`count` webhook workers sharing the database, until each answers /healthz; stopped with SIGINT.
    `overall_rate` None: the product's outbox limit; else bench/e2e_voices.py's patch (0: lifted)."""
    environment = voices_environment(api_url, data)
    environment.update({"DATABASE_URL": database_url, "VOICES_WEBHOOK_SECRET": SECRET})
    await prepare_voices(environment, data)
    if overall_rate is None:
        command = [sys.executable, "-m", "bot", "run", "--webhook"]
    else:
        command = [sys.executable, "-m", "bench.e2e_voices", f"{overall_rate:g}", "--webhook"]
    workers = Workers([], [], [])
    try:
        for index in range(count):
            port = free_port()
            own = {
                **environment,
                "VOICES_WEBHOOK_HOST": "127.0.0.1",
                "VOICES_WEBHOOK_PORT": str(port),
                "VOICES_WEBHOOK_URL": hook_url,
            }
            log = data / f"worker{index}.log"
            with log.open("wb") as out:
                process = await asyncio.create_subprocess_exec(
                    *command, cwd=data, env=own, stdout=out, stderr=subprocess.STDOUT
                )
            workers.processes.append(process)
            workers.ports.append(port)
            workers.logs.append(log)
        await wait_healthy(workers)
        yield workers
    finally:
        for process in workers.processes:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
        for process in workers.processes:
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def wait_healthy(workers: Workers, seconds: float = 60) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        for process, port, log in zip(workers.processes, workers.ports, workers.logs, strict=True):
            deadline = time.monotonic() + seconds
            while True:
                if process.returncode is not None:
                    raise RuntimeError(f"a worker exited early:\n{tail(log)}")
                with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200:
                            break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"a worker did not answer /healthz within {seconds:g} s:\n{tail(log)}")
                await asyncio.sleep(0.1)


async def outbox_backlog(port: int) -> float:
    """Messages waiting in the outbox, from a worker's /healthz (NaN if it cannot say)."""
    with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError, ValueError):
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            backlog = (await response.json()).get("outbox_backlog")
            return float(backlog) if isinstance(backlog, int) else float("nan")
    return float("nan")


# ----------------------------------------------------------------------------------------------- one setting


@dataclass
class Row:
    """One offered rate on one set of workers, in one round."""

    p50: float = float("nan")
    p99: float = float("nan")
    replies_per_s: float = 0.0
    unanswered: float = 0.0  # updates offered and not yet answered when the offered period ended
    outbox: float = float("nan")  # messages waiting in the outbox at that moment
    lost: int = 0  # updates without a reply within the users' patience
    workers_ms: float = float("nan")  # CPU per answered action: the workers together
    server_ms: float = float("nan")  # ... the PostgreSQL server
    stand_in_ms: float = float("nan")  # ... this process: emulator, users and proxy
    machine_busy: float = float("nan")  # share of the machine's CPU (all cores) in use meanwhile, in %
    connections: int = 0  # connections opened to the database meanwhile (a pool closing and reopening them)


@dataclass
class Setting:
    workers: int
    limited: bool  # the product's 30 messages/s (else lifted)
    rows: dict[int, Row] = field(default_factory=dict)
    peak_rss: float = 0.0  # the largest worker's VmHWM (MiB)


async def measure(workers: int, limited: bool, rates: tuple[int, ...], seconds: float, patience: float) -> Setting:
    emulator = Emulator(token=SANDBOX_TOKEN, parallel_webhook=True)
    replies = Replies(emulator)
    api = web.AppRunner(create_sandbox_app(emulator), access_log=None)
    await api.setup()
    api_port = free_port()
    await web.TCPSite(api, "127.0.0.1", api_port).start()
    proxy = RoundRobin([])  # the workers' ports, once they are started
    hook = web.Application()
    hook.router.add_post(WEBHOOK_PATH, proxy.forward)
    hook_runner = web.AppRunner(hook, access_log=None)
    await hook_runner.setup()
    hook_port = free_port()
    await web.TCPSite(hook_runner, "127.0.0.1", hook_port).start()
    hook_url = f"http://127.0.0.1:{hook_port}{WEBHOOK_PATH}"
    data = Path(tempfile.mkdtemp(prefix="e2e-pg-"))
    setting = Setting(workers, limited)
    try:
        async with fresh_database() as (url, name):
            running = webhook_workers(
                workers, f"http://127.0.0.1:{api_port}/bot", hook_url, url, data, None if limited else 0
            )
            async with running as started:
                proxy.targets = [f"http://127.0.0.1:{port}{WEBHOOK_PATH}" for port in started.ports]
                for _ in range(100):
                    if emulator.webhook_url == hook_url:
                        break
                    await asyncio.sleep(0.05)
                else:
                    raise RuntimeError("the workers did not set the webhook")
                # a few users first, so that whatever each worker loads on its first updates is not counted
                await closed_loop(emulator, replies, SCRIPT, 2 * workers, patience)
                server = ServerCpu(name)
                for rate in rates:
                    setting.rows[rate] = await offer(emulator, replies, started, server, rate, seconds, patience)
                setting.peak_rss = max(peak_rss_mib(p.pid) for p in started.processes)
    finally:
        await emulator.stop_background()
        await proxy.close()
        await hook_runner.cleanup()
        await api.cleanup()
        shutil.rmtree(data, ignore_errors=True)
    return setting


async def offer(
    emulator: Emulator,
    replies: Replies,
    workers: Workers,
    server: ServerCpu,
    rate: int,
    seconds: float,
    patience: float,
) -> Row:
    row = Row()
    given_up = {chat for chat, (_, future) in replies.waiting.items() if not future.done()}  # earlier, lost

    async def at_the_end() -> None:
        await asyncio.sleep(seconds)
        row.unanswered = sum(
            1 for chat, (_, future) in replies.waiting.items() if not future.done() and chat not in given_up
        )
        row.outbox = await outbox_backlog(workers.ports[0])

    await server.begin()
    cpu, own, machine = workers.cpu(), cpu_seconds(os.getpid()), machine_times()
    sampler = asyncio.create_task(at_the_end())
    latencies, served = await open_loop(emulator, replies, SCRIPT, rate, seconds, patience)
    busy, total = (after - before for after, before in zip(machine_times(), machine, strict=True))
    row.machine_busy = 100 * busy / total if total else float("nan")
    await sampler
    answered = max(1, sum(1 for x in latencies if x != float("inf")))
    row.workers_ms = (workers.cpu() - cpu) * 1000 / answered
    row.stand_in_ms = (cpu_seconds(os.getpid()) - own) * 1000 / answered
    server_cpu, row.connections = await server.since()
    row.server_ms = server_cpu * 1000 / answered
    row.p50, row.p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    row.replies_per_s = served
    row.lost = sum(1 for x in latencies if x == float("inf"))
    return row


# ----------------------------------------------------------------------------------------------- the table


def keeps_up(row: Row, rate: int) -> bool:
    return row.lost == 0 and row.replies_per_s >= KEEPS_UP * rate


def verdict(rows: list[Row], rate: int) -> str:
    """Every round kept up / met the goal: "yes"; none: "no"; else "k of n"."""
    up = sum(keeps_up(r, rate) for r in rows)
    goal = sum(keeps_up(r, rate) and r.p99 < GOAL_MS for r in rows)

    def count(k: int) -> str:
        return "yes" if k == len(rows) else "no" if k == 0 else f"{k} of {len(rows)}"

    return f"{count(up)} / {count(goal)}"


def cell(values: list[float], digits: int = 0) -> str:
    """min / median / max, or "—" when a round could not measure it."""
    return "—" if any(v != v for v in values) else spread(values, digits)


def table(results: dict[tuple[int, bool], list[Setting]], rates: tuple[int, ...]) -> list[str]:
    lines = [
        "| workers | outbox overall rate | offered updates/s | p50 reply (ms) | p99 reply (ms) | replies/s "
        "| unanswered when the offer ends | outbox backlog then | CPU/action: workers (ms) "
        "| CPU/action: PostgreSQL (ms) | CPU/action: stand-in + proxy (ms) | machine CPU busy (%) "
        "| connections opened | peak RSS per worker (MiB) | keeps up / p99 < 50 ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for (workers, limited), settings in sorted(results.items(), key=lambda item: (item[0][1], item[0][0])):
        for rate in rates:
            rows = [s.rows[rate] for s in settings if rate in s.rows]
            if not rows:
                continue
            lost = sum(r.lost for r in rows)
            p99 = spread([r.p99 for r in rows]) + (f" ({lost} lost)" if lost else "")
            lines.append(
                f"| {workers} | {'30/s (the product)' if limited else 'lifted'} | {rate} "
                f"| {spread([r.p50 for r in rows])} | {p99} | {cell([r.replies_per_s for r in rows], 1)} "
                f"| {cell([r.unanswered for r in rows])} | {cell([r.outbox for r in rows])} "
                f"| {cell([r.workers_ms for r in rows], 1)} | {cell([r.server_ms for r in rows], 1)} "
                f"| {cell([r.stand_in_ms for r in rows], 1)} | {cell([r.machine_busy for r in rows])} "
                f"| {cell([float(r.connections) for r in rows])} "
                f"| {cell([s.peak_rss for s in settings], 1)} "
                f"| {verdict(rows, rate)} |"
            )
    return lines


def smallest(results: dict[tuple[int, bool], list[Setting]], rate: int) -> int | None:
    """The fewest workers (overall rate lifted) that kept up at `rate` with p99 < 50 ms in every round."""
    for (workers, limited), settings in sorted(results.items()):
        rows = [s.rows[rate] for s in settings if rate in s.rows]
        if not limited and rows and all(keeps_up(r, rate) and r.p99 < GOAL_MS for r in rows):
            return workers
    return None


async def run(args: argparse.Namespace) -> dict[tuple[int, bool], list[Setting]]:
    rates = tuple(int(x) for x in args.rates.split(","))
    plan = [(int(n), False) for n in args.workers.split(",")]
    if args.limited_workers:
        plan.append((args.limited_workers, True))
    results: dict[tuple[int, bool], list[Setting]] = {}
    for round_number in range(1, args.rounds + 1):
        for workers, limited in plan:
            setting = await measure(workers, limited, rates, args.seconds, args.timeout)
            results.setdefault((workers, limited), []).append(setting)
            shown = "; ".join(
                f"{rate}/s: p50 {r.p50:.0f} ms p99 {r.p99:.0f} ms {r.replies_per_s:.1f} replies/s, "
                f"{r.unanswered:.0f} unanswered, CPU/action {r.workers_ms:.1f} + PG {r.server_ms:.1f} "
                f"+ stand-in {r.stand_in_ms:.1f} ms, {r.connections} connections opened"
                + (f", {r.lost} without a reply" if r.lost else "")
                for rate, r in setting.rows.items()
            )
            print(
                f"round {round_number} {workers} worker(s), {'30/s limit' if limited else 'no overall limit'}: "
                f"{shown}; peak RSS {setting.peak_rss:.1f} MiB",
                flush=True,
            )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workers", default="1,2,3,4", help="worker counts to run, comma-separated")
    parser.add_argument("--rates", default="20,100", help="offered updates per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of offered load per rate")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a user waits for a reply")
    parser.add_argument(
        "--limited-workers",
        type=int,
        help="also run this many workers with the product's 30 messages/s (default: the largest count; 0: not)",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 round, 1 worker, 1 s at 5 and 10/s")
    parser.add_argument("--no-readme", action="store_true", help="print only; leave bench/README.md as it is")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.workers, args.seconds, args.rates = 1, "1", 1.0, "5,10"
        args.limited_workers = 0 if args.limited_workers is None else args.limited_workers
    if args.limited_workers is None:
        args.limited_workers = max(int(n) for n in args.workers.split(","))
    load = os.getloadavg()
    version = asyncio.run(server_version())
    results = asyncio.run(run(args))
    rates = tuple(int(x) for x in args.rates.split(","))
    top = max(rates)
    fewest = smallest(results, top)
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d} on {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores shared with other work (load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} before the run, {os.getloadavg()[0]:.1f} after); "
        f"`python -m bench.e2e_pg{' --quick' if args.quick else ''}`: {args.rounds} round(s), "
        f"{args.seconds:g} s per offered rate, PostgreSQL {version} on this machine.",
        "",
        *table(results, rates),
        "",
        f"The smallest number of workers that keeps up at {top} updates/s with p99 < {GOAL_MS:.0f} ms "
        + (f"in every round is **{fewest}**." if fewest else f"is **none of {args.workers}**."),
    ]
    print("\n".join(lines))
    if not args.no_readme and not args.quick:
        write_readme(lines, MARK)
        print(f"results written to {README}")


if __name__ == "__main__":
    main()
