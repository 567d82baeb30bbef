"""The Bot API methods the bot calls, with Telegram's rules and error descriptions.

python-telegram-bot's start-up calls getMe (initialize), setMyCommands (our post_init), deleteWebhook and
getUpdates (polling) or setWebhook (webhook mode); the bot then calls sendMessage, editMessageText,
answerCallbackQuery and deleteMessages (the safe exit); deleteMessage is kept for the one-message case.
Every other method answers 404, as an unknown method does on Telegram.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from sandbox.checks import (
    as_int,
    checked_entities,
    checked_reply_markup,
    checked_text,
    int_param,
    opt_str,
)
from sandbox.clock import Clock
from sandbox.models import (
    CALLBACK_QUERY_LIFETIME_SECONDS,
    DELETE_WINDOW_SECONDS,
    MAX_CALLBACK_ANSWER_LENGTH,
    MAX_DELETE_IDS,
    ApiError,
    CallbackAnswer,
    JsonDict,
    PrivateChat,
    SandboxMessage,
    bad_request,
)
from sandbox.state import ChatStore
from sandbox.updates import UpdateQueue
from sandbox.webhook import WebhookSender

Handler = Callable[[JsonDict], Any | Awaitable[Any]]

_COMMAND_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a current "
    "content and reply markup of the message"
)


class BotMethods:
    """One object per emulator; :meth:`handlers` maps each method name (Telegram's casing) to its handler."""

    def __init__(
        self,
        *,
        bot_user: JsonDict,
        store: ChatStore,
        updates: UpdateQueue,
        webhook: WebhookSender,
        clock: Clock,
    ) -> None:
        self.bot_user = bot_user
        self.store = store
        self.updates = updates
        self.webhook = webhook
        self.clock = clock

    def handlers(self) -> dict[str, Handler]:
        return {
            "getMe": self.get_me,
            "getUpdates": lambda params: self.updates.get_updates(params, lambda: self.webhook.active),
            "setWebhook": self.webhook.set_webhook,
            "deleteWebhook": self.webhook.delete_webhook,
            "setMyCommands": self.set_my_commands,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "answerCallbackQuery": self.answer_callback_query,
            "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages,
        }

    # ------------------------------------------------------------------------------------------- helpers

    def _chat(self, params: JsonDict, *, sending: bool) -> PrivateChat:
        """The private chat named by chat_id; 403 when the user never wrote to the bot or blocked it."""
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        # "@username" only addresses channels and groups, never a private chat: "chat not found" too.
        chat = self.store.chats.get(raw) if isinstance(raw, int) and not isinstance(raw, bool) else None
        if chat is None:
            raise bad_request("chat not found")
        if sending and not chat.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _bot_message(self, chat: PrivateChat, params: JsonDict) -> SandboxMessage:
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        message_id = params.get("message_id")
        if message_id is None or message_id == "":
            raise bad_request("message identifier is not specified")
        msg = chat.message(message_id) if isinstance(message_id, int) and not isinstance(message_id, bool) else None
        if msg is None or msg.deleted:
            raise bad_request("message to edit not found")
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return msg

    # ------------------------------------------------------------------------------------------- methods

    def get_me(self, params: JsonDict) -> JsonDict:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False}

    def set_my_commands(self, params: JsonDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON array")
        if len(commands) > 100:
            raise bad_request("too many commands specified")
        cleaned: list[JsonDict] = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("can't parse BotCommand JSON object")
            command = str(item.get("command", "")).lstrip("/")
            description = str(item.get("description", ""))
            if not 1 <= len(command) <= 32 or not set(command) <= _COMMAND_CHARS:
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": command, "description": description})
        key = (self.store.scope_key(params.get("scope")), opt_str(params, "language_code") or "")
        if cleaned:
            self.store.commands[key] = cleaned
        else:
            self.store.commands.pop(key, None)
        self.store.feed.changed()
        return True

    def send_message(self, params: JsonDict) -> JsonDict:
        chat = self._chat(params, sending=True)
        text = checked_text(params)
        entities = checked_entities(params.get("entities"))
        reply_markup = checked_reply_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        msg = self.store.add_message(
            chat,
            from_bot=True,
            sender=self.bot_user,
            text=text,
            entities=entities,
            reply_markup=reply_markup,
            protect_content=params.get("protect_content") is True,
            reply_to_message_id=reply_to,
        )
        return msg.to_json()

    def _reply_target(self, chat: PrivateChat, params: JsonDict) -> int | None:
        target: Any = params.get("reply_to_message_id")
        allow_missing = params.get("allow_sending_without_reply") is True
        reply_parameters = params.get("reply_parameters")
        if isinstance(reply_parameters, dict):
            target = reply_parameters.get("message_id")
            allow_missing = reply_parameters.get("allow_sending_without_reply") is True
        target = as_int(target)
        if target is None:
            return None
        msg = chat.message(target) if isinstance(target, int) else None
        if msg is None or msg.deleted:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        return int(target)

    def edit_message_text(self, params: JsonDict) -> JsonDict:
        chat = self._chat(params, sending=False)
        msg = self._bot_message(chat, params)
        if msg.kind != "text":
            raise bad_request("there is no text in the message to edit")
        text = checked_text(params)
        entities = checked_entities(params.get("entities"))
        reply_markup = checked_reply_markup(params.get("reply_markup"))  # none given: the keyboard goes
        if (text, entities, reply_markup) == (msg.text, msg.entities, msg.reply_markup):
            raise bad_request(_NOT_MODIFIED)
        msg.text, msg.entities, msg.reply_markup = text, entities, reply_markup
        msg.edit_date = int(self.clock.now())
        self.store.touch(msg)
        return msg.to_json()

    def answer_callback_query(self, params: JsonDict) -> bool:
        query_id = opt_str(params, "callback_query_id") or ""
        query = self.store.callback_queries.get(query_id)
        if query is None or query.answered or self.clock.now() - query.created > CALLBACK_QUERY_LIFETIME_SECONDS:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        text = opt_str(params, "text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        answer = CallbackAnswer(
            callback_query_id=query_id,
            text=text,
            show_alert=params.get("show_alert") is True,
            user_id=query.user_id,
            message_id=query.message_id,
            data=query.data,
        )
        self.store.callback_answers.append(answer)
        answer.seq = self.store.feed.changed()
        return True

    def _delete(self, chat: PrivateChat, message_id: Any) -> None:
        """Delete one message of a private chat, the user's or the bot's, if younger than 48 hours."""
        msg = chat.message(message_id) if isinstance(message_id, int) and not isinstance(message_id, bool) else None
        if msg is None or msg.deleted:
            raise bad_request("message to delete not found")
        if self.clock.now() - msg.date > DELETE_WINDOW_SECONDS:
            raise bad_request("message can't be deleted for everyone")
        msg.deleted = True
        self.store.touch(msg)

    def delete_message(self, params: JsonDict) -> bool:
        chat = self._chat(params, sending=False)
        self._delete(chat, int_param(params, "message_id", "message identifier is not specified"))
        return True

    def delete_messages(self, params: JsonDict) -> bool:
        """Up to 100 ids; those that cannot be deleted (unknown, or older than 48 h) are skipped silently."""
        chat = self._chat(params, sending=False)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not ids:
            raise bad_request("message identifiers are not specified")
        if len(ids) > MAX_DELETE_IDS:
            raise bad_request("too many message identifiers specified")
        for raw in ids:
            with contextlib.suppress(ApiError):
                self._delete(chat, as_int(raw))
        return True
