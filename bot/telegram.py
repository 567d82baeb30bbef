"""The Telegram adapter: a python-telegram-bot Application with thin handlers (Update → neutral input →
consultations → neutral outcome → Bot API calls)."""

from __future__ import annotations

import json
import logging
from typing import Any

from telegram import CallbackQuery, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
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

from bot import callback_data
from bot.intake import DEFERRED, FAILED, record_outcome
from bot.keyboard import words
from bot.metrics import CountingRequest
from bot.outbox import OutboxSender
from config.errors import DatabaseUnavailable
from config.i18n import t
from consultations.interactions import (
    AskDelete,
    AskHelp,
    AskLanguage,
    AskMyData,
    AskPrivacy,
    AskResults,
    Begin,
    Do,
    Exit,
    Incoming,
    Other,
    Outcome,
    Press,
    Said,
    Sender,
)
from consultations.service import ConversationService
from flows.events import Command

log = logging.getLogger(__name__)

SERVICE_KEY = "voices_service"
OUTBOX_KEY = "voices_outbox"
BotApplication = Application[Any, Any, Any, Any, Any, Any]
"""Our Application: handlers take PTB's default context; its generic parameters add nothing here."""
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
    ("results", "What came of the consultation"),
    ("help", "What this is and how it works"),
]


class UpdatesRequest(CountingRequest):
    """The getUpdates connection. A response that is not JSON is refused without logging any of it (PTB's own
    parser logs the payload whole); each update in it is read on its own by the poller (`bot.intake.read_update`).

    `parse_json_payload` is the hook python-telegram-bot documents for customising how responses are read."""

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        try:
            data = json.loads(payload.decode("utf-8", "replace"))
        except ValueError as exc:
            log.warning("unreadable getUpdates response", extra={"error": type(exc).__name__})
            raise TelegramError("Invalid server response") from None
        if not isinstance(data, dict):
            raise TelegramError("Invalid server response")
        return data


DEFAULT_MAX_UPDATES_IN_FLIGHT = 16


def build_application(
    service: ConversationService,
    *,
    token: str,
    base_url: str,
    max_updates_in_flight: int = DEFAULT_MAX_UPDATES_IN_FLIGHT,
) -> BotApplication:
    """The PTB Application, wired to the service, with the outbox sender that delivers the service's replies
    (started and stopped with the Application). It has no Updater: bot.intake feeds it, from the webhook or its
    own polling loop, at most `max_updates_in_flight` updates at once (PTB's update processor). No PTB rate
    limiter: the sender keeps to Telegram's limits for the bot as a whole."""
    bot: ExtBot[None] = ExtBot(
        token,
        base_url=base_url,
        defaults=Defaults(protect_content=True),
        request=CountingRequest(connection_pool_size=32),
        get_updates_request=UpdatesRequest(connection_pool_size=2),
    )
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        Application.builder()
        .bot(bot)
        .post_init(_post_init)
        .application_class(VoicesApplication)
        .updater(None)
        .concurrent_updates(max_updates_in_flight)
    )
    application = builder.build()
    sender = OutboxSender(service.db, service.keys, bot)
    service.attach_sender(sender.lease_owner, sender.written)
    application.bot_data[OUTBOX_KEY] = sender
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
    application.add_handler(CommandHandler("results", on_results, filters=PRIVATE))
    application.add_handler(CallbackQueryHandler(on_press))
    application.add_handler(MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, on_text))
    application.add_handler(MessageHandler(PRIVATE & filters.COMMAND, on_unknown_command))
    application.add_handler(MessageHandler(PRIVATE & ~filters.TEXT, on_other))
    application.add_error_handler(on_error)
    return application


class VoicesApplication(Application[Any, Any, Any, Any, Any, Any]):
    """PTB's Application, starting and stopping the outbox sender with itself."""

    async def start(self) -> None:
        await super().start()
        await outbox_sender(self).start()

    async def stop(self) -> None:
        await outbox_sender(self).stop()
        await super().stop()


def outbox_sender(application: BotApplication) -> OutboxSender:
    sender: OutboxSender = application.bot_data[OUTBOX_KEY]
    return sender


async def _post_init(application: BotApplication) -> None:
    await application.bot.set_my_commands(COMMANDS)


def _service(context: ContextTypes.DEFAULT_TYPE) -> ConversationService:
    service: ConversationService = context.application.bot_data[SERVICE_KEY]
    return service


def _sender(update: Update) -> Sender | None:
    user = update.effective_user
    if user is None or user.is_bot:
        return None
    message = update.effective_message
    return Sender(
        identity=user.id, language_code=user.language_code, message_id=message.message_id if message else None
    )


async def _run(update: Update, context: ContextTypes.DEFAULT_TYPE, incoming: Incoming) -> Outcome | None:
    """The core handles the input and writes its replies (and the safe exit's deletions) to the outbox in the
    same transaction; once committed, it hands them to the outbox sender to deliver now (`attach_sender`). A
    duplicate update resends whatever of it is still unsent."""
    sender = _sender(update)
    if sender is None:
        return None
    outcome = await _service(context).handle(update.update_id, sender, incoming)
    if outcome.duplicate:
        log.info("duplicate update: its unsent replies are due again", extra={"event": "update.duplicate"})
    return outcome


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


async def on_results(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/results`: the latest publication of the consultation, short, in the person's language."""
    await _run(update, context, AskResults())


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
    message = update.message
    if message is None or message.text is None:  # the filter lets only text messages through
        return
    await _run(update, context, Said(message.text))


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command we do not have: explain, then show the question again."""
    await _run(update, context, Other("command"))


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice notes, locations, contacts...: nothing is downloaded or stored."""
    await _run(update, context, Other("media"))


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button press: always acknowledged; a stale one changes nothing."""
    query = update.callback_query
    if query is None:  # the handler is only called for callback queries
        return
    chat = query.message.chat if query.message is not None else None
    if chat is None or chat.type != ChatType.PRIVATE:
        await _acknowledge(query)
        return
    outcome = await _run(update, context, Press(callback_data.decode(query.data or "")))
    note = words(outcome.note, outcome.language) if outcome is not None and outcome.note is not None else None
    await _acknowledge(query, note)


async def _acknowledge(query: CallbackQuery, note: str | None = None) -> None:
    """Answer the press (it stops the button's spinner). Best effort: the press was handled and committed before,
    so Telegram refusing the answer (flood control, a 5xx, a query already answered by a worker that died) is no
    failure of the update and no reason to apologise."""
    try:
        await query.answer(note)
    except TelegramError as exc:
        log.warning("could not answer a button press", extra={"event": "update.press", "error": type(exc).__name__})


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log what failed (type and place, no personal data) and apologise kindly; the place is kept. A database
    that is unavailable is no bug: nothing was done, the update is left for redelivery (bot.intake) and no apology
    is sent for it."""
    error = context.error
    if isinstance(error, DatabaseUnavailable):
        log.warning("database unavailable: %s", error, extra={"event": "update.deferred"})
        record_outcome(context.application, update, DEFERRED)
        return
    record_outcome(context.application, update, FAILED)
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
