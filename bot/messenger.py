"""The Telegram side of `consultations.results.Messenger`: a message to a chat, protected from forwarding."""

from __future__ import annotations

import logging
from collections.abc import Callable

from telegram import Bot
from telegram.error import Forbidden, TelegramError

log = logging.getLogger(__name__)


class TelegramMessenger:
    """Sends with the bot `bot()` gives (the running application's, or the CLI's own); a chat that cannot be
    reached counts as not delivered, logged by error type only."""

    def __init__(self, bot: Callable[[], Bot | None]) -> None:
        self._bot = bot

    @property
    def ready(self) -> bool:
        return self._bot() is not None

    async def send(self, chat_id: int, text: str) -> bool:
        bot = self._bot()
        if bot is None:
            return False
        try:
            await bot.send_message(chat_id, text, protect_content=True)
        except Forbidden:
            return False  # they blocked the bot or deleted the chat: their choice
        except TelegramError as exc:
            log.warning("results message not delivered", extra={"error": type(exc).__name__})
            return False
        return True
