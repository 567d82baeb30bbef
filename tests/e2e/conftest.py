"""End-to-end harness: the real python-telegram-bot Application talking HTTP to our Bot API emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from bot.intake import Poller
from bot.telegram import BotApplication, build_application
from config.help_resources import HelpResources
from config.settings import SANDBOX_TOKEN, Secrets
from consultations.service import ConversationService
from flows.loader import FlowLibrary, shipped_library
from sandbox import Emulator, SandboxMessage, SandboxUser, create_sandbox_app
from storage import repository as repo
from storage.database import Database
from summaries.results import results_text

CODE = "E2ETEST1"
ADULT_BAND = {"en": "25 to 34", "fr": "25 à 34 ans"}
EXIT_LABEL = {"en": "Exit and clear chat", "fr": "Quitter et effacer la discussion"}


@dataclass
class Harness:
    emulator: Emulator
    server: TestServer
    database: Database
    secrets: Secrets
    library: FlowLibrary = field(default_factory=shipped_library)
    application: BotApplication | None = None
    help_resources: HelpResources | None = None
    retry_delays: tuple[float, ...] = (0.05, 0.1, 0.2)
    max_updates_in_flight: int = 16
    polling: asyncio.Task[None] | None = None
    stop_polling: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/bot"

    async def start_bot(self) -> None:
        service = ConversationService(
            self.database,
            self.library,
            self.secrets,
            max_text_length=2000,
            help_resources=self.help_resources,
            results=results_text,
            delivery_reports=True,
        )
        self.application = build_application(
            service, token=SANDBOX_TOKEN, base_url=self.base_url, max_updates_in_flight=self.max_updates_in_flight
        )
        await self.application.initialize()
        await self.application.start()
        # The product's own polling loop (bot.intake.Poller), as `python -m bot run` polls.
        self.stop_polling = asyncio.Event()
        poller = Poller(self.application, timeout=1, retry_delays=self.retry_delays)
        self.polling = asyncio.create_task(poller.run(self.stop_polling))

    async def stop_bot(self) -> None:
        if self.application is None:
            return
        if self.polling is not None:
            self.stop_polling.set()
            await self.polling
            self.polling = None
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
        self.application = None

    async def restart_bot(self) -> None:
        await self.stop_bot()
        await self.start_bot()

    def user(self, name: str = "Amina", *, language: str | None = "en", username: str | None = None) -> SandboxUser:
        return self.emulator.new_user(name, language_code=language, username=username)

    async def send(self, user: SandboxUser, text: str, expect: int = 1) -> list[SandboxMessage]:
        """The user sends text; wait for `expect` bot messages and return them."""
        self.emulator.user_sends_text(user, text)
        return await self.emulator.wait_for_bot_messages(user.id, expect)

    async def send_raw_text(self, user: SandboxUser, text: str, expect: int = 1) -> list[SandboxMessage]:
        """A text update built by hand (texts a Telegram client would not send, e.g. only invisible characters)."""
        self.emulator.inject_update(
            {
                "message": {
                    "message_id": 1_000_000 + len(self.emulator.history(user.id)),
                    "date": int(self.emulator.now()),
                    "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
                    "from": {"id": user.id, "is_bot": False, "first_name": user.first_name},
                    "text": text,
                }
            },
            record_messages=False,
        )
        return await self.emulator.wait_for_bot_messages(user.id, expect)

    async def press(
        self, user: SandboxUser, message: SandboxMessage, label: str, expect: int = 1
    ) -> list[SandboxMessage]:
        """The user presses the button with this label (exactly, or after a ✅ mark) on a message."""
        self.emulator.user_presses_button(user, message.message_id, label)
        return await self.emulator.wait_for_bot_messages(user.id, expect) if expect else []

    async def agree(self, user: SandboxUser, consent: SandboxMessage) -> SandboxMessage:
        """Agree to the consent and, in survivor flows, give an adult age band; return the next question."""
        [following] = await self.press(user, consent, str(consent.buttons[0]["text"]))
        if any(label in labels(following) for label in ADULT_BAND.values()) or any(
            "18" in label for label in labels(following)[:1]
        ):
            data = next(b["callback_data"] for b in following.buttons if str(b["callback_data"]).endswith(".1.2"))
            self.emulator.user_presses(user, following.message_id, str(data))
            [following] = await self.emulator.wait_for_bot_messages(user.id, 1)
        return following

    async def press_and_get_answer(self, user: SandboxUser, message: SandboxMessage, data: str) -> str | None:
        update_id = self.emulator.user_presses_raw(user, message.message_id, data)
        answer = await self.emulator.wait_callback_answered(self.emulator.callback_query_id(update_id))
        return answer.text

    async def create_consultation(self, code: str = CODE, languages: tuple[str, ...] = ("en", "fr")) -> None:
        flow = self.library.latest("roadmap_feedback")
        async with self.database.transaction() as session:
            await repo.create_consultation(
                session,
                code=code,
                title="E2E consultation",
                country="KE",
                flow_id=flow.id,
                flow_version=flow.version,
                languages=languages,
                default_language="en",
            )


async def open_harness(database: Database, secrets: Secrets) -> AsyncIterator[Harness]:
    emulator = Emulator(token=SANDBOX_TOKEN)
    server = TestServer(create_sandbox_app(emulator), host="127.0.0.1")
    await server.start_server()
    harness = Harness(emulator, server, database, secrets)
    await harness.create_consultation()
    await harness.start_bot()
    try:
        yield harness
    finally:
        await harness.stop_bot()
        await server.close()


@pytest.fixture
async def harness(sqlite_database: Database, secrets: Secrets) -> AsyncIterator[Harness]:
    """The bot on SQLite (the embedded default)."""
    async for h in open_harness(sqlite_database, secrets):
        yield h


@pytest.fixture
async def any_harness(database: Database, secrets: Secrets) -> AsyncIterator[Harness]:
    """The bot on SQLite and on PostgreSQL (parametrised through `database`)."""
    async for h in open_harness(database, secrets):
        yield h


def sqlite_files(database: Database) -> list[Path]:
    path = Path(database.url.split("///", 1)[1])
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def labels(message: SandboxMessage | None) -> list[str]:
    """The labels of a message's inline buttons, row by row."""
    return [str(button["text"]) for button in (message.buttons if message else [])]
