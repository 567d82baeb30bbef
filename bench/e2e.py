"""Benchmark: Voices 8.7 end to end, side by side with a bare bot (the floor) and the usual questionnaire bot.

Usage: python -m bench.e2e [--rounds 3] [--users 50] [--seconds 10] [--quick] [--profile] [--no-readme]
The Bot API stand-in is our emulator (`sandbox/`), served over HTTP from this process; each bot runs in its own
process and long-polls it: (a) a bare python-telegram-bot echo bot (the floor), (b) a ConversationHandler +
PicklePersistence bot of roadmap_feedback's questions (the peer; both in bench/e2e_bots.py), (c) `python -m bot
run` on SQLite with a token (production mode: no sandbox in its process). Simulated users act as in
tests/e2e: /start with the invite code, consent, an adult age band, single choices, three toggles and "Done" of
a multiple choice, one typed answer (12 actions each). Loads, each round on fresh bot processes:
- closed loop: N users at once, each acting as soon as it sees the reply to its previous action: actions/s, and
  the CPU time the bot's process used per action (/proc/PID/stat);
- open loop: updates offered at 20/s and at 100/s for S seconds (new users start when none is idle): the time
  from an update to the bot's reply (the next question, or the edited keyboard), p50 and p99; replies/s;
- the bot process's peak RSS (VmHWM).
Each figure is min/median/max of the rounds. The ratios Voices/floor and Voices/peer hold on any machine.
Voices runs twice: as shipped (the outbox keeps the bot within Telegram's 30 messages/s) and with that limit
lifted (`lifted`, through bench/e2e_voices.py), since the floor and the peer have none; the ratios compare the
lifted run. --voices-overall-rate R runs `lifted` at R messages/s instead (printed only, never written to the
README).
Prints the table and rewrites it in bench/README.md; --profile also writes bench/profiles/voices-e2e.txt
(cProfile of `python -m bot run` under the closed loop).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from config.settings import SANDBOX_TOKEN
from sandbox import Emulator, SandboxUser, create_sandbox_app

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "bench" / "README.md"
PROFILES = ROOT / "bench" / "profiles"
MARK = "<!-- e2e-bench -->"
CODE = "BENCH"
BOTS = ("floor", "peer", "voices", "lifted")
"""`lifted`: Voices with the outbox's overall limit (Telegram's 30 messages/s for the bot) lifted, as the floor and
the peer have none: the like-for-like comparison of the work per update."""
REPLIES = {"sendMessage": "send", "editMessageText": "edit"}
TICK = os.sysconf("SC_CLK_TCK")
VOICES_OVERALL_RATE: list[float] = []  # --voices-overall-rate: run Voices through bench/e2e_voices.py


@dataclass(frozen=True)
class Action:
    kind: str  # "text" or "press"
    value: str  # the text, or the label of the button to press ("" = the first button)
    expect: str  # "send": a new bot message; "edit": the pressed message edited


SCRIPT = (
    Action("text", f"/start {CODE}", "send"),
    Action("press", "", "send"),  # consent: agree
    Action("press", "25 to 34", "send"),  # age band
    Action("press", "", "send"),  # group
    Action("press", "", "send"),  # awareness
    Action("press", "#0", "edit"),  # priorities: three toggles...
    Action("press", "#1", "edit"),
    Action("press", "#2", "edit"),
    Action("press", "Done", "send"),  # ...and done
    Action("press", "", "send"),  # services_access
    Action("press", "", "send"),  # survivors_included
    Action("text", "More shelters and legal help in every district, run with survivors.", "send"),
)
# The echo bot: the same texts and presses, and every action gets a new message.
FLOOR_SCRIPT = tuple(Action(a.kind, a.value if a.kind == "text" else "", "send") for a in SCRIPT)


# ----------------------------------------------------------------------------------------------- the stand-in


class Replies:
    """Wraps the emulator's Bot API entry point: tells a waiting user when the bot replied in its chat."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.waiting: dict[int, tuple[str, asyncio.Future[int]]] = {}
        self.calls = 0
        inner = emulator.call

        async def call(method: str, params: dict[str, Any] | None = None) -> Any:
            result = await inner(method, params)
            self.calls += 1
            kind = REPLIES.get(emulator.canonical_method(method) or "")
            if kind and params is not None:
                chat = int(str(params.get("chat_id", 0)))
                wanted = self.waiting.get(chat)
                if wanted is not None and wanted[0] == kind and not wanted[1].done():
                    wanted[1].set_result(int(result["message_id"]) if isinstance(result, dict) else 0)
            return result

        emulator.call = call  # type: ignore[method-assign]

    def expect(self, chat: int, kind: str) -> asyncio.Future[int]:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.waiting[chat] = (kind, future)
        return future


@dataclass
class Walker:
    """One simulated user going through the script."""

    user: SandboxUser
    script: tuple[Action, ...]
    step: int = 0
    message_id: int = 0  # the bot message whose buttons the user presses next

    @property
    def done(self) -> bool:
        return self.step >= len(self.script)


def act(emulator: Emulator, walker: Walker) -> Action:
    action = walker.script[walker.step]
    if action.kind == "text":
        emulator.user_sends_text(walker.user, action.value)
        return action
    message = emulator.message(walker.user.id, walker.message_id)
    if message is None or not message.buttons:
        raise RuntimeError(f"step {walker.step}: no buttons to press\n{emulator.describe_chat(walker.user.id)}")
    buttons = message.buttons
    if action.value.startswith("#"):
        button = buttons[int(action.value[1:])]
    else:
        button = next((b for b in buttons if action.value and action.value in str(b["text"])), buttons[0])
    emulator.user_presses(walker.user, walker.message_id, str(button["callback_data"]))
    return action


async def one_action(emulator: Emulator, replies: Replies, walker: Walker, patience: float) -> float:
    """The walker's next action; the seconds until the bot's reply (inf: none within `patience` seconds)."""
    future = replies.expect(walker.user.id, "")
    started = time.perf_counter()
    action = act(emulator, walker)
    replies.waiting[walker.user.id] = (action.expect, future)
    try:
        message_id = await asyncio.wait_for(future, patience)
    except TimeoutError:
        walker.step = len(walker.script)  # this user gives up
        return float("inf")
    elapsed = time.perf_counter() - started
    if action.expect == "send":
        walker.message_id = message_id
    walker.step += 1
    return elapsed


# ----------------------------------------------------------------------------------------------- the bots


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def questions() -> list[dict[str, Any]]:
    """roadmap_feedback's steps in English, for the peer bot (which imports nothing of Voices)."""
    from flows.loader import shipped_library

    return [
        {
            "id": s.id,
            "type": s.type,
            "text": s.text["en"],
            "options": [{"code": o.code, "label": o.label["en"]} for o in s.options],
        }
        for s in shipped_library().latest("roadmap_feedback").steps
    ]


def voices_environment(base_url: str, data: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VOICES_", "DATABASE_"))}
    environment.update(
        {
            "TELEGRAM_BOT_TOKEN": SANDBOX_TOKEN,  # a token: production mode, the sandbox stays out of the process
            "TELEGRAM_API_BASE_URL": base_url,
            "VOICES_DATA_DIR": str(data),
            "VOICES_DASHBOARD_PORT": str(free_port()),
            "VOICES_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    return environment


async def prepare_voices(environment: dict[str, str], data: Path) -> None:
    """The schema, an admin account and the consultation, made before the run as an operator would (so the
    run measured is a worker's ordinary start, not the first start that hashes the first admin's password); in
    the environment's DATABASE_URL, else SQLite in `data`."""
    from consultations.lifecycle import ensure_consultation
    from flows.loader import shipped_library
    from storage.database import Database

    command = [sys.executable, "-m", "bot", "users", "create", "benchadmin", "--role", "admin"]
    made = await asyncio.create_subprocess_exec(
        *command, env=environment, cwd=data, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, error = await made.communicate()
    if made.returncode:
        raise RuntimeError(f"could not prepare the database: {error.decode(errors='replace')}")
    database = Database(environment.get("DATABASE_URL") or f"sqlite+aiosqlite:///{data / 'voices.db'}")
    try:
        await ensure_consultation(
            database,
            shipped_library(),
            code=CODE,
            flow_id="roadmap_feedback",
            country="KE",
            title="Benchmark",
            organisation="Benchmark",
        )
    finally:
        await database.dispose()


@contextlib.asynccontextmanager
async def bot_process(
    kind: str, base_url: str, data: Path, profile: Path | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """The bot in its own process, until it has polled the stand-in once; stopped with SIGINT."""
    if kind in ("voices", "lifted"):
        environment = voices_environment(base_url, data)
        await prepare_voices(environment, data)
        profiled = ["-m", "cProfile", "-o", str(profile)] if profile else []
        command = [sys.executable, *profiled, "-m", "bot", "run"]
        if kind == "lifted":
            rate = VOICES_OVERALL_RATE[0] if VOICES_OVERALL_RATE else 0.0
            command = [sys.executable, *profiled, "-m", "bench.e2e_voices", f"{rate:g}"]
    else:
        environment = {**os.environ, "PYTHONPATH": str(ROOT)}
        (data / "questions.json").write_text(json.dumps(questions()), encoding="utf-8")
        command = [sys.executable, "-m", "bench.e2e_bots", kind, "--base-url", base_url, "--data", str(data)]
        command += ["--token", SANDBOX_TOKEN]
    log = data / f"{kind}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=data, env=environment, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


async def wait_polling(emulator: Emulator, process: asyncio.subprocess.Process, log: Path) -> None:
    for _ in range(600):
        if emulator.waiting("getUpdates"):
            return
        if process.returncode is not None:
            raise RuntimeError(f"the bot exited early:\n{tail(log)}")
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the bot did not poll within 30 s:\n{tail(log)}")


# ----------------------------------------------------------------------------------------------- the loads


@dataclass
class Figures:
    actions_per_s: float = 0.0
    cpu_ms_per_action: float = 0.0
    stand_in_ms_per_action: float = 0.0  # this process: the emulator and the simulated users
    open: dict[int, tuple[float, float, float]] = field(default_factory=dict)  # rate -> p50 ms, p99 ms, replies/s
    peak_rss: float = 0.0
    failed: int = 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def closed_loop(
    emulator: Emulator, replies: Replies, script: tuple[Action, ...], users: int, patience: float
) -> tuple[int, float, int]:
    """Every user acts as soon as it has its reply: (actions done, seconds, actions without a reply)."""
    walkers = [Walker(emulator.new_user(f"U{i}"), script) for i in range(users)]
    failed = 0

    async def run(walker: Walker) -> int:
        lost = 0
        while not walker.done:
            if await one_action(emulator, replies, walker, patience) == float("inf"):
                lost += 1
        return lost

    started = time.perf_counter()
    failed = sum(await asyncio.gather(*(run(w) for w in walkers)))
    return users * len(script) - failed, time.perf_counter() - started, failed


async def open_loop(
    emulator: Emulator, replies: Replies, script: tuple[Action, ...], rate: int, seconds: float, patience: float
) -> tuple[list[float], float]:
    """Updates offered at `rate` per second for `seconds` (an idle user acts; a new one starts when none is
    idle): every update's reply time (inf: none within `patience` seconds), and the replies per second."""
    idle: list[Walker] = []
    latencies: list[float] = []
    tasks: set[asyncio.Task[None]] = set()
    made = 0

    async def run(walker: Walker) -> None:
        latencies.append(await one_action(emulator, replies, walker, patience))
        if not walker.done:
            idle.append(walker)

    loop = asyncio.get_running_loop()
    started = loop.time()
    count = int(rate * seconds)
    for index in range(count):
        delay = started + index / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if idle:
            walker = idle.pop(random.randrange(len(idle)))
        else:
            walker = Walker(emulator.new_user(f"O{made}"), script)
            made += 1
        task = asyncio.create_task(run(walker))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    elapsed = loop.time() - started
    return latencies, sum(1 for x in latencies if x != float("inf")) / elapsed


async def measure_bot(
    kind: str, users: int, seconds: float, rates: tuple[int, ...], patience: float, profile: Path | None = None
) -> Figures:
    emulator = Emulator(token=SANDBOX_TOKEN)
    replies = Replies(emulator)
    runner = web.AppRunner(create_sandbox_app(emulator), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    data = Path(tempfile.mkdtemp(prefix=f"e2e-{kind}-"))
    figures = Figures()
    script = FLOOR_SCRIPT if kind == "floor" else SCRIPT
    try:
        async with bot_process(kind, f"http://127.0.0.1:{port}/bot", data, profile) as process:
            await wait_polling(emulator, process, data / f"{kind}.log")
            # one user first, so that whatever is loaded on the first update is not counted as load
            await closed_loop(emulator, replies, script, 1, patience)
            cpu, own = cpu_seconds(process.pid), cpu_seconds(os.getpid())
            done, elapsed, failed = await closed_loop(emulator, replies, script, users, patience)
            figures.actions_per_s = done / elapsed
            figures.cpu_ms_per_action = (cpu_seconds(process.pid) - cpu) * 1000 / max(done, 1)
            figures.stand_in_ms_per_action = (cpu_seconds(os.getpid()) - own) * 1000 / max(done, 1)
            figures.failed += failed
            if profile is None:
                for rate in rates:
                    latencies, served = await open_loop(emulator, replies, script, rate, seconds, patience)
                    figures.open[rate] = (percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000, served)
                    figures.failed += sum(1 for x in latencies if x == float("inf"))
            figures.peak_rss = peak_rss_mib(process.pid)
    finally:
        await emulator.stop_background()
        await runner.cleanup()
        shutil.rmtree(data, ignore_errors=True)
    return figures


# ----------------------------------------------------------------------------------------------- the table


def spread(values: list[float], digits: int = 0) -> str:
    finite = [v for v in values if v == v and v != float("inf")]
    if len(finite) < len(values):
        return "> timeout"
    low, mid, high = min(values), statistics.median(values), max(values)
    if len(values) == 1:
        return f"{mid:,.{digits}f}"
    return f"{low:,.{digits}f} / {mid:,.{digits}f} / {high:,.{digits}f}"


def ratio(voices: list[float], other: list[float], digits: int = 2) -> str:
    a, b = statistics.median(voices), statistics.median(other)
    return f"{a / b:.{digits}f}×" if b and a == a and b == b and float("inf") not in (a, b) else "—"


def table(results: dict[str, list[Figures]], rates: tuple[int, ...]) -> list[str]:
    def column(get: Callable[[Figures], float]) -> dict[str, list[float]]:
        return {kind: [get(f) for f in results[kind]] for kind in BOTS}

    rows: list[tuple[str, dict[str, list[float]], int]] = [
        ("closed loop: actions/s", column(lambda f: f.actions_per_s), 1),
        ("CPU per action, bot process (ms)", column(lambda f: f.cpu_ms_per_action), 1),
        ("CPU per action, stand-in + users process (ms)", column(lambda f: f.stand_in_ms_per_action), 1),
    ]
    for rate in rates:
        for index, label, digits in ((0, "p50 reply (ms)", 0), (1, "p99 reply (ms)", 0), (2, "replies/s", 1)):
            values = {kind: [f.open[rate][index] for f in results[kind]] for kind in BOTS}
            rows.append((f"offered {rate}/s: {label}", values, digits))
    rows.append(("peak RSS, bot process (MiB)", column(lambda f: f.peak_rss), 1))
    lines = [
        "| figure (min / median / max) | floor: PTB echo bot | peer: ConversationHandler + PicklePersistence "
        "| Voices 8.7 (`python -m bot run`, SQLite), as shipped: 30 messages/s | Voices 8.7, that limit lifted "
        "| lifted / floor | lifted / peer |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, values, digits in rows:
        lines.append(
            f"| {name} | {spread(values['floor'], digits)} | {spread(values['peer'], digits)} "
            f"| {spread(values['voices'], digits)} | {spread(values['lifted'], digits)} "
            f"| {ratio(values['lifted'], values['floor'])} | {ratio(values['lifted'], values['peer'])} |"
        )
    return lines


def write_readme(lines: list[str], mark: str = MARK) -> None:
    """Rewrite the table between the two `mark` lines of bench/README.md (added at the end when missing)."""
    text = README.read_text(encoding="utf-8")
    if mark not in text:
        text += f"\n{mark}\n{mark}\n"
    before, _, rest = text.partition(mark)
    _, _, after = rest.partition(mark)
    README.write_text(before + "\n".join([mark, *lines, mark]) + after, encoding="utf-8")


def write_profile(path: Path, target: Path, top: int = 40) -> None:
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    target.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "cProfile of `python -m bot run` (SQLite, production mode, the overall limit lifted) under the closed loop "
        f"of bench/e2e.py, {datetime.now(UTC):%Y-%m-%d}; top {top} by cumulative time, then by own time.\n"
    )
    target.write_text(header + out.getvalue().replace(str(ROOT) + "/", ""), encoding="utf-8")


async def run(args: argparse.Namespace) -> dict[str, list[Figures]]:
    rates = tuple(int(x) for x in args.rates.split(","))
    results: dict[str, list[Figures]] = {kind: [] for kind in BOTS}
    for round_number in range(1, args.rounds + 1):
        for kind in args.bots.split(","):
            figures = await measure_bot(kind, args.users, args.seconds, rates, args.timeout)
            results[kind].append(figures)
            opened = ", ".join(
                f"{r}/s: p50 {a:.0f} ms p99 {b:.0f} ms {c:.1f} replies/s" for r, (a, b, c) in figures.open.items()
            )
            print(
                f"round {round_number} {kind:>6}: {figures.actions_per_s:6.1f} actions/s, "
                f"{figures.cpu_ms_per_action:5.1f} ms CPU/action (stand-in {figures.stand_in_ms_per_action:.1f} ms); "
                f"{opened}; peak RSS {figures.peak_rss:.1f} MiB"
                + (f"; {figures.failed} without a reply" if figures.failed else ""),
                flush=True,
            )
    if args.profile:
        with tempfile.TemporaryDirectory() as directory:
            profile = Path(directory) / "voices.prof"
            await measure_bot("lifted", args.users, args.seconds, rates, args.timeout, profile)
            write_profile(profile, PROFILES / "voices-e2e.txt")
        print(f"profile written to {PROFILES / 'voices-e2e.txt'}")
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=50, help="closed loop: users acting at once")
    parser.add_argument("--seconds", type=float, default=10.0, help="open loop: seconds of offered load per rate")
    parser.add_argument("--rates", default="20,100", help="open loop: offered updates per second, comma-separated")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a user waits for a reply")
    parser.add_argument("--bots", default=",".join(BOTS), help="which of floor,peer,voices,lifted to run")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 round, 3 users, 1 s at 5 and 10/s")
    parser.add_argument("--profile", action="store_true", help="also profile Voices (bench/profiles/voices-e2e.txt)")
    parser.add_argument("--no-readme", action="store_true", help="print only; leave bench/README.md as it is")
    parser.add_argument(
        "--voices-overall-rate",
        type=float,
        help="experiment: the `lifted` column at this overall rate instead of none; implies --no-readme",
    )
    args = parser.parse_args(argv)
    if args.voices_overall_rate is not None:
        VOICES_OVERALL_RATE.append(args.voices_overall_rate)
        args.no_readme = True
    if args.quick:
        args.rounds, args.users, args.seconds, args.rates = 1, 3, 1.0, "5,10"
    results = asyncio.run(run(args))
    if any(not results[kind] for kind in BOTS):
        return
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d} on {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores shared with other work; `python -m bench.e2e"
        f"{' --quick' if args.quick else ''}`: {args.rounds} round(s), closed loop {args.users} users × "
        f"{len(SCRIPT)} actions, open loop {args.seconds:g} s per rate.",
        "",
        *table(results, tuple(int(x) for x in args.rates.split(","))),
    ]
    print("\n".join(lines))
    if not args.no_readme and not args.quick:
        write_readme(lines)
        print(f"results written to {README}")


if __name__ == "__main__":
    main()
