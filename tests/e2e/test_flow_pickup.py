"""A flow written while the bot runs (by hand or by `flows import`) is taken by the running bot as soon as a
consultation on it is opened: no restart, no "flow … is not available"."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from flows.loader import DEFINITIONS_DIR, FlowLibrary
from storage import repository as repo
from tests.e2e.conftest import Harness
from tests.flows.test_loader import MINIMAL


async def test_a_flow_created_while_running_is_picked_up(harness: Harness, tmp_path: Path) -> None:
    h = harness
    directory = tmp_path / "definitions"
    directory.mkdir()
    shutil.copy(DEFINITIONS_DIR / "roadmap_feedback.yaml", directory)
    h.library = FlowLibrary.from_directory(directory)
    await h.restart_bot()
    (directory / "mini.yaml").write_text(yaml.safe_dump(MINIMAL, allow_unicode=True), encoding="utf-8")
    async with h.database.transaction() as session:
        await repo.create_consultation(
            session,
            code="NEWFLOW1",
            title="Created while running",
            country="KE",
            flow_id="mini",
            flow_version=1,
            languages=["en", "fr"],
            default_language="en",
        )
    user = h.user("Imani")
    [consent] = await h.send(user, "/start NEWFLOW1")
    assert consent.text is not None and consent.text.endswith("Agree?")
    [question] = await h.press(user, consent, str(consent.buttons[0]["text"]))
    assert question.text == "Colour?"
