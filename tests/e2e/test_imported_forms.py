"""Every corpus XLSForm that imports (with --skip-unsupported where needed) is answered to the end through the
real bot and the Bot API emulator: the first option, OK, a typed answer or Skip on each question."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlmodel import select

from bot.callback_data import decode
from config.errors import FlowError
from consultations.interactions import Answer as StepChoice
from flows.loader import FlowLibrary, parse_flow
from flows.schema import FlowDefinition
from sandbox import SandboxMessage, SandboxUser
from storage import repository as repo
from storage.models import Answer, ConversationSession
from tests.e2e.conftest import Harness

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "xlsforms"
if not CORPUS.is_dir():
    pytest.skip(f"the XLSForm corpus is not here ({CORPUS}); CI always has it", allow_module_level=True)

PYXFORM_REJECTS = {"cht__person-create.xlsx", "unicef_liberia__liberiaCoverage.xlsx"}
FORMS = sorted(
    p.name for p in CORPUS.iterdir() if p.suffix in (".xlsx", ".xls", ".csv", ".md") and p.name not in PYXFORM_REJECTS
)
CODE = "XLSFORM1"
TYPED = {
    "free_text": ["Better labour inspection", "Betterlabourinspection", "1234567890"],
    "integer": ["5", "20", "1", "0"],
    "decimal": ["5", "20", "1", "0"],
    "date": ["2020-01-15", "2000-01-01"],
}


def imported(name: str) -> FlowDefinition:
    from flows.xlsform import import_xlsform

    try:
        result = import_xlsform(CORPUS / name)
    except FlowError:
        result = import_xlsform(CORPUS / name, skip_unsupported=True)
    return parse_flow(result.document, name)


async def session_row(h: Harness) -> ConversationSession | None:
    async with h.database.reader() as session:
        return (await session.exec(select(ConversationSession))).first()


async def settle(h: Harness, user: SandboxUser, before: int) -> SandboxMessage:
    """Wait for the bot's reply (notes and sections come as several messages) and return its last message."""
    await h.emulator.wait_until(lambda: len(h.emulator.bot_messages(user.id)) > before, 10.0, chat_id=user.id)
    count = -1
    while count != len(h.emulator.bot_messages(user.id)):
        count = len(h.emulator.bot_messages(user.id))
        await asyncio.sleep(0.1)
    last = h.emulator.last_bot_message(user.id)
    assert last is not None
    return last


def tokens(message: SandboxMessage) -> dict[str, str]:
    """Button token (of a flow step's choice) -> callback data."""
    return {action.token: data for data in message.callback_data if isinstance(action := decode(data), StepChoice)}


async def walk(h: Harness, user: SandboxUser, flow: FlowDefinition) -> list[str]:
    """Answer every question until the flow completes; return the step ids that waited for an answer."""
    steps = {step.id: step for step in flow.steps}
    message = await settle(h, user, 0)
    before = len(h.emulator.bot_messages(user.id))
    h.emulator.user_presses(user, message.message_id, message.callback_data[0])  # I agree
    message = await settle(h, user, before)
    visited: list[str] = []
    attempts = 0
    while True:
        row = await session_row(h)
        assert row is not None
        if row.status == "completed":
            return visited
        assert row.status == "active", (row.status, h.emulator.describe_chat(user.id))
        step = steps[row.state]
        attempts = attempts + 1 if visited and visited[-1] == step.id else 0
        assert attempts < 6, f"stuck on {step.id}: {h.emulator.describe_chat(user.id)}"
        if not visited or visited[-1] != step.id:
            visited.append(step.id)
        before = len(h.emulator.bot_messages(user.id))
        buttons = tokens(message)
        # an option's token is its index; a multiple choice's says "t" (tick it) or "u" (untick it) first
        options = [data for token, data in buttons.items() if token.lstrip("tu").isdigit()]
        typed = TYPED.get(step.type)
        if typed is not None and attempts < len(typed):
            h.emulator.user_sends_text(user, typed[attempts])
        elif step.type == "multiple_choice" and options and attempts == 0:
            h.emulator.user_presses(user, message.message_id, options[0])
            await h.emulator.wait_until(
                lambda m=message: "✅" in str(getattr(h.emulator.message(user.id, m.message_id), "buttons", "")),  # type: ignore[misc]
                10.0,
                chat_id=user.id,
            )
            h.emulator.user_presses(user, message.message_id, buttons["d"])
        elif options and attempts == 0:
            h.emulator.user_presses(user, message.message_id, options[0])
        elif "s" in buttons:
            h.emulator.user_presses(user, message.message_id, buttons["s"])
        else:
            assert message.callback_data, f"no way on from {step.id}: {h.emulator.describe_chat(user.id)}"
            h.emulator.user_presses(user, message.message_id, message.callback_data[0])
        message = await settle(h, user, before)


@pytest.mark.parametrize("name", FORMS)
async def test_imported_corpus_form_runs_to_completion(harness: Harness, name: str) -> None:
    h = harness
    flow = imported(name)
    h.library = FlowLibrary([flow])
    await h.restart_bot()
    async with h.database.transaction() as session:
        await repo.create_consultation(
            session,
            code=CODE,
            title=f"Imported {name}",
            country="KE",
            flow_id=flow.id,
            flow_version=flow.version,
            languages=list(flow.languages),
            default_language=flow.default_language,
        )
    user = h.user("Imani", language=flow.default_language.split("_")[0])
    h.emulator.user_sends_text(user, f"/start {CODE}")
    visited = await walk(h, user, flow)
    questions = [s.id for s in flow.steps if s.type not in ("consent", "note", "section", "calculate", "end")]
    assert visited and set(visited) <= set(questions)
    async with h.database.reader() as session:
        answered = {a.question_id for a in (await session.exec(select(Answer))).all()}
    assert set(visited) <= answered | {"consent"}
    last = h.emulator.last_bot_message(user.id)
    assert last is not None and last.text == flow.steps[-1].text[flow.default_language]
