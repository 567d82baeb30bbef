"""Simulated users acting in their private chats: sending text and media, pressing buttons (stale and forged ones
too), blocking the bot; and raw updates injected by tests. Each action queues the update Telegram would send."""

from __future__ import annotations

import copy
import random
import re
import secrets

from sandbox.models import (
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    JsonDict,
    PrivateChat,
    SandboxError,
    SandboxUser,
)
from sandbox.state import ChatStore
from sandbox.updates import UpdateQueue

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
_BOT_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")
_URL = re.compile(r"\bhttps?://[^\s<>\"']+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}\b")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def text_entities(text: str) -> list[JsonDict]:
    """Entities Telegram detects in a user's plain text: commands, URLs, e-mails, mentions."""
    found: list[tuple[int, int, str]] = []
    for pattern, kind in ((_BOT_COMMAND, "bot_command"), (_URL, "url"), (_EMAIL, "email"), (_MENTION, "mention")):
        for match in pattern.finditer(text):
            if not any(match.start() < end and start < match.end() for start, end, _ in found):
                found.append((match.start(), match.end(), kind))
    return [
        {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:end])}
        for start, end, kind in sorted(found)
    ]


def _file(prefix: str, **fields: object) -> JsonDict:
    return {
        "file_id": prefix + "AxkBAAI" + secrets.token_urlsafe(39)[:52],
        "file_unique_id": "AgAD" + secrets.token_urlsafe(9)[:12],
        **fields,
    }


def media_payload(kind: str, user: SandboxUser) -> JsonDict:
    """The media part of a user message of this kind, shaped like Telegram's."""
    thumb = _file("AAMCAgADG", width=128, height=128, file_size=5_028)
    if kind == "sticker":
        sticker = _file("CAACAgIAA", type="regular", width=512, height=512, is_animated=False, is_video=False)
        return {"sticker": {**sticker, "emoji": "\U0001f600", "set_name": "SandboxStickers", "thumbnail": thumb}}
    if kind == "photo":
        sizes = ((90, 67, 1_432), (320, 240, 17_213), (800, 600, 68_120))
        return {"photo": [_file("AgACAgQAA", width=w, height=h, file_size=s) for w, h, s in sizes]}
    if kind == "voice":
        return {"voice": _file("AwACAgQAA", duration=4, mime_type="audio/ogg", file_size=12_631)}
    if kind == "video":
        video = _file("BAACAgQAA", width=1280, height=720, duration=7, mime_type="video/mp4", file_size=1_204_331)
        return {"video": {**video, "file_name": "video.mp4", "thumbnail": thumb}}
    if kind == "video_note":
        return {"video_note": _file("DQACAgQAA", length=384, duration=5, file_size=402_113)}
    if kind == "audio":
        audio = _file("CQACAgQAA", duration=184, mime_type="audio/mpeg", file_name="tune.mp3", file_size=2_944_115)
        return {"audio": {**audio, "performer": "Sandbox Band", "title": "Test Tune"}}
    if kind == "document":
        return {"document": _file("BQACAgQAA", file_name="notes.pdf", mime_type="application/pdf", file_size=48_211)}
    if kind == "animation":
        gif = _file("CgACAgQAA", file_name="animation.gif.mp4", mime_type="video/mp4", file_size=181_220)
        return {"animation": {**gif, "width": 320, "height": 240, "duration": 3}, "document": gif}
    if kind == "location":
        return {"location": {"latitude": -1.292066, "longitude": 36.821945}}
    if kind == "contact":
        return {"contact": {"phone_number": "+254700000000", "first_name": user.first_name, "user_id": user.id}}
    if kind == "poll":
        options = [{"text": t, "voter_count": 0, "persistent_id": str(i)} for i, t in enumerate(("Yes", "No"))]
        poll = {"id": str(5 * 10**21 + secrets.randbelow(10**15)), "question": "Which option?", "options": options}
        flags = {"is_closed": False, "is_anonymous": True, "allows_multiple_answers": False, "allows_revoting": True}
        flags["members_only"] = False
        return {"poll": {**poll, **flags, "total_voter_count": 0, "type": "regular"}}
    if kind == "dice":
        return {"dice": {"emoji": "\U0001f3b2", "value": random.randint(1, 6)}}
    raise SandboxError(f"unknown content kind {kind!r}; choose one of {', '.join(MEDIA_KINDS)}")


class UserActions:
    """What simulated users do; every action queues the update the bot receives, and returns its update_id."""

    def __init__(self, store: ChatStore, updates: UpdateQueue, bot_id: int) -> None:
        self.store = store
        self.updates = updates
        self.bot_id = bot_id
        self.query_of_update: dict[int, str] = {}

    def _open_chat(self, user: SandboxUser) -> PrivateChat:
        chat = self.store.chat_of(user)
        chat.started = True
        chat.blocked = False
        return chat

    def _message_update(self, chat: PrivateChat, kind: str, text: str | None, media: JsonDict | None = None) -> int:
        msg = self.store.add_message(
            chat,
            from_bot=False,
            sender=chat.user.to_user_json(),
            text=text,
            kind=kind,
            entities=text_entities(text) if text else [],
            media=media,
        )
        return self.updates.queue({"message": msg.to_json()})

    def sends_text(self, user: SandboxUser, text: str) -> int:
        """A text message. Over 4096 characters it is split into several, as Telegram clients do (the last
        update_id is returned)."""
        if not text.strip():
            raise SandboxError("Telegram clients do not send empty messages")
        chat = self._open_chat(user)
        update_id = 0
        for start in range(0, len(text), MAX_TEXT_LENGTH):
            update_id = self._message_update(chat, "text", text[start : start + MAX_TEXT_LENGTH])
        return update_id

    def sends(self, user: SandboxUser, kind: str, caption: str | None = None) -> int:
        """Non-text content (see MEDIA_KINDS), with an optional caption of at most 1024 characters."""
        if caption is not None and len(caption) > MAX_CAPTION_LENGTH:
            raise SandboxError(f"Telegram clients do not send captions over {MAX_CAPTION_LENGTH} characters")
        media = media_payload(kind, user)
        return self._message_update(self._open_chat(user), kind, caption or None, media)

    def presses(self, user: SandboxUser, message_id: int, callback_data: str) -> int:
        """Press an inline button that exists now on a bot message."""
        msg = self.store.message(user.id, message_id)
        if msg is None or msg.deleted:
            raise SandboxError(f"message {message_id} is not in chat {user.id}")
        if not msg.from_bot:
            raise SandboxError(f"message {message_id} was sent by the user, it has no inline buttons")
        if callback_data not in msg.callback_data:
            raise SandboxError(
                f"no button with callback_data {callback_data!r} on message {message_id}: {msg.describe()}"
            )
        return self.presses_raw(user, message_id, callback_data)

    def presses_raw(self, user: SandboxUser, message_id: int, callback_data: str) -> int:
        """A callback query with any data on any message id (stale buttons, forged data)."""
        chat = self._open_chat(user)
        msg = chat.message(message_id)
        if msg is not None and not msg.deleted:
            message_json = msg.to_json()
        else:  # InaccessibleMessage, as Telegram sends for messages the bot can no longer see
            message_json = {"chat": chat.user.to_chat_json(), "message_id": message_id, "date": 0}
        query_id = self.store.open_callback_query(self.bot_id, user.id, message_id, callback_data)
        query = {
            "id": query_id,
            "from": chat.user.to_user_json(),
            "message": message_json,
            "chat_instance": str(-(abs(user.id) * 7_919 % 10**18 + 1)),
            "data": callback_data,
        }
        update_id = self.updates.queue({"callback_query": query})
        self.query_of_update[update_id] = query_id
        return update_id

    def block_bot(self, user: SandboxUser | int, blocked: bool) -> None:
        """Block (or unblock) the bot: sending then fails with 403."""
        self.store.chat_of(user).blocked = blocked
        self.store.feed.changed()

    def inject_update(self, payload: JsonDict, record_messages: bool) -> int:
        """Queue a raw update (an explicit update_id may repeat an earlier one). A private-chat message in it is
        recorded in the transcript, so the bot can delete it, unless ``record_messages`` is False."""
        payload = copy.deepcopy(payload)
        if record_messages:
            self._record(payload)
        update_id = payload.pop("update_id", None)
        if update_id is not None and (isinstance(update_id, bool) or not isinstance(update_id, int)):
            raise SandboxError("update_id must be an int")
        return self.updates.queue(payload, update_id=update_id)

    def _record(self, payload: JsonDict) -> None:
        message = payload.get("message")
        if not isinstance(message, dict):
            return
        chat_json = message.get("chat") or {}
        sender = message.get("from") or {}
        if chat_json.get("type") != "private" or not isinstance(chat_json.get("id"), int):
            return
        chat = self.store.chats.get(chat_json["id"])
        if chat is None:
            name = str(sender.get("first_name") or chat_json.get("first_name") or "User")
            chat = self.store.add_user(
                SandboxUser(chat_json["id"], name, sender.get("username"), sender.get("language_code"))
            )
        chat.started, chat.blocked = True, False
        message_id = message.get("message_id")
        if not isinstance(message_id, int) or chat.message(message_id) is not None:
            return
        kind = next((k for k in MEDIA_KINDS if k in message), "text")
        self.store.add_message(
            chat,
            from_bot=bool(sender.get("is_bot")),
            sender=dict(sender),
            message_id=message_id,
            text=message.get("text") if kind == "text" else message.get("caption"),
            kind=kind,
            entities=message.get("entities") or message.get("caption_entities") or [],
            media={k: message[k] for k in (kind, "document") if kind != "text" and k in message},
            date=message.get("date") if isinstance(message.get("date"), int) else None,
        )
