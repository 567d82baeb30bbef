"""Erased data does not linger on disk: after /delete (and retention) the SQLite file and its write-ahead log
hold no copy of the pseudonym or the written answer, and the files are private to their owner."""

from __future__ import annotations

from bot.telegram import outbox_sender
from storage.privacy import pseudonym
from tests.e2e.conftest import CODE, Harness, sqlite_files


async def test_after_delete_no_copy_of_the_person_is_left_in_the_database_files(harness: Harness) -> None:
    """Issue 10.12: the pseudonym was still in the database file and its WAL (16 hits) until a checkpoint."""
    h = harness
    user = h.user()
    [consent] = await h.send(user, f"/start {CODE}")
    group = await h.agree(user, consent)
    await h.press(user, group, "Other")
    key = pseudonym(h.secrets.pepper, user.id).encode()
    assert any(key in p.read_bytes() for p in sqlite_files(h.database))  # it is there while they take part
    [question] = await h.send(user, "/delete")
    [done] = await h.press(user, question, "Yes, delete everything")
    assert done.text and done.text.startswith("Done.")
    assert h.application is not None
    await outbox_sender(h.application).drain()  # "Done." was sent: its outbox row is gone, and scrubbed
    hits = {p.name: p.read_bytes().count(key) for p in sqlite_files(h.database)}
    assert sum(hits.values()) == 0, hits


async def test_database_files_are_private_to_their_owner(harness: Harness) -> None:
    h = harness
    user = h.user()
    await h.send(user, f"/start {CODE}")
    files = sqlite_files(h.database)
    assert files and all(p.stat().st_mode & 0o777 == 0o600 for p in files), [
        (p.name, oct(p.stat().st_mode & 0o777)) for p in files
    ]
