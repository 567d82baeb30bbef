"""Update ids and message ids that never repeat, not even across restarts of the sandbox.

The bot remembers the update ids it has processed (a repeat is dropped as a duplicate) and the message ids it
must delete on a safe exit. A restarted emulator that counted from 1 again would make the bot silent and could
make it delete the wrong messages. So, given a file, the counters reserve ids in blocks: before an id beyond
the reserved block is handed out, the new end of the block is written to the file (atomically: a temporary
file, fsync, rename). A restarted emulator, even after a crash, starts after the last reserved block.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sandbox.models import SandboxError

COUNTERS_FILE = "sandbox-counters.json"
_VERSION = 1


class IdCounters:
    """Hands out update ids, and the first message id of each new chat; persisted in ``path`` when given."""

    def __init__(self, path: Path | None = None, *, block: int = 1000) -> None:
        if block < 1:
            raise ValueError("block must be at least 1")
        self.path = path
        self.block = block
        self._next_update_id = 1
        self._message_floor = 1
        if path is not None and path.exists():
            self._next_update_id, self._message_floor = _read(path)
        # Everything below the floors may have been used by an earlier run; nothing at or above them was.
        self._update_ceiling = self._next_update_id
        self._message_ceiling = self._message_floor

    @property
    def message_floor(self) -> int:
        """The first message id of a chat opened now (1 on a first run; beyond every earlier run's ids)."""
        return self._message_floor

    @property
    def upcoming_update_id(self) -> int:
        """The id the next update will get; every lower one has been used (in this run or an earlier one)."""
        return self._next_update_id

    def next_update_id(self) -> int:
        """A fresh update id."""
        update_id = self._next_update_id
        self.saw_update_id(update_id)
        return update_id

    def saw_update_id(self, update_id: int) -> None:
        """An update id was used (handed out, or given explicitly by a test): later ones are higher."""
        self._next_update_id = max(self._next_update_id, update_id + 1)
        if update_id >= self._update_ceiling:
            self._update_ceiling = update_id + self.block
            self._save()

    def saw_message_id(self, message_id: int) -> None:
        """A message id was used in some chat: no chat of a later run starts at or below it."""
        if message_id >= self._message_ceiling:
            self._message_ceiling = message_id + self.block
            self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        body = {"version": _VERSION, "next_update_id": self._update_ceiling, "next_message_id": self._message_ceiling}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = self.path.with_name(self.path.name + ".new")
        with fresh.open("w", encoding="utf-8") as handle:
            json.dump(body, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(fresh, self.path)  # atomic: the file always holds one complete reservation


def _read(path: Path) -> tuple[int, int]:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        update_id, message_id = body["next_update_id"], body["next_message_id"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SandboxError(
            f"sandbox: cannot read its id counters in {path} ({type(exc).__name__}); restore the file, or delete it "
            "together with the sandbox's database (the bot would otherwise take new updates for old ones)"
        ) from None
    if not all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in (update_id, message_id)):
        raise SandboxError(f"sandbox: the id counters in {path} are not positive integers")
    return update_id, message_id
