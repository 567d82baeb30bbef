"""Every corpus XLSForm that imports, answered through the real bot and the Bot API emulator with random (seeded)
answers: buttons, typed text, out-of-range and 400-digit numbers, stickers, /skip, /back, and more after the
end. No reply may ever be the apology ("Sorry, something went wrong"): a questionnaire never fails mid-way."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from config.errors import FlowError
from config.i18n import t
from flows.loader import FlowLibrary, parse_flow
from flows.schema import FlowDefinition
from sandbox import SandboxMessage, SandboxUser
from storage import repository as repo
from tests.e2e.conftest import Harness

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "xlsforms"
if not CORPUS.is_dir():
    pytest.skip(f"the XLSForm corpus is not here ({CORPUS}); CI always has it", allow_module_level=True)

PYXFORM_REJECTS = {"cht__person-create.xlsx", "unicef_liberia__liberiaCoverage.xlsx"}
FORMS = sorted(
    p.name for p in CORPUS.iterdir() if p.suffix in (".xlsx", ".xls", ".csv", ".md") and p.name not in PYXFORM_REJECTS
)
CODE = "RANDOM01"
INPUTS = 20
APOLOGY = t(
    "en",
    "Sorry, something went wrong on our side. Your answers so far are safe. "
    "Please try again in a moment, or send /start to continue.",
)
TEXTS = ["Better labour inspection", "9" * 400, "-5", "1e400", "12,5", "2020-02-30", "2001-05-17", "x" * 4000, "٣"]
COMMANDS = ["/skip", "/back", "/skip", "/start", "/pause", "/resume"]


def imported(name: str, audience: str) -> FlowDefinition:
    from flows.xlsform import import_xlsform

    try:
        result = import_xlsform(CORPUS / name, audience=audience)
    except FlowError:
        result = import_xlsform(CORPUS / name, audience=audience, skip_unsupported=True)
    return parse_flow(result.document, name)


def replied(h: Harness, user: SandboxUser, since: int) -> bool:
    """A bot message sent, edited or deleted, or a button press answered, after `since`."""
    return any(m.from_bot and m.seq > since for m in h.emulator.history(user.id)) or any(
        a.user_id == user.id and a.seq > since for a in h.emulator.callback_answers
    )


async def settle(h: Harness, user: SandboxUser, since: int) -> None:
    """Wait until the bot has answered the last input and has been quiet for a moment."""
    await h.emulator.wait_until(lambda: replied(h, user, since), 10.0, chat_id=user.id, description="a reply")
    quiet = 0
    while quiet < 2:
        before = h.emulator.seq
        await asyncio.sleep(0.04)
        quiet = quiet + 1 if h.emulator.seq == before else 0


def with_buttons(h: Harness, user: SandboxUser) -> SandboxMessage | None:
    shown = [m for m in h.emulator.bot_messages(user.id) if m.callback_data and not m.deleted]
    return shown[-1] if shown else None


async def answer_randomly(h: Harness, user: SandboxUser, rng: random.Random) -> None:
    since = h.emulator.seq
    message = with_buttons(h, user)
    roll = rng.random()
    if message is not None and roll < 0.55:
        choices = [data for data in message.callback_data if not data.endswith(".x")]  # not "Exit and clear chat"
        h.emulator.user_presses(user, message.message_id, rng.choice(choices or message.callback_data))
    elif roll < 0.8:
        h.emulator.user_sends_text(user, rng.choice(TEXTS))
    elif roll < 0.95:
        h.emulator.user_sends_text(user, rng.choice(COMMANDS))
    else:
        h.emulator.user_sends(user, "sticker")
    await settle(h, user, since)


@pytest.mark.parametrize("name", FORMS)
async def test_random_answers_through_the_bot_never_get_the_apology(harness: Harness, name: str) -> None:
    h = harness
    audience = "survivor" if FORMS.index(name) % 2 else "cso"
    flow = imported(name, audience)
    h.library = FlowLibrary([flow])
    await h.restart_bot()
    async with h.database.transaction() as session:
        await repo.create_consultation(
            session,
            code=CODE,
            title=f"Random {name}",
            country="KE",
            flow_id=flow.id,
            flow_version=flow.version,
            languages=list(flow.languages),
            default_language=flow.default_language,
        )
    rng = random.Random(f"{name}:{audience}")
    user = h.user("Imani", language="en")
    since = h.emulator.seq
    h.emulator.user_sends_text(user, f"/start {CODE}")
    await settle(h, user, since)
    consent = with_buttons(h, user)
    assert consent is not None
    since = h.emulator.seq
    h.emulator.user_presses(user, consent.message_id, consent.callback_data[0])  # I agree
    await settle(h, user, since)
    for _ in range(INPUTS):
        await answer_randomly(h, user, rng)
    apologies = [m for m in h.emulator.bot_messages(user.id, include_deleted=True) if m.text == APOLOGY]
    assert not apologies, h.emulator.describe_chat(user.id)
