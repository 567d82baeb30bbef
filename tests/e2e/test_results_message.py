"""The results message through the outbox (issue 12): `python -m bot notify` (a real subprocess) only queues it;
the running bot (the real PTB Application and its outbox sender against the emulator) delivers it, within the
rate shared by the workers, through a Bot API failing for a while. The opt-ins are gone once queued, and the
database never holds the chat id or the text in clear, neither while the rows wait nor after."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect, text
from sqlmodel import select

from bot.telegram import outbox_sender
from sandbox import SandboxUser
from sandbox.faults import ServerError
from storage.models import OutboxMessage, ResultsOptIn
from tests.e2e.conftest import CODE, Harness, sqlite_files

ROOT = Path(__file__).resolve().parents[2]
MESSAGE = "Quokkaresults: the roadmap summary is out, send /results"
CANARY_IDS = (771234509, 882345610)


def notify(h: Harness, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot notify CODE ...` as an operator runs it, on the harness's database and keys."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VOICES_", "DATABASE_"))}
    environment.update(
        {
            "DATABASE_URL": h.database.url,
            "VOICES_DATA_DIR": str(tmp_path / "data"),
            "VOICES_PEPPER": h.secrets.pepper.decode(),
            "VOICES_DATA_KEYS": ",".join(f"{kid}:{base64.b64encode(key).decode()}" for kid, key in h.secrets.keys),
            "PYTHONPATH": str(ROOT),
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", "notify", CODE, *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def opt_in(h: Harness, person: SandboxUser) -> None:
    [consent] = await h.send(person, f"/start {CODE}")
    msg = await h.agree(person, consent)
    for _ in range(6):
        [msg] = await h.press(person, msg, "Skip")
    await h.press(person, msg, "Tell me when the results are out")


async def database_text(h: Harness) -> tuple[str, bytes]:
    """Every row of every table, as text, and the bytes of the database files (WAL included)."""
    async with h.database.engine.connect() as connection:
        names = await connection.run_sync(lambda c: inspect(c).get_table_names())
        dump = [repr((await connection.execute(text(f'SELECT * FROM "{name}"'))).all()) for name in names]
    return "\n".join(dump), b"".join(p.read_bytes() for p in sqlite_files(h.database))


def assert_nothing_in_clear(everything: str, blob: bytes) -> None:
    for secret in (*(str(i) for i in CANARY_IDS), "Quokkaresults"):
        assert secret not in everything, f"{secret!r} in a table"
        assert secret.encode() not in blob, f"{secret!r} in the database file"


async def test_notify_queues_and_the_running_bot_delivers_through_5xx(harness: Harness, tmp_path: Path) -> None:
    h = harness
    people = [h.emulator.new_user(f"Person{i}", language_code="en", user_id=uid) for i, uid in enumerate(CANARY_IDS)]
    silent = h.user("Silent")
    for person in people:
        await opt_in(h, person)
    [consent] = await h.send(silent, f"/start {CODE}")
    await h.agree(silent, consent)
    before = {p.id: len(h.emulator.bot_messages(p.id)) for p in (*people, silent)}

    counted = await asyncio.to_thread(notify, h, tmp_path, "--message", MESSAGE, "--dry-run")
    assert counted.returncode == 0, counted.stderr
    assert "would be queued for 2 participant(s)" in counted.stdout

    await h.stop_bot()  # no bot worker runs: the command queues, the rows wait
    queued = await asyncio.to_thread(notify, h, tmp_path, "--message", MESSAGE)
    assert queued.returncode == 0, queued.stderr
    assert "queued for 2 participant(s)" in queued.stdout and "running bot" in queued.stdout
    async with h.database.reader() as session:
        assert (await session.exec(select(ResultsOptIn))).all() == []  # forgotten with their rows written
        rows = (await session.exec(select(OutboxMessage))).all()
    assert len(rows) == 2 and all(r.state == "pending" and r.payload_cipher for r in rows)
    assert all(len(r.chat_key) == 64 for r in rows)  # ordered under the pseudonym, nobody's id
    assert_nothing_in_clear(*await database_text(h))
    assert all(len(h.emulator.bot_messages(p.id)) == before[p.id] for p in people)  # nothing sent by the command

    h.emulator.faults.fail("sendMessage", ServerError(502), for_seconds=2)
    await h.start_bot()
    for person in people:
        [notice] = await h.emulator.wait_for_bot_messages(person.id, 1, timeout=30)
        assert notice.text == MESSAGE and notice.protect_content
    assert any(f.method.lower() == "sendmessage" for f in h.emulator.faults.injected), "the fault did not apply"
    assert h.application is not None
    await outbox_sender(h.application).drain()
    for person in people:  # once each, despite the retries
        assert [m.text for m in h.emulator.bot_messages(person.id)].count(MESSAGE) == 1
    assert len(h.emulator.bot_messages(silent.id)) == before[silent.id]

    again = await asyncio.to_thread(notify, h, tmp_path, "--message", MESSAGE)
    assert again.returncode == 0 and "queued for 0 participant(s)" in again.stdout
    await h.stop_bot()
    assert_nothing_in_clear(*await database_text(h))
