"""Telegram's objects as the emulator keeps them (users, private chats, messages, callback answers), its limits
and its errors."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, NamedTuple

JsonDict = dict[str, Any]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_DELETE_IDS = 100
MAX_INLINE_BUTTONS = 100
DELETE_WINDOW_SECONDS = 48 * 3600
CALLBACK_QUERY_LIFETIME_SECONDS = 15 * 60


class ApiError(Exception):
    """A Bot API error answer: HTTP status, Telegram's description, optional retry_after."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> JsonDict:
        """The JSON body Telegram would answer with."""
        body: JsonDict = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(description: str) -> ApiError:
    """Telegram's 400 answer, with its "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {description}")


class SandboxError(Exception):
    """A test or the page asked a simulated user to do something Telegram would not let them do."""


@dataclass(frozen=True)
class SandboxUser:
    """A simulated Telegram user; their private chat with the bot has chat id == user id."""

    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = None
    last_name: str | None = None

    def to_user_json(self) -> JsonDict:
        """Telegram ``User`` object."""
        data: JsonDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def to_chat_json(self) -> JsonDict:
        """Telegram ``Chat`` object of the private chat with this user."""
        data: JsonDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class SandboxMessage:
    """One message of a private chat, sent by the bot or by the user."""

    chat_id: int
    message_id: int
    from_bot: bool
    date: int
    sender: JsonDict
    chat_json: JsonDict
    text: str | None = None
    kind: str = "text"
    entities: list[JsonDict] = field(default_factory=list)
    reply_markup: JsonDict | None = None
    protect_content: bool = False
    media: JsonDict = field(default_factory=dict)
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    deleted: bool = False
    seq: int = 0

    @property
    def buttons(self) -> list[JsonDict]:
        """The inline keyboard buttons, row by row, flattened."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard") or []
        return [button for row in rows for button in row]

    @property
    def callback_data(self) -> list[str]:
        """callback_data of every inline button, in order."""
        return [b["callback_data"] for b in self.buttons if "callback_data" in b]

    def button_data(self, label: str) -> str:
        """callback_data of the button whose text equals (or else contains) ``label``."""
        for exact in (True, False):
            for button in self.buttons:
                text = str(button.get("text", ""))
                if "callback_data" in button and (text == label if exact else label in text):
                    return str(button["callback_data"])
        raise SandboxError(f"no button {label!r} on message {self.message_id}: {self.describe()}")

    def to_json(self) -> JsonDict:
        """Telegram ``Message`` object (parses with ``telegram.Message.de_json``)."""
        data: JsonDict = {
            "message_id": self.message_id,
            "from": dict(self.sender),
            "chat": dict(self.chat_json),
            "date": self.date,
        }
        if self.kind == "text":
            data["text"] = self.text or ""
            if self.entities:
                data["entities"] = copy.deepcopy(self.entities)
        else:
            data.update(copy.deepcopy(self.media))
            if self.text:
                data["caption"] = self.text
                if self.entities:
                    data["caption_entities"] = copy.deepcopy(self.entities)
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = copy.deepcopy(self.reply_markup)
        if self.protect_content:
            data["has_protected_content"] = True
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        return data

    def describe(self) -> str:
        """One line for transcripts in error messages."""
        who = "bot" if self.from_bot else "user"
        body = self.text if self.kind == "text" else f"<{self.kind}>" + (f" {self.text}" if self.text else "")
        if body and len(body) > 160:
            body = body[:157] + "..."
        line = f"[#{self.message_id}] {who}: {body!r}"
        if self.buttons:
            labels = ", ".join(
                f"{b.get('text')!r}->{b.get('callback_data', b.get('url', '?'))!r}" for b in self.buttons
            )
            line += f" buttons[{labels}]"
        flags = [
            name
            for name, on in (
                ("protected", self.protect_content),
                ("edited", self.edit_date is not None),
                ("DELETED", self.deleted),
            )
            if on
        ]
        if flags:
            line += f" ({', '.join(flags)})"
        return line


@dataclass
class CallbackAnswer:
    """An answerCallbackQuery call the bot made."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    user_id: int
    message_id: int | None
    data: str | None
    seq: int = 0


@dataclass
class CallbackQuery:
    """A button press the emulator sent as an update, waiting for answerCallbackQuery."""

    user_id: int
    message_id: int | None
    data: str | None
    created: float
    answered: bool = False


@dataclass
class PrivateChat:
    """The private chat of one user with the bot."""

    user: SandboxUser
    next_message_id: int
    messages: list[SandboxMessage] = field(default_factory=list)
    started: bool = False
    blocked: bool = False

    def message(self, message_id: int) -> SandboxMessage | None:
        """A message by id, deleted or not."""
        for msg in self.messages:
            if msg.message_id == message_id:
                return msg
        return None


class ApiCall(NamedTuple):
    """One Bot API call: canonical method name and its normalised parameters."""

    method: str
    params: JsonDict


@dataclass
class ApiErrorRecord:
    """A Bot API call that was refused; ``injected`` when a scripted fault refused it."""

    method: str
    params: JsonDict
    error_code: int
    description: str
    injected: bool = False
