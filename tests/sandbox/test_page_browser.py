"""The chat page in headless Chromium: it shows a conversation, presses buttons, and notices a restarted sandbox."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Page, async_playwright, expect
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from sandbox import Emulator, create_sandbox_app

from .conftest import TOKEN

CHROMIUM = Path("/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def serve(emulator: Emulator, port: int) -> web.AppRunner:
    runner = web.AppRunner(create_sandbox_app(emulator))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is needed at /usr/bin/chromium (Debian package `chromium`; .ci/run installs it)")
    return CHROMIUM


@pytest.fixture
async def page(chromium: Path) -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium))
        try:
            yield await browser.new_page()
        finally:
            await browser.close()


async def test_the_page_chats_and_starts_afresh_after_a_restart(page: Page, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    first = Emulator(token=TOKEN, state_dir=tmp_path)
    runner = await serve(first, port)
    try:
        await page.goto(f"{url}?start=DEMO")
        await first.wait_until(lambda: len(first.users()) == 1 and first.pending_update_count == 1)
        [user] = first.users()
        await expect(page.locator(".msg.user")).to_contain_text("/start DEMO")
        async with Bot(TOKEN, base_url=f"{url}bot") as bot:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("I agree", callback_data="DEMO.0.y")]])
            await bot.send_message(user.id, "Do you agree?", reply_markup=markup, protect_content=True)
        await expect(page.locator(".msg.bot .bubble")).to_contain_text("Do you agree?")
        await expect(page.locator(".msg.bot")).to_contain_text("protected")
        await page.get_by_role("button", name="I agree").click()
        await first.wait_until(lambda: any("callback_query" in u for u in first.pending_updates()))
    finally:
        await runner.cleanup()

    second = Emulator(token=TOKEN, state_dir=tmp_path)  # `make run` again, same data, same port
    runner = await serve(second, port)
    try:
        # the page registers its user again and says why the earlier messages are gone
        await expect(page.locator("#toast")).to_contain_text("The sandbox restarted", timeout=15_000)
        await expect(page.locator(".msg")).to_have_count(0)
        assert [u.id for u in second.users()] == [user.id]
        await page.locator("#text").fill("/start")
        await page.locator("#text").press("Enter")
        await second.wait_until(lambda: len(second.chat(user.id)) == 1)
        [message] = second.chat(user.id)
        assert message.message_id > max(m.message_id for m in first.history(user.id))
        await expect(page.locator(".msg.user")).to_contain_text("/start")
    finally:
        await runner.cleanup()
