"""A production worker (`python -m bot run` with a token) imports what the run needs, not the importer, the
sandbox, the auditor's scipy or the renderers, nor alembic when the schema is already at the head: they cost
tens of MB of memory in every worker."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

from aiohttp.test_utils import TestServer

from config.settings import SANDBOX_TOKEN
from sandbox import Emulator, create_sandbox_app

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "alembic",  # the schema is at the head: nothing to migrate
    "mako",
    "scipy",
    "numpy",
    "pyxform",
    "openpyxl",
    "weasyprint",
    "yake",
    "tqdm",
    "sandbox",
    "flows.xlsform",
    "summaries.audit",
    "summaries.render",
    "summaries.readers",
)
DUMP = """
import atexit, runpy, sys
path = sys.argv[1]
atexit.register(lambda: open(path, "w").write("\\n".join(sorted(sys.modules))))
sys.argv = ["bot", "run"]
runpy.run_module("bot", run_name="__main__")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_production_run_leaves_the_heavy_modules_out(tmp_path: Path) -> None:
    emulator = Emulator(token=SANDBOX_TOKEN)
    server = TestServer(create_sandbox_app(emulator), host="127.0.0.1")
    await server.start_server()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VOICES_", "DATABASE_"))}
    environment.update(
        {
            "TELEGRAM_BOT_TOKEN": SANDBOX_TOKEN,
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{server.port}/bot",
            "VOICES_DATA_DIR": str(tmp_path / "data"),
            "VOICES_DASHBOARD_PORT": str(free_port()),
            "PYTHONPATH": str(ROOT),
        }
    )
    upgraded = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "db", "upgrade", cwd=tmp_path, env=environment, stdout=asyncio.subprocess.DEVNULL
    )
    assert await upgraded.wait() == 0
    modules = tmp_path / "modules.txt"
    log = tmp_path / "run.log"
    try:
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-c", DUMP, str(modules), cwd=tmp_path, env=environment, stdout=out, stderr=out
            )
        for _ in range(400):  # a real process starting: real time
            if emulator.waiting("getUpdates") or process.returncode is not None:
                break
            await asyncio.sleep(0.05)
        assert process.returncode is None, log.read_text()
        assert emulator.waiting("getUpdates"), f"the run never polled:\n{log.read_text()}"
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 30) == 0, log.read_text()
    finally:
        await emulator.stop_background()
        await server.close()
    loaded = set(modules.read_text().split())
    assert {"telegram", "sqlalchemy", "bot.runners", "dashboard.app"} <= loaded  # it did run
    found = sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert found == [], f"a production run imported {found[:10]}"
