"""The Telegram adapter: a python-telegram-bot Application with thin handlers (Update → service → Bot API)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.types import JSONDict, ODVInput, TimePeriod
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    ExtBot,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.conversation import (
    AskDelete,
    AskHelp,
    AskLanguage,
    AskMyData,
    AskPrivacy,
    Begin,
    ConversationService,
    Do,
    Exit,
    Incoming,
    Other,
    Outcome,
    Person,
    Press,
    Reply,
    Said,
)
from config.i18n import t
from flows.events import Command

log = logging.getLogger(__name__)

SERVICE_KEY = "voices_service"
BotApplication = Application[Any, Any, Any, Any, Any, Any]
"""Our Application: handlers take PTB's default context; its generic parameters add nothing here."""
DELETE_BATCH = 100
PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
COMMANDS = [
    ("start", "Begin or continue"),
    ("skip", "Skip this question"),
    ("back", "Go back to the previous question"),
    ("pause", "Take a break"),
    ("resume", "Go on after a break"),
    ("stop", "Stop for now (answers are kept)"),
    ("language", "Change language"),
    ("exit", "Delete this chat now"),
    ("mydata", "See what is kept about you"),
    ("delete", "Erase everything you gave"),
    ("privacy", "What is kept about you, and your rights"),
    ("help", "What this is and how it works"),
]


class VoicesBot(ExtBot[int]):
    """ExtBot that parses each polled update on its own: one unreadable payload (an old or odd client) is
    acknowledged as an empty update instead of stalling polling, and its content is never logged."""

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: TimePeriod | None = None,  # noqa: ASYNC109 - the Bot API signature
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> tuple[Update, ...]:
        seconds = timeout.total_seconds() if isinstance(timeout, dt.timedelta) else (timeout or 0)
        base = self._request[0].read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        data: JSONDict = {"timeout": timeout, "offset": offset, "limit": limit, "allowed_updates": allowed_updates}
        result = await self._post(
            "getUpdates",
            data,
            read_timeout=(base or 0) + seconds,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            api_kwargs=api_kwargs,
        )
        return tuple(parse_update(raw, self) for raw in result)


def parse_update(raw: JSONDict, bot: Bot) -> Update:
    """An Update from its JSON, or an empty Update with the same id (handled by nothing) if unreadable."""
    try:
        update = Update.de_json(raw, bot)
    except Exception as exc:
        log.warning("unreadable update acknowledged and dropped", extra={"error": type(exc).__name__})
        update = Update(update_id=int(raw.get("update_id", 0)))
        update.set_bot(bot)
    return update


def build_application(
    service: ConversationService, *, token: str, base_url: str, webhook_mode: bool = False
) -> BotApplication:
    """The PTB Application, wired to the service. In webhook mode it has no Updater: we feed it."""
    bot = VoicesBot(
        token,
        base_url=base_url,
        defaults=Defaults(protect_content=True),
        rate_limiter=AIORateLimiter(max_retries=3),
        request=HTTPXRequest(connection_pool_size=32),
        get_updates_request=HTTPXRequest(connection_pool_size=2),
    )
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = Application.builder().bot(bot).post_init(_post_init)
    if webhook_mode:
        builder = builder.updater(None)
    application = builder.build()
    application.bot_data[SERVICE_KEY] = service
    application.add_handler(CommandHandler("start", on_start, filters=PRIVATE))
    application.add_handler(CommandHandler("help", on_help, filters=PRIVATE))
    application.add_handler(CommandHandler("stop", on_stop, filters=PRIVATE))
    application.add_handler(CommandHandler("skip", on_skip, filters=PRIVATE))
    application.add_handler(CommandHandler("back", on_back, filters=PRIVATE))
    application.add_handler(CommandHandler("pause", on_pause, filters=PRIVATE))
    application.add_handler(CommandHandler("resume", on_resume, filters=PRIVATE))
    application.add_handler(CommandHandler("language", on_language, filters=PRIVATE))
    application.add_handler(CommandHandler("privacy", on_privacy, filters=PRIVATE))
    application.add_handler(CommandHandler("exit", on_exit, filters=PRIVATE))
    application.add_handler(CommandHandler("delete", on_delete, filters=PRIVATE))
    application.add_handler(CommandHandler("mydata", on_mydata, filters=PRIVATE))
    application.add_handler(CallbackQueryHandler(on_press))
    application.add_handler(MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, on_text))
    application.add_handler(MessageHandler(PRIVATE & filters.COMMAND, on_unknown_command))
    application.add_handler(MessageHandler(PRIVATE & ~filters.TEXT, on_other))
    application.add_error_handler(on_error)
    return application


async def _post_init(application: BotApplication) -> None:
    await application.bot.set_my_commands(COMMANDS)


def _service(context: ContextTypes.DEFAULT_TYPE) -> ConversationService:
    service: ConversationService = context.application.bot_data[SERVICE_KEY]
    return service


def _person(update: Update) -> Person | None:
    user = update.effective_user
    if user is None or user.is_bot:
        return None
    message = update.effective_message
    return Person(user_id=user.id, language_code=user.language_code, message_id=message.message_id if message else None)


async def _run(update: Update, context: ContextTypes.DEFAULT_TYPE, incoming: Incoming) -> Outcome | None:
    person = _person(update)
    if person is None:
        return None
    outcome = await _service(context).handle(update.update_id, person, incoming)
    if outcome.duplicate:
        log.info("duplicate update dropped", extra={"event": "update.duplicate"})
        return outcome
    if outcome.delete_ids:
        await delete_chat(update, context, outcome.delete_ids)
    sent = await send_replies(update, context, outcome.replies)
    await _service(context).remember_sent(person, sent)
    return outcome


async def delete_chat(update: Update, context: ContextTypes.DEFAULT_TYPE, message_ids: list[int]) -> None:
    """The safe exit: delete the given messages of this private chat, 100 per call (Telegram's limit)."""
    chat = update.effective_chat
    if chat is None:
        return
    for start in range(0, len(message_ids), DELETE_BATCH):
        try:
            await context.bot.delete_messages(chat.id, message_ids[start : start + DELETE_BATCH])
        except TelegramError as exc:
            log.warning("safe exit: a batch could not be deleted", extra={"error": type(exc).__name__})


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/start [code]`: open a consultation from its invite, or continue the current one."""
    code = context.args[0] if context.args else None
    await _run(update, context, Begin(code))


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/help`: what this is, the commands, where to get support."""
    await _run(update, context, AskHelp())


async def on_stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/stop`: stop for now; answers are kept and /start continues."""
    await _run(update, context, Do(Command.STOP))


async def on_skip(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/skip`: skip the current question."""
    await _run(update, context, Do(Command.SKIP))


async def on_back(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/back`: the previous question again; its answer can be changed."""
    await _run(update, context, Do(Command.BACK))


async def on_pause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/pause`: keep the place; /resume or /start goes on."""
    await _run(update, context, Do(Command.PAUSE))


async def on_resume(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/resume`: continue the current consultation where it was left."""
    await _run(update, context, Begin(None))


async def on_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/language`: choose the language; the current question is shown again in it."""
    await _run(update, context, AskLanguage())


async def on_privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/privacy`: what is kept, where, for how long, who sees it, and the participant's rights."""
    await _run(update, context, AskPrivacy())


async def on_exit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/exit`: the safe exit: every message of this chat the bot may delete is deleted; the session ends."""
    await _run(update, context, Exit())


async def on_delete(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/delete`: erase everything the person gave, after a confirmation."""
    await _run(update, context, AskDelete())


async def on_mydata(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/mydata`: what is stored about the person, answers included (the access right)."""
    await _run(update, context, AskMyData())


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Plain text: an answer, or an option typed as its label or number."""
    assert update.message is not None and update.message.text is not None
    await _run(update, context, Said(update.message.text))


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command we do not have: explain, then show the question again."""
    await _run(update, context, Other("command"))


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice notes, locations, contacts...: nothing is downloaded or stored."""
    await _run(update, context, Other("media"))


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button press: always acknowledged; a stale one changes nothing."""
    query = update.callback_query
    assert query is not None
    chat = query.message.chat if query.message is not None else None
    if chat is None or chat.type != ChatType.PRIVATE:
        await query.answer()
        return
    outcome = await _run(update, context, Press(query.data or ""))
    await query.answer(outcome.callback_note if outcome and outcome.callback_note else None)


async def send_replies(update: Update, context: ContextTypes.DEFAULT_TYPE, replies: list[Reply]) -> list[int]:
    """Send (or edit in place) the replies; return the ids of the messages sent."""
    chat = update.effective_chat
    sent: list[int] = []
    if chat is None:
        return sent
    pressed = update.callback_query.message if update.callback_query else None
    for reply in replies:
        markup = _markup(reply)
        if reply.replace and pressed is not None:
            try:
                await context.bot.edit_message_text(
                    reply.text, chat_id=chat.id, message_id=pressed.message_id, reply_markup=markup
                )
                continue
            except BadRequest as exc:
                if "not modified" in str(exc):
                    continue
                log.warning("could not edit a message; sending a new one", extra={"error": type(exc).__name__})
        message = await context.bot.send_message(chat.id, reply.text, reply_markup=markup)
        sent.append(message.message_id)
    return sent


def _markup(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.keyboard:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in reply.keyboard]
    )


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log what failed (type and place, no personal data) and apologise kindly; the place is kept."""
    error = context.error
    log.error(
        "update failed: %s",
        type(error).__name__,
        exc_info=error if not isinstance(error, TelegramError) else None,
        extra={"event": "update.error", "error": type(error).__name__},
    )
    if isinstance(update, Update) and update.effective_chat is not None:
        lang = (update.effective_user.language_code or "en") if update.effective_user else "en"
        text = t(
            lang[:2],
            "Sorry, something went wrong on our side. Your answers so far are safe. "
            "Please try again in a moment, or send /start to continue.",
        )
        try:
            if update.callback_query is not None:
                await update.callback_query.answer()
            await context.bot.send_message(update.effective_chat.id, text)
        except TelegramError:
            log.warning("could not send the apology", extra={"event": "update.error.apology"})
