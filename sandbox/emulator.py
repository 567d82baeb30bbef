"""In-memory emulator of the Telegram Bot API for development and tests: state, limits and error strings.

``Emulator.call(method, params)`` implements the Bot API methods the project uses, with Telegram's
semantics (update offsets, long polling, webhooks with retries, 48-hour delete window, text and
callback_data limits, HTML/MarkdownV2 parsing) and Telegram's error descriptions. The ``user_*``
methods act as Telegram users in private chats; the ``wait_*`` helpers let tests await the bot.
HTTP transport lives in :mod:`sandbox.app`; the only network use here is webhook delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import json
import logging
import random
import re
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import aiohttp

from sandbox.formatting import EntityParseError, UnsupportedParseMode, format_text, utf16_len

JsonDict = dict[str, Any]

log = logging.getLogger(__name__)

SANDBOX_TOKEN = "123456:SANDBOX"  # noqa: S105 - a fake token for the local emulator only
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
DELETE_WINDOW_SECONDS = 48 * 3600
CALLBACK_QUERY_LIFETIME_SECONDS = 15 * 60
MEDIA_KINDS = (
    "sticker",
    "photo",
    "voice",
    "video",
    "video_note",
    "audio",
    "document",
    "location",
    "contact",
    "animation",
    "poll",
    "dice",
)
UPDATE_TYPES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
)
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "allowed_updates",
        "commands",
        "scope",
        "message_ids",
        "menu_button",
    }
)
_INT_PARAMS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "max_connections",
        "cache_time",
        "reply_to_message_id",
        "message_thread_id",
        "user_id",
    }
)
_BOOL_PARAMS = frozenset(
    {
        "protect_content",
        "disable_notification",
        "show_alert",
        "drop_pending_updates",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "allow_paid_broadcast",
        "disable_content_type_detection",
    }
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_BOT_COMMAND_IN_TEXT = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")
_URL_IN_TEXT = re.compile(r"\bhttps?://[^\s<>\"']+", re.IGNORECASE)
_EMAIL_IN_TEXT = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_MENTION_IN_TEXT = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}\b")


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


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class SandboxError(Exception):
    """A test or page asked a simulated user to do something Telegram would not let them do."""


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
    """One message of a private chat, sent by the bot or by the user, as the emulator stores it."""

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
    disable_notification: bool = False
    parse_mode: str | None = None
    link_preview_options: JsonDict | None = None
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
            if self.link_preview_options is not None:
                data["link_preview_options"] = dict(self.link_preview_options)
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

    def to_page_json(self) -> JsonDict:
        """Shape used by the web chat page."""
        return {
            "message_id": self.message_id,
            "from_bot": self.from_bot,
            "kind": self.kind,
            "text": self.text,
            "entities": self.entities,
            "reply_markup": self.reply_markup,
            "protect_content": self.protect_content,
            "date": self.date,
            "edit_date": self.edit_date,
            "deleted": self.deleted,
            "media": _page_media_summary(self.kind, self.media),
            "seq": self.seq,
        }


@dataclass
class CallbackAnswer:
    """An answerCallbackQuery call the bot made."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int
    user_id: int
    message_id: int | None
    data: str | None
    seq: int = 0

    @property
    def id(self) -> str:
        """Alias of callback_query_id."""
        return self.callback_query_id


class ApiCall(NamedTuple):
    """One Bot API call: canonical method name and its normalised parameters."""

    method: str
    params: JsonDict


@dataclass
class ApiErrorRecord:
    """A Bot API call that was refused."""

    method: str
    params: JsonDict
    error_code: int
    description: str


@dataclass
class WebhookDelivery:
    """One attempt to POST an update to the webhook."""

    update_id: int
    url: str
    attempt: int
    status: int | None
    error: str | None


@dataclass
class UploadedFile:
    """A file part received in a multipart request."""

    filename: str | None
    content_type: str | None
    size: int


@dataclass
class _QueuedUpdate:
    update_id: int
    payload: JsonDict
    delivered: bool = False
    duplicate: bool = False

    @property
    def kind(self) -> str:
        for key in self.payload:
            if key != "update_id":
                return key
        return "unknown"


@dataclass
class _CallbackQuery:
    user_id: int
    message_id: int | None
    data: str | None
    created: float
    answered: bool = False


@dataclass
class _Chat:
    user: SandboxUser
    messages: list[SandboxMessage] = field(default_factory=list)
    next_message_id: int = 1
    started: bool = False
    blocked: bool = False
    rate_limits: list[tuple[int, frozenset[str]]] = field(default_factory=list)


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    ip_address: str | None
    allowed_updates: list[str] | None


# --------------------------------------------------------------------------------------------- helpers


def _file_ids(prefix: str) -> JsonDict:
    return {
        "file_id": prefix + "AxkBAAI" + secrets.token_urlsafe(48)[:52],
        "file_unique_id": "AgAD" + secrets.token_urlsafe(9)[:12],
    }


def _photo_sizes() -> list[JsonDict]:
    sizes = []
    for width, height, size in ((90, 67, 1432), (320, 240, 17_213), (800, 600, 68_120)):
        sizes.append({**_file_ids("AgACAgQAA"), "width": width, "height": height, "file_size": size})
    return sizes


def _media_payload(kind: str, user: SandboxUser) -> JsonDict:
    """A realistic media part of a user message of the given kind."""
    if kind == "sticker":
        return {
            "sticker": {
                **_file_ids("CAACAgIAA"),
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "\U0001f600",
                "set_name": "SandboxStickers",
                "file_size": 23_104,
                "thumbnail": {**_file_ids("AAMCAgADG"), "width": 128, "height": 128, "file_size": 5_028},
            }
        }
    if kind == "photo":
        return {"photo": _photo_sizes()}
    if kind == "voice":
        return {"voice": {**_file_ids("AwACAgQAA"), "duration": 4, "mime_type": "audio/ogg", "file_size": 12_631}}
    if kind == "video":
        return {
            "video": {
                **_file_ids("BAACAgQAA"),
                "width": 1280,
                "height": 720,
                "duration": 7,
                "mime_type": "video/mp4",
                "file_name": "video.mp4",
                "file_size": 1_204_331,
                "thumbnail": {**_file_ids("AAMCBAADG"), "width": 320, "height": 180, "file_size": 9_120},
            }
        }
    if kind == "video_note":
        return {"video_note": {**_file_ids("DQACAgQAA"), "length": 384, "duration": 5, "file_size": 402_113}}
    if kind == "audio":
        return {
            "audio": {
                **_file_ids("CQACAgQAA"),
                "duration": 184,
                "performer": "Sandbox Band",
                "title": "Test Tune",
                "mime_type": "audio/mpeg",
                "file_name": "tune.mp3",
                "file_size": 2_944_115,
            }
        }
    if kind == "document":
        return {
            "document": {
                **_file_ids("BQACAgQAA"),
                "file_name": "notes.pdf",
                "mime_type": "application/pdf",
                "file_size": 48_211,
            }
        }
    if kind == "animation":
        ids = _file_ids("CgACAgQAA")
        animation = {
            **ids,
            "width": 320,
            "height": 240,
            "duration": 3,
            "mime_type": "video/mp4",
            "file_name": "animation.gif.mp4",
            "file_size": 181_220,
        }
        document = {**ids, "file_name": "animation.gif.mp4", "mime_type": "video/mp4", "file_size": 181_220}
        return {"animation": animation, "document": document}
    if kind == "location":
        return {"location": {"latitude": -1.292066, "longitude": 36.821945}}
    if kind == "contact":
        return {
            "contact": {
                "phone_number": "+254700000000",
                "first_name": user.first_name,
                "user_id": user.id,
            }
        }
    if kind == "poll":
        return {
            "poll": {
                "id": str(5_000_000_000_000_000_000 + secrets.randbelow(10**15)),
                "question": "Which option?",
                "options": [
                    {"text": "Yes", "voter_count": 0, "persistent_id": "0"},
                    {"text": "No", "voter_count": 0, "persistent_id": "1"},
                ],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
                "allows_revoting": True,
                "members_only": False,
            }
        }
    if kind == "dice":
        return {"dice": {"emoji": "\U0001f3b2", "value": random.randint(1, 6)}}
    raise SandboxError(f"unknown content kind {kind!r}; choose one of {', '.join(MEDIA_KINDS)}")


def _page_media_summary(kind: str, media: JsonDict) -> JsonDict | None:
    if kind in ("text", "photo") or not media:
        return {"kind": kind} if kind == "photo" else None
    part = media.get(kind)
    if not isinstance(part, dict):
        return {"kind": kind}
    summary: JsonDict = {"kind": kind}
    for key in ("emoji", "duration", "file_name", "latitude", "longitude", "question", "value", "title"):
        if key in part:
            summary[key] = part[key]
    return summary


def _user_text_entities(text: str) -> list[JsonDict]:
    """Entities Telegram detects in a user's plain text (commands, URLs, e-mails, mentions)."""
    found: list[tuple[int, int, str]] = []

    def overlaps(start: int, end: int) -> bool:
        return any(start < e and s < end for s, e, _ in found)

    for pattern, kind in (
        (_BOT_COMMAND_IN_TEXT, "bot_command"),
        (_URL_IN_TEXT, "url"),
        (_EMAIL_IN_TEXT, "email"),
        (_MENTION_IN_TEXT, "mention"),
    ):
        for match in pattern.finditer(text):
            if not overlaps(match.start(), match.end()):
                found.append((match.start(), match.end(), kind))
    found.sort()
    return [
        {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:end])}
        for start, end, kind in found
    ]


def _as_int(value: Any) -> Any:
    if isinstance(value, str):
        stripped = value.strip()
        if re.fullmatch(r"[+-]?\d{1,20}", stripped):
            return int(stripped)
    return value


def _as_bool(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no", ""):
            return False
    return value


def normalize_params(params: dict[str, Any]) -> JsonDict:
    """Turn form/query strings into the JSON types Telegram would read (PTB JSON-encodes nested values)."""
    out: JsonDict = {}
    for key, value in params.items():
        if key in _JSON_PARAMS and isinstance(value, str):
            try:
                out[key] = json.loads(value)
            except ValueError:
                if key == "reply_markup":
                    raise _bad("can't parse reply keyboard markup JSON object") from None
                if key in ("entities", "caption_entities"):
                    raise _bad("can't parse entities JSON object") from None
                raise _bad(f"can't parse {key} JSON object") from None
        elif key in _INT_PARAMS:
            out[key] = _as_int(value)
        elif key in _BOOL_PARAMS:
            out[key] = _as_bool(value)
        else:
            out[key] = value
    return out


# --------------------------------------------------------------------------------------------- emulator


Handler = Callable[[JsonDict], Any]


class Emulator:
    """The Telegram Bot API, in memory, for one bot and any number of private chats."""

    def __init__(
        self,
        token: str = SANDBOX_TOKEN,
        bot_username: str = "voices87_sandbox_bot",
        bot_first_name: str = "Voices 8.7 (sandbox)",
        *,
        clock: Callable[[], float] | None = None,
        webhook_retry_delays: Sequence[float] = (0.5, 1.0, 2.0, 4.0, 8.0),
        webhook_timeout: float = 10.0,
        allow_http_webhooks: bool = True,
    ) -> None:
        bot_id_part = token.split(":", 1)[0]
        if ":" not in token or not bot_id_part.isdigit():
            raise ValueError("token must look like '<digits>:<secret>'")
        self.token = token
        self.bot_id = int(bot_id_part)
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self._clock = clock or time.time
        self._time_offset = 0.0
        self.webhook_retry_delays = tuple(webhook_retry_delays)
        self.webhook_timeout = webhook_timeout
        self.allow_http_webhooks = allow_http_webhooks

        self._chats: dict[int, _Chat] = {}
        self._updates: list[_QueuedUpdate] = []
        self._next_update_id = 1
        self._allowed_updates: list[str] | None = None
        self._webhook: _Webhook | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_last_error: tuple[int, str] | None = None
        self._poll_generation = 0
        self._release_generation = 0
        self._seq = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._callback_queries: dict[str, _CallbackQuery] = {}
        self._callback_counter = 0
        self._cq_by_update: dict[int, str] = {}
        self._cursors: dict[int, int] = {}
        self._commands: dict[tuple[str, str], list[JsonDict]] = {}
        self._bot_settings: dict[str, Any] = {}

        self.api_calls: list[ApiCall] = []
        self.api_errors: list[ApiErrorRecord] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.dropped_updates: list[JsonDict] = []
        self.last_callback_query_id: str | None = None

        self._handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageCaption": self._edit_message_caption,
            "answerCallbackQuery": self._answer_callback_query,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendChatAction": self._send_chat_action,
            "sendDocument": self._send_document,
            "getChat": self._get_chat,
            "setMyDescription": self._setting("description", "description"),
            "getMyDescription": self._getting("description", "description"),
            "setMyShortDescription": self._setting("short_description", "short_description"),
            "getMyShortDescription": self._getting("short_description", "short_description"),
            "setMyName": self._setting("name", "name"),
            "getMyName": self._getting("name", "name"),
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "logOut": self._true,
            "close": self._true,
        }
        self._method_names = {name.lower(): name for name in self._handlers}

    # ----------------------------------------------------------------------------------------- clock

    def now(self) -> float:
        """Current time of the emulator's clock (injectable, plus any advance_time offset)."""
        return self._clock() + self._time_offset

    def advance_time(self, seconds: float) -> None:
        """Move the emulator clock forward, e.g. 49 hours to test the delete window."""
        self._time_offset += seconds

    # ----------------------------------------------------------------------------------------- change tracking

    @property
    def seq(self) -> int:
        """Monotonic counter of state changes (messages, edits, deletions, answers, updates)."""
        return self._seq

    def _changed(self) -> int:
        self._seq += 1
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)
        return self._seq

    async def _wait(self, seconds: float | None) -> bool:
        """Wait for the next state change; False after ``seconds`` (None: no limit)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            if seconds is None:
                await fut
            else:
                await asyncio.wait_for(fut, max(seconds, 0.0))
        except TimeoutError:
            return False
        finally:
            if fut in self._waiters:
                self._waiters.remove(fut)
        return True

    async def wait_for_change(self, since: int, max_wait: float) -> int:
        """Wait until ``seq`` exceeds ``since`` (at most ``max_wait`` s); return the current seq."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        while self._seq <= since:
            remaining = deadline - loop.time()
            if remaining <= 0 or not await self._wait(remaining):
                break
        return self._seq

    # ----------------------------------------------------------------------------------------- users and chats

    def add_user(self, user: SandboxUser) -> SandboxUser:
        """Register a user (idempotent; a changed profile replaces the old one)."""
        chat = self._chats.get(user.id)
        if chat is None:
            self._chats[user.id] = _Chat(user=user)
        else:
            chat.user = user
        return user

    def new_user(
        self,
        first_name: str = "Test",
        *,
        language_code: str | None = "en",
        username: str | None = None,
        user_id: int | None = None,
    ) -> SandboxUser:
        """Create and register a user with a fresh random id unless one is given."""
        if user_id is None:
            user_id = 100_000_000 + secrets.randbelow(1_900_000_000)
            while user_id in self._chats or user_id == self.bot_id:
                user_id = 100_000_000 + secrets.randbelow(1_900_000_000)
        return self.add_user(SandboxUser(user_id, first_name, username, language_code))

    def get_user(self, user_id: int) -> SandboxUser | None:
        """The registered user with this id, if any."""
        chat = self._chats.get(user_id)
        return chat.user if chat else None

    def users(self) -> list[SandboxUser]:
        """All registered users."""
        return [chat.user for chat in self._chats.values()]

    def block_bot(self, user: SandboxUser | int, blocked: bool = True) -> None:
        """The user blocks (or unblocks) the bot: sends then fail with 403 like Telegram."""
        chat = self._chat_of(user)
        chat.blocked = blocked
        self._changed()

    def _chat_of(self, user: SandboxUser | int) -> _Chat:
        if isinstance(user, SandboxUser):
            self.add_user(user)
            return self._chats[user.id]
        chat = self._chats.get(user)
        if chat is None:
            raise SandboxError(f"unknown user/chat {user}")
        return chat

    def chat(self, chat_id: int) -> list[SandboxMessage]:
        """Current (non-deleted) messages of a private chat, in order, from both sides."""
        return [m for m in self.history(chat_id) if not m.deleted]

    def history(self, chat_id: int) -> list[SandboxMessage]:
        """Every message of the chat including deleted ones (``deleted`` is set on those)."""
        chat = self._chats.get(chat_id)
        return list(chat.messages) if chat else []

    def message(self, chat_id: int, message_id: int) -> SandboxMessage | None:
        """A message by id, deleted or not."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return None
        for msg in chat.messages:
            if msg.message_id == message_id:
                return msg
        return None

    def bot_messages(self, chat_id: int, include_deleted: bool = False) -> list[SandboxMessage]:
        """Messages the bot sent in this chat."""
        return [m for m in self.history(chat_id) if m.from_bot and (include_deleted or not m.deleted)]

    def last_bot_message(self, chat_id: int) -> SandboxMessage | None:
        """The newest non-deleted bot message in the chat."""
        msgs = self.bot_messages(chat_id)
        return msgs[-1] if msgs else None

    def calls(self, method: str) -> list[JsonDict]:
        """Parameters of every successful-or-not call of ``method`` (case-insensitive)."""
        wanted = method.lower()
        return [call.params for call in self.api_calls if call.method.lower() == wanted]

    def commands(self, scope: JsonDict | None = None, language_code: str = "") -> list[JsonDict]:
        """Commands set with setMyCommands for a scope (default scope) and language."""
        return copy.deepcopy(self._commands.get((self._scope_key(scope), language_code), []))

    def changes_since(self, chat_id: int, since: int) -> tuple[list[SandboxMessage], list[CallbackAnswer]]:
        """Messages (including deletions) and callback answers of a chat changed after ``since``."""
        msgs = [m for m in self.history(chat_id) if m.seq > since]
        answers = [a for a in self.callback_answers if a.user_id == chat_id and a.seq > since]
        return msgs, answers

    def describe_chat(self, chat_id: int | None = None) -> str:
        """Human-readable transcript (for timeout errors)."""
        chat_ids = [chat_id] if chat_id is not None else list(self._chats)
        lines: list[str] = []
        for cid in chat_ids:
            chat = self._chats.get(cid)
            if chat is None:
                lines.append(f"chat {cid}: unknown")
                continue
            lines.append(f"chat {cid} ({chat.user.first_name}, lang={chat.user.language_code}):")
            lines.extend("  " + m.describe() for m in chat.messages[-30:])
            if not chat.messages:
                lines.append("  (no messages)")
        lines.append(f"pending updates: {len(self._updates)}; webhook: {self._webhook.url if self._webhook else None}")
        relevant = [e for e in self.api_errors if chat_id is None or _as_int(e.params.get("chat_id")) == chat_id][-5:]
        for err in relevant:
            lines.append(f"api error: {err.method} -> {err.error_code} {err.description}")
        return "\n".join(lines)

    def _new_message(
        self,
        chat: _Chat,
        *,
        from_bot: bool,
        text: str | None,
        kind: str = "text",
        entities: list[JsonDict] | None = None,
        reply_markup: JsonDict | None = None,
        protect_content: bool = False,
        disable_notification: bool = False,
        parse_mode: str | None = None,
        link_preview_options: JsonDict | None = None,
        media: JsonDict | None = None,
        reply_to_message_id: int | None = None,
        message_id: int | None = None,
        date: int | None = None,
    ) -> SandboxMessage:
        if message_id is None:
            message_id = chat.next_message_id
        chat.next_message_id = max(chat.next_message_id, message_id + 1)
        msg = SandboxMessage(
            chat_id=chat.user.id,
            message_id=message_id,
            from_bot=from_bot,
            date=int(self.now()) if date is None else date,
            sender=self._bot_user_json() if from_bot else chat.user.to_user_json(),
            chat_json=chat.user.to_chat_json(),
            text=text,
            kind=kind,
            entities=entities or [],
            reply_markup=reply_markup,
            protect_content=protect_content,
            disable_notification=disable_notification,
            parse_mode=parse_mode,
            link_preview_options=link_preview_options,
            media=media or {},
            reply_to_message_id=reply_to_message_id,
        )
        chat.messages.append(msg)
        msg.seq = self._changed()
        return msg

    def _touch(self, msg: SandboxMessage) -> None:
        msg.seq = self._changed()

    # ----------------------------------------------------------------------------------------- acting as users

    def _user_chat(self, user: SandboxUser) -> _Chat:
        chat = self._chat_of(user)
        chat.started = True
        chat.blocked = False
        return chat

    def _user_message_update(self, chat: _Chat, msg: SandboxMessage) -> int:
        payload = msg.to_json()
        if msg.reply_to_message_id is not None:
            replied = self.message(chat.user.id, msg.reply_to_message_id)
            if replied is not None and not replied.deleted:
                payload["reply_to_message"] = replied.to_json()
        return self._queue({"message": payload})

    def user_sends_text(self, user: SandboxUser, text: str, *, reply_to: int | None = None) -> int:
        """The user sends a text message; returns the update_id. Texts over 4096 characters are split
        into several messages, as Telegram clients do (the last update_id is returned)."""
        if not text.strip():
            raise SandboxError("Telegram clients do not send empty messages")
        chat = self._user_chat(user)
        update_id = 0
        for start in range(0, len(text), MAX_TEXT_LENGTH):
            part = text[start : start + MAX_TEXT_LENGTH]
            msg = self._new_message(
                chat,
                from_bot=False,
                text=part,
                entities=_user_text_entities(part),
                reply_to_message_id=reply_to if start == 0 else None,
            )
            update_id = self._user_message_update(chat, msg)
        return update_id

    def user_sends(self, user: SandboxUser, kind: str, *, caption: str | None = None) -> int:
        """The user sends non-text content (see MEDIA_KINDS); returns the update_id."""
        media = _media_payload(kind, user)
        chat = self._user_chat(user)
        msg = self._new_message(
            chat,
            from_bot=False,
            text=caption,
            kind=kind,
            media=media,
            entities=_user_text_entities(caption) if caption else [],
        )
        return self._user_message_update(chat, msg)

    def user_presses(self, user: SandboxUser, message_id: int, callback_data: str) -> int:
        """The user presses an inline button that currently exists on a bot message; returns update_id."""
        msg = self.message(user.id, message_id)
        if msg is None or msg.deleted:
            raise SandboxError(
                f"message {message_id} is not in chat {user.id}; chat so far:\n{self.describe_chat(user.id)}"
            )
        if not msg.from_bot:
            raise SandboxError(f"message {message_id} was sent by the user, it has no inline buttons")
        if callback_data not in msg.callback_data:
            raise SandboxError(
                f"no button with callback_data {callback_data!r} on message {message_id}: {msg.describe()}"
            )
        return self.user_presses_raw(user, message_id, callback_data)

    def user_presses_button(self, user: SandboxUser, message_id: int, label: str) -> int:
        """Press a button by its label (exact, else substring)."""
        msg = self.message(user.id, message_id)
        if msg is None or msg.deleted:
            raise SandboxError(f"message {message_id} is not in chat {user.id}")
        return self.user_presses(user, message_id, msg.button_data(label))

    def user_presses_raw(self, user: SandboxUser, message_id: int, callback_data: str) -> int:
        """A callback query with arbitrary data on a message (stale buttons, forged data)."""
        chat = self._user_chat(user)
        msg = self.message(user.id, message_id)
        if msg is not None and not msg.deleted:
            message_json = msg.to_json()
        else:  # InaccessibleMessage, as Telegram sends for messages the bot can no longer see
            message_json = {"chat": chat.user.to_chat_json(), "message_id": message_id, "date": 0}
        self._callback_counter += 1
        cq_id = str(4_000_000_000_000_000_000 + self.bot_id * 1000 + self._callback_counter)
        self._callback_queries[cq_id] = _CallbackQuery(user.id, message_id, callback_data, self.now())
        self.last_callback_query_id = cq_id
        update_id = self._queue(
            {
                "callback_query": {
                    "id": cq_id,
                    "from": chat.user.to_user_json(),
                    "message": message_json,
                    "chat_instance": str(-(abs(user.id) * 7_919 % 10**18 + 1)),
                    "data": callback_data,
                }
            }
        )
        self._cq_by_update[update_id] = cq_id
        return update_id

    def callback_query_id(self, update_id: int) -> str:
        """The callback_query id created by a user_presses* call."""
        return self._cq_by_update[update_id]

    def inject_update(self, payload: JsonDict, *, record_messages: bool = True) -> int:
        """Queue a raw update (update_id assigned if missing; an explicit one may repeat an earlier one).
        Private-chat messages in it are recorded in the transcript so the bot can edit/delete them."""
        payload = copy.deepcopy(payload)
        if record_messages:
            self._record_injected(payload)
        update_id = payload.pop("update_id", None)
        if update_id is None:
            return self._queue(payload)
        if not isinstance(update_id, int):
            raise SandboxError("update_id must be an int")
        duplicate = update_id < self._next_update_id or any(u.update_id == update_id for u in self._updates)
        self._next_update_id = max(self._next_update_id, update_id + 1)
        return self._queue(payload, update_id=update_id, duplicate=duplicate)

    def _record_injected(self, payload: JsonDict) -> None:
        message = payload.get("message")
        if not isinstance(message, dict):
            return
        chat_json = message.get("chat") or {}
        sender = message.get("from") or {}
        if chat_json.get("type") != "private" or not isinstance(chat_json.get("id"), int):
            return
        chat = self._chats.get(chat_json["id"])
        if chat is None:
            user = SandboxUser(
                chat_json["id"],
                str(sender.get("first_name") or chat_json.get("first_name") or "User"),
                sender.get("username"),
                sender.get("language_code"),
            )
            chat = self._chats[user.id] = _Chat(user=user)
        chat.started = True
        chat.blocked = False
        message_id = message.get("message_id")
        if not isinstance(message_id, int) or self.message(chat.user.id, message_id) is not None:
            return
        kind = next((k for k in MEDIA_KINDS if k in message), "text")
        media = {k: message[k] for k in (kind, "document") if kind != "text" and k in message}
        self._new_message(
            chat,
            from_bot=bool(sender.get("is_bot")),
            message_id=message_id,
            text=message.get("text") if kind == "text" else message.get("caption"),
            kind=kind,
            entities=message.get("entities") or message.get("caption_entities") or [],
            media=media,
            date=message.get("date") if isinstance(message.get("date"), int) else None,
        )

    def _queue(self, body: JsonDict, *, update_id: int | None = None, duplicate: bool = False) -> int:
        if update_id is None:
            update_id = self._next_update_id
            self._next_update_id += 1
        payload = {"update_id": update_id, **body}
        self._updates.append(_QueuedUpdate(update_id, payload, duplicate=duplicate))
        self._changed()
        return update_id

    @property
    def pending_update_count(self) -> int:
        """Number of queued, unconfirmed updates."""
        return len(self._updates)

    def pending_updates(self) -> list[JsonDict]:
        """Updates not yet confirmed by getUpdates (or not yet delivered to the webhook)."""
        return [copy.deepcopy(u.payload) for u in self._updates]

    # ----------------------------------------------------------------------------------------- switches

    def rate_limit_next(
        self, chat_id: int, retry_after: int = 1, times: int = 1, methods: Iterable[str] = ("sendMessage",)
    ) -> None:
        """Make the next ``times`` calls of ``methods`` to this chat answer 429 with retry_after."""
        chat = self._chat_of(chat_id)
        names = frozenset(m.lower() for m in methods)
        chat.rate_limits.extend([(retry_after, names)] * times)

    def _check_rate_limit(self, chat: _Chat, method: str) -> None:
        for i, (retry_after, methods) in enumerate(chat.rate_limits):
            if method.lower() in methods:
                del chat.rate_limits[i]
                raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)

    # ----------------------------------------------------------------------------------------- waiting helpers

    def mark(self, chat_id: int) -> None:
        """From now on, wait_for_bot_messages only counts bot messages sent after this point."""
        self._cursors[chat_id] = len(self.bot_messages(chat_id, include_deleted=True))

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - contract of the test helpers
        *,
        chat_id: int | None = None,
        description: str | None = None,
    ) -> None:
        """Wait until ``predicate()`` is true; TimeoutError describes the chat(s) so far."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"timed out after {timeout}s waiting for {description or 'condition'}\n"
                    + self.describe_chat(chat_id)
                )
            await self._wait(min(remaining, 0.1))

    async def wait_for_bot_messages(
        self,
        chat_id: int,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - helper contract
    ) -> list[SandboxMessage]:
        """Wait for ``count`` new bot messages in the chat (since the last call or ``mark``) and return them
        (deleted ones included, flagged, so that order is kept)."""
        cursor = self._cursors.get(chat_id, 0)
        await self.wait_until(
            lambda: len(self.bot_messages(chat_id, include_deleted=True)) >= cursor + count,
            timeout,
            chat_id=chat_id,
            description=f"{count} new bot message(s) after the first {cursor} in chat {chat_id}",
        )
        new = self.bot_messages(chat_id, include_deleted=True)[cursor : cursor + count]
        self._cursors[chat_id] = cursor + count
        return new

    async def wait_callback_answered(
        self,
        callback_query_id: str,
        timeout: float = 10.0,  # noqa: ASYNC109 - helper contract
    ) -> CallbackAnswer:
        """Wait until the bot answered this callback query."""

        def answered() -> bool:
            return any(a.callback_query_id == callback_query_id for a in self.callback_answers)

        query = self._callback_queries.get(callback_query_id)
        await self.wait_until(
            answered,
            timeout,
            chat_id=query.user_id if query else None,
            description=f"answerCallbackQuery for {callback_query_id}",
        )
        return next(a for a in self.callback_answers if a.callback_query_id == callback_query_id)

    # ----------------------------------------------------------------------------------------- dispatch

    def canonical_method(self, method: str) -> str | None:
        """The Bot API method name in Telegram's casing, or None if unknown."""
        return self._method_names.get(method.lower())

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Run a Bot API method; return its ``result`` or raise ApiError."""
        name = self.canonical_method(method)
        if name is None:
            raise ApiError(404, "Not Found")
        raw = dict(params or {})
        try:
            normalized = normalize_params(raw)
        except ApiError as exc:
            self.api_calls.append(ApiCall(name, raw))
            self.api_errors.append(ApiErrorRecord(name, raw, exc.error_code, exc.description))
            raise
        self.api_calls.append(ApiCall(name, normalized))
        try:
            result = self._handlers[name](normalized)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as exc:
            self.api_errors.append(ApiErrorRecord(name, normalized, exc.error_code, exc.description))
            raise
        return result

    # ----------------------------------------------------------------------------------------- parameter helpers

    @staticmethod
    def _int_param(params: JsonDict, name: str, missing: str) -> int:
        value = params.get(name)
        if value is None or value == "":
            raise _bad(missing)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(f'field "{name}" must be a valid Number')
        return value

    @staticmethod
    def _opt_int(params: JsonDict, name: str, default: int) -> int:
        value = params.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(f'field "{name}" must be a valid Number')
        return value

    @staticmethod
    def _opt_str(params: JsonDict, name: str) -> str | None:
        value = params.get(name)
        if value is None:
            return None
        if isinstance(value, bool | dict | list):
            raise _bad(f'field "{name}" must be of type String')
        return str(value)

    def _target_chat(self, params: JsonDict, *, sending: bool) -> _Chat:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        chat: _Chat | None = None
        if isinstance(raw, int) and not isinstance(raw, bool):
            chat = self._chats.get(raw)
        # "@username" only addresses channels and groups, never a private chat: "chat not found" too.
        if chat is None:
            raise _bad("chat not found")
        if sending and not chat.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _format(self, params: JsonDict, text_key: str, entities_key: str) -> tuple[str, list[JsonDict]]:
        text = self._opt_str(params, text_key) or ""
        parse_mode = self._opt_str(params, "parse_mode")
        try:
            return format_text(text, parse_mode, params.get(entities_key))
        except EntityParseError as exc:
            raise _bad(f"can't parse entities: {exc}") from None
        except UnsupportedParseMode:
            raise _bad("unsupported parse_mode") from None

    def _checked_text(self, params: JsonDict) -> tuple[str, list[JsonDict]]:
        text, entities = self._format(params, "text", "entities")
        if not text:
            raise _bad("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        return text, entities

    def _checked_caption(self, params: JsonDict) -> tuple[str | None, list[JsonDict]]:
        if params.get("caption") is None:
            return None, []
        caption, entities = self._format(params, "caption", "caption_entities")
        if len(caption) > MAX_CAPTION_LENGTH:
            raise _bad("message caption is too long")
        return caption or None, entities

    @staticmethod
    def _parse_reply_markup(raw: Any) -> JsonDict | None:
        if raw is None or raw == "":
            return None
        if not isinstance(raw, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in raw:
            rows = raw["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
            total = 0
            for row in rows:
                for button in row:
                    total += 1
                    Emulator._check_inline_button(button)
            if total > 100:
                raise _bad("reply markup is too long")
            return copy.deepcopy(raw)
        if "keyboard" in raw:
            rows = raw["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
            return copy.deepcopy(raw)
        if raw.get("remove_keyboard") is True or raw.get("force_reply") is True:
            return copy.deepcopy(raw)
        raise _bad("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _check_inline_button(button: Any) -> None:
        if not isinstance(button, dict):
            raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
        if "text" not in button:
            raise _bad("can't parse inline keyboard button: Can't find field \"text\"")
        if not isinstance(button["text"], str):
            raise _bad('can\'t parse inline keyboard button: Field "text" must be of type String')
        if not button["text"].strip():
            raise _bad("BUTTON_TEXT_INVALID")
        actions = [key for key in _BUTTON_ACTIONS if key in button]
        if not actions:
            raise _bad("text buttons are unallowed in the inline keyboard")
        if len(actions) > 1:
            raise _bad(
                "can't parse inline keyboard button: exactly one of the optional fields must be used, "
                f"got {', '.join(actions)}"
            )
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not (1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES):
                raise _bad("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not re.match(r"^(https?|tg)://\S+$", url, re.IGNORECASE):
                raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")

    def _find_message(self, chat: _Chat, params: JsonDict, not_found: str) -> SandboxMessage:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        message_id = params.get("message_id")
        if message_id is None or message_id == "":
            raise _bad("message identifier is not specified")
        if isinstance(message_id, bool) or not isinstance(message_id, int):
            raise _bad(not_found)
        msg = self.message(chat.user.id, message_id)
        if msg is None or msg.deleted:
            raise _bad(not_found)
        return msg

    def _bot_user_json(self) -> JsonDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    @staticmethod
    def _scope_key(scope: Any) -> str:
        if scope is None or scope == "":
            scope = {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise _bad("can't parse BotCommandScope JSON object")
        return json.dumps(scope, sort_keys=True)

    # ----------------------------------------------------------------------------------------- methods

    def _true(self, params: JsonDict) -> bool:
        return True

    def _get_me(self, params: JsonDict) -> JsonDict:
        return {
            **self._bot_user_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _deliverable(self, limit: int) -> list[_QueuedUpdate]:
        allowed = self._allowed_update_set()
        result: list[_QueuedUpdate] = []
        for entry in list(self._updates):
            if entry.kind not in allowed:
                self._updates.remove(entry)  # Telegram never sends updates the bot did not ask for
                continue
            result.append(entry)
            if len(result) >= limit:
                break
        return result

    def _allowed_update_set(self) -> frozenset[str]:
        allowed = self._webhook.allowed_updates if self._webhook else self._allowed_updates
        if not allowed:
            return frozenset(UPDATE_TYPES) - _DEFAULT_EXCLUDED_UPDATES
        return frozenset(allowed)

    @staticmethod
    def _parse_allowed_updates(raw: Any) -> list[str] | None:
        if raw is None or raw == "":
            return None
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise _bad("can't parse allowed_updates JSON array")
        return list(raw)

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u.update_id >= offset or (u.duplicate and not u.delivered)]
        elif offset < 0:
            self._updates = self._updates[offset:]

    async def _get_updates(self, params: JsonDict) -> list[JsonDict]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = self._opt_int(params, "offset", 0)
        limit = min(max(self._opt_int(params, "limit", 100), 1), 100)
        timeout = max(self._opt_int(params, "timeout", 0), 0)
        allowed = self._parse_allowed_updates(params.get("allowed_updates"))
        if allowed is not None:
            self._allowed_updates = allowed
        self._poll_generation += 1
        generation = self._poll_generation
        release = self._release_generation
        self._changed()  # wakes an older long poll, which then answers 409 like Telegram
        self._confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            if self._webhook is not None:
                raise ApiError(409, "Conflict: terminated by setWebhook request")
            if release != self._release_generation:
                return []
            batch = self._deliverable(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0:
                for entry in batch:
                    entry.delivered = True
                return [copy.deepcopy(entry.payload) for entry in batch]
            await self._wait(remaining)

    def _send_message(self, params: JsonDict) -> JsonDict:
        chat = self._target_chat(params, sending=True)
        text, entities = self._checked_text(params)
        reply_markup = self._parse_reply_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        self._check_rate_limit(chat, "sendMessage")
        preview = params.get("link_preview_options")
        msg = self._new_message(
            chat,
            from_bot=True,
            text=text,
            entities=entities,
            reply_markup=reply_markup,
            protect_content=params.get("protect_content") is True,
            disable_notification=params.get("disable_notification") is True,
            parse_mode=self._opt_str(params, "parse_mode"),
            link_preview_options=preview if isinstance(preview, dict) else None,
            reply_to_message_id=reply_to,
        )
        return msg.to_json()

    def _reply_target(self, chat: _Chat, params: JsonDict) -> int | None:
        target: Any = params.get("reply_to_message_id")
        allow_missing = params.get("allow_sending_without_reply") is True
        reply_parameters = params.get("reply_parameters")
        if isinstance(reply_parameters, dict):
            target = _as_int(reply_parameters.get("message_id"))
            allow_missing = reply_parameters.get("allow_sending_without_reply") is True
        if target is None:
            return None
        msg = self.message(chat.user.id, target) if isinstance(target, int) else None
        if msg is None or msg.deleted:
            if allow_missing:
                return None
            raise _bad("message to be replied not found")
        return int(target)

    def _send_document(self, params: JsonDict) -> JsonDict:
        chat = self._target_chat(params, sending=True)
        document = params.get("document")
        if document is None or document == "":
            raise _bad("there is no document in the request")
        caption, entities = self._checked_caption(params)
        reply_markup = self._parse_reply_markup(params.get("reply_markup"))
        self._check_rate_limit(chat, "sendDocument")
        size = document.size if isinstance(document, UploadedFile) else 1024
        name = (document.filename if isinstance(document, UploadedFile) else None) or "document"
        mime = (document.content_type if isinstance(document, UploadedFile) else None) or "application/octet-stream"
        media = {"document": {**_file_ids("BQACAgQAA"), "file_name": name, "mime_type": mime, "file_size": size}}
        msg = self._new_message(
            chat,
            from_bot=True,
            text=caption,
            kind="document",
            entities=entities,
            media=media,
            reply_markup=reply_markup,
            protect_content=params.get("protect_content") is True,
            disable_notification=params.get("disable_notification") is True,
        )
        return msg.to_json()

    def _edit_message_text(self, params: JsonDict) -> JsonDict:
        chat = self._target_chat(params, sending=False)
        msg = self._find_message(chat, params, "message to edit not found")
        if not msg.from_bot:
            raise _bad("message can't be edited")
        if msg.kind != "text":
            raise _bad("there is no text in the message to edit")
        text, entities = self._checked_text(params)
        reply_markup = self._parse_reply_markup(params.get("reply_markup"))
        self._check_rate_limit(chat, "editMessageText")
        if text == msg.text and entities == msg.entities and reply_markup == msg.reply_markup:
            raise _bad(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        msg.text, msg.entities, msg.reply_markup = text, entities, reply_markup
        preview = params.get("link_preview_options")
        if isinstance(preview, dict):
            msg.link_preview_options = preview
        msg.parse_mode = self._opt_str(params, "parse_mode")
        msg.edit_date = int(self.now())
        self._touch(msg)
        return msg.to_json()

    def _edit_message_caption(self, params: JsonDict) -> JsonDict:
        chat = self._target_chat(params, sending=False)
        msg = self._find_message(chat, params, "message to edit not found")
        if not msg.from_bot:
            raise _bad("message can't be edited")
        if msg.kind == "text":
            raise _bad("there is no caption in the message to edit")
        caption, entities = self._checked_caption(params)
        reply_markup = self._parse_reply_markup(params.get("reply_markup"))
        if caption == msg.text and entities == msg.entities and reply_markup == msg.reply_markup:
            raise _bad(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        msg.text, msg.entities, msg.reply_markup = caption, entities, reply_markup
        msg.edit_date = int(self.now())
        self._touch(msg)
        return msg.to_json()

    def _edit_message_reply_markup(self, params: JsonDict) -> JsonDict:
        chat = self._target_chat(params, sending=False)
        msg = self._find_message(chat, params, "message to edit not found")
        if not msg.from_bot:
            raise _bad("message can't be edited")
        reply_markup = self._parse_reply_markup(params.get("reply_markup"))
        if reply_markup is not None and "inline_keyboard" not in reply_markup:
            raise _bad("inline keyboard expected")
        self._check_rate_limit(chat, "editMessageReplyMarkup")
        if reply_markup == msg.reply_markup or (not reply_markup and not msg.reply_markup):
            raise _bad(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        msg.reply_markup = reply_markup
        msg.edit_date = int(self.now())
        self._touch(msg)
        return msg.to_json()

    def _answer_callback_query(self, params: JsonDict) -> bool:
        query_id = self._opt_str(params, "callback_query_id")
        query = self._callback_queries.get(query_id or "")
        if (
            query_id is None
            or query is None
            or query.answered
            or self.now() - query.created > CALLBACK_QUERY_LIFETIME_SECONDS
        ):
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = self._opt_str(params, "text")
        if text is not None and len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        query.answered = True
        answer = CallbackAnswer(
            callback_query_id=query_id,
            text=text,
            show_alert=params.get("show_alert") is True,
            url=self._opt_str(params, "url"),
            cache_time=self._opt_int(params, "cache_time", 0),
            user_id=query.user_id,
            message_id=query.message_id,
            data=query.data,
        )
        self.callback_answers.append(answer)
        answer.seq = self._changed()
        return True

    def _delete_one(self, chat: _Chat, message_id: Any) -> None:
        msg = self.message(chat.user.id, message_id) if isinstance(message_id, int) else None
        if msg is None or msg.deleted:
            raise _bad("message to delete not found")
        if self.now() - msg.date > DELETE_WINDOW_SECONDS:
            raise _bad("message can't be deleted for everyone")
        msg.deleted = True
        self._touch(msg)

    def _delete_message(self, params: JsonDict) -> bool:
        chat = self._target_chat(params, sending=False)
        message_id = params.get("message_id")
        if message_id is None or message_id == "":
            raise _bad("message identifier is not specified")
        self._delete_one(chat, message_id)
        return True

    def _delete_messages(self, params: JsonDict) -> bool:
        chat = self._target_chat(params, sending=False)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not ids:
            raise _bad("message identifiers are not specified")
        if len(ids) > 100:
            raise _bad("too many message identifiers specified")
        for raw in ids:
            with contextlib.suppress(ApiError):
                self._delete_one(chat, _as_int(raw))
        return True

    def _set_my_commands(self, params: JsonDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON array")
        if len(commands) > 100:
            raise _bad("too many commands specified")
        cleaned: list[JsonDict] = []
        for item in commands:
            if not isinstance(item, dict):
                raise _bad("can't parse BotCommand JSON object")
            command = str(item.get("command", "")).lstrip("/")
            description = str(item.get("description", ""))
            if not _COMMAND_RE.match(command):
                raise _bad("BOT_COMMAND_INVALID")
            if not (1 <= len(description.strip()) <= 256):
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": command, "description": description})
        key = (self._scope_key(params.get("scope")), self._opt_str(params, "language_code") or "")
        if cleaned:
            self._commands[key] = cleaned
        else:
            self._commands.pop(key, None)
        self._changed()
        return True

    def _get_my_commands(self, params: JsonDict) -> list[JsonDict]:
        key = (self._scope_key(params.get("scope")), self._opt_str(params, "language_code") or "")
        return copy.deepcopy(self._commands.get(key, []))

    def _delete_my_commands(self, params: JsonDict) -> bool:
        key = (self._scope_key(params.get("scope")), self._opt_str(params, "language_code") or "")
        self._commands.pop(key, None)
        self._changed()
        return True

    def _set_webhook(self, params: JsonDict) -> bool:
        url = (self._opt_str(params, "url") or "").strip()
        if not url:
            return self._delete_webhook(params)
        lowered = url.lower()
        if not lowered.startswith("https://") and not (self.allow_http_webhooks and lowered.startswith("http://")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = self._opt_str(params, "secret_token")
        if secret is not None and not _SECRET_RE.match(secret):
            raise _bad("bad webhook: secret token contains unallowed characters")
        max_connections = self._opt_int(params, "max_connections", 40)
        if not 1 <= max_connections <= 100:
            raise _bad("bad webhook: max_connections must be between 1 and 100")
        allowed = self._parse_allowed_updates(params.get("allowed_updates"))
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        previous = self._webhook
        self._webhook = _Webhook(
            url=url,
            secret_token=secret,
            max_connections=max_connections,
            ip_address=self._opt_str(params, "ip_address"),
            allowed_updates=allowed if allowed is not None else (previous.allowed_updates if previous else None),
        )
        if previous is None or previous.url != url:
            self._webhook_last_error = None
        self._changed()
        self._ensure_webhook_task()
        return True

    def _delete_webhook(self, params: JsonDict) -> bool:
        self._webhook = None
        self._webhook_last_error = None
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        self._changed()
        return True

    def _get_webhook_info(self, params: JsonDict) -> JsonDict:
        return self.webhook_info()

    def webhook_info(self) -> JsonDict:
        """What getWebhookInfo answers."""
        info: JsonDict = {
            "url": self._webhook.url if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook is not None:
            info["max_connections"] = self._webhook.max_connections
            if self._webhook.ip_address:
                info["ip_address"] = self._webhook.ip_address
            if self._webhook.allowed_updates is not None:
                info["allowed_updates"] = list(self._webhook.allowed_updates)
            if self._webhook_last_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_last_error
        return info

    def _send_chat_action(self, params: JsonDict) -> bool:
        self._target_chat(params, sending=True)
        if not self._opt_str(params, "action"):
            raise _bad("action is empty")
        return True

    def _get_chat(self, params: JsonDict) -> JsonDict:
        chat = self._target_chat(params, sending=False)
        return {
            **chat.user.to_chat_json(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
            },
        }

    def _setting(self, key: str, param: str) -> Handler:
        def handler(params: JsonDict) -> bool:
            language = self._opt_str(params, "language_code") or ""
            self._bot_settings[f"{key}:{language}"] = self._opt_str(params, param) or ""
            return True

        return handler

    def _getting(self, key: str, field_name: str) -> Handler:
        def handler(params: JsonDict) -> JsonDict:
            language = self._opt_str(params, "language_code") or ""
            return {field_name: self._bot_settings.get(f"{key}:{language}", "")}

        return handler

    def _set_chat_menu_button(self, params: JsonDict) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or "type" not in button:
            raise _bad("can't parse MenuButton JSON object")
        self._bot_settings[f"menu_button:{params.get('chat_id', '')}"] = button
        return True

    def _get_chat_menu_button(self, params: JsonDict) -> JsonDict:
        button = self._bot_settings.get(f"menu_button:{params.get('chat_id', '')}")
        return dict(button) if isinstance(button, dict) else {"type": "commands"}

    # ----------------------------------------------------------------------------------------- webhook delivery

    def _ensure_webhook_task(self) -> None:
        if self._webhook_task is not None and not self._webhook_task.done():
            return
        self._webhook_task = asyncio.get_running_loop().create_task(
            self._webhook_loop(), name="sandbox-webhook-delivery"
        )

    async def _webhook_loop(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        attempt = 0
        last_url = ""
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while self._webhook is not None:
                batch = self._deliverable(1)
                if not batch:
                    await self._wait(None)
                    continue
                entry = batch[0]
                webhook = self._webhook
                if webhook.url != last_url:
                    attempt, last_url = 0, webhook.url
                attempt += 1
                delivered = await self._post_update(session, webhook, entry, attempt)
                if delivered:
                    if entry in self._updates:
                        self._updates.remove(entry)
                    attempt = 0
                    self._changed()
                    continue
                if attempt > len(self.webhook_retry_delays):
                    log.warning("sandbox: dropping update %s after %s failed deliveries", entry.update_id, attempt)
                    if entry in self._updates:
                        self._updates.remove(entry)
                    self.dropped_updates.append(entry.payload)
                    attempt = 0
                    self._changed()
                    continue
                await asyncio.sleep(self.webhook_retry_delays[attempt - 1])

    async def _post_update(
        self, session: aiohttp.ClientSession, webhook: _Webhook, entry: _QueuedUpdate, attempt: int
    ) -> bool:
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
        status: int | None = None
        error: str | None = None
        reply: Any = None
        try:
            async with session.post(webhook.url, data=json.dumps(entry.payload), headers=headers) as response:
                status = response.status
                body = await response.read()
                if 200 <= status < 300:
                    with contextlib.suppress(ValueError, UnicodeDecodeError):
                        reply = json.loads(body) if body.strip() else None
                else:
                    error = f"Wrong response from the webhook: {status} {response.reason or ''}".rstrip()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = f"Connection failed: {type(exc).__name__}"
        self.webhook_deliveries.append(WebhookDelivery(entry.update_id, webhook.url, attempt, status, error))
        if error is not None:
            self._webhook_last_error = (int(self.now()), error)
            return False
        if isinstance(reply, dict) and isinstance(reply.get("method"), str):
            # "Making requests when getting updates": the webhook answer may itself be a method call.
            method = reply.pop("method")
            with contextlib.suppress(ApiError):
                await self.call(method, reply)
        return True

    # ----------------------------------------------------------------------------------------- lifecycle

    async def stop_background(self) -> None:
        """Stop webhook delivery and release waiting long polls (state is kept)."""
        self._release_generation += 1
        self._changed()
        task, self._webhook_task = self._webhook_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def aclose(self) -> None:
        """Alias of stop_background, for ``async with``/fixtures."""
        await self.stop_background()

    async def __aenter__(self) -> Emulator:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
