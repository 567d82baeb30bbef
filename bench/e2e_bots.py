"""The two bots `bench/e2e.py` compares Voices 8.7 with, each run in its own process against the same Bot API
stand-in: `python -m bench.e2e_bots floor|peer --base-url URL --data DIR`.

- floor: a bare python-telegram-bot echo bot (text echoed, a button press answered and echoed), the least any
  bot on this library can cost per update;
- peer: the usual way to build a questionnaire on python-telegram-bot: a ConversationHandler with
  PicklePersistence, asking roadmap_feedback's questions in English with the same buttons (consent, age band,
  single and multiple choice with a "Done" button) and a typed answer, keeping the answers in `user_data`.
Both import python-telegram-bot and nothing of Voices (the peer's questions come from a JSON file).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)

Step = dict[str, Any]
"""One question as bench/e2e.py writes it: id, type, text, options [{code, label}] (English)."""

DONE = "Done"
AGE_BANDS = ("Under 18", "18 to 24", "25 to 34", "35 to 49", "50 or older")
OK = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]])


# ----------------------------------------------------------------------------------------------- the floor


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(update.effective_message.text or "?", reply_markup=OK)


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or update.effective_chat is None:
        return
    await query.answer()
    await context.bot.send_message(update.effective_chat.id, f"pressed {query.data}", reply_markup=OK)


def floor(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.add_handler(CallbackQueryHandler(pressed))


# ----------------------------------------------------------------------------------------------- the peer


def keyboard(step: Step, chosen: list[str]) -> InlineKeyboardMarkup | None:
    if step["type"] == "age_gate":
        return InlineKeyboardMarkup([[InlineKeyboardButton(b, callback_data=f"age:{b}")] for b in AGE_BANDS])
    if not step["options"]:
        return None
    rows = [
        [InlineKeyboardButton(("✅ " if o["code"] in chosen else "") + o["label"], callback_data=f"o:{o['code']}")]
        for o in step["options"]
    ]
    if step["type"] == "multiple_choice":
        rows.append([InlineKeyboardButton(DONE, callback_data="done")])
    return InlineKeyboardMarkup(rows)


def peer(application: Application[Any, Any, Any, Any, Any, Any], flow: list[Step]) -> None:
    consent = next(s for s in flow if s["type"] == "consent")
    end = next(s for s in flow if s["type"] == "end")
    steps = [s for s in flow if s["type"] not in ("consent", "end")]

    async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE, index: int) -> int:
        if update.effective_chat is None:
            return ConversationHandler.END
        if index >= len(steps):
            await context.bot.send_message(update.effective_chat.id, end["text"])
            return ConversationHandler.END
        step = steps[index]
        await context.bot.send_message(update.effective_chat.id, step["text"], reply_markup=keyboard(step, []))
        return index

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        if update.effective_message is None:
            return ConversationHandler.END
        agree = InlineKeyboardMarkup(
            [[InlineKeyboardButton("I agree", callback_data="agree")], [InlineKeyboardButton("No", callback_data="no")]]
        )
        await update.effective_message.reply_text(consent["text"], reply_markup=agree)
        return -2

    async def agreed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        if update.callback_query is not None:
            await update.callback_query.answer()
        return await ask(update, context, 0)

    def answer_handler(index: int) -> Any:
        step = steps[index]

        async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
            query = update.callback_query
            data = context.user_data if context.user_data is not None else {}
            if query is None or query.data is None:
                return index
            await query.answer()
            if step["type"] == "multiple_choice" and query.data != "done":
                chosen: list[str] = data.setdefault(step["id"], [])
                code = query.data.removeprefix("o:")
                if code in chosen:
                    chosen.remove(code)
                else:
                    chosen.append(code)
                await query.edit_message_text(step["text"], reply_markup=keyboard(step, chosen))
                return index
            if step["type"] != "multiple_choice":
                data[step["id"]] = query.data
            return await ask(update, context, index + 1)

        async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
            if update.effective_message is None or context.user_data is None:
                return index
            context.user_data[step["id"]] = update.effective_message.text
            return await ask(update, context, index + 1)

        if step["options"] or step["type"] == "age_gate":
            return [CallbackQueryHandler(on_press)]
        return [MessageHandler(filters.TEXT & ~filters.COMMAND, on_text)]

    states: dict[object, list[Any]] = {-2: [CallbackQueryHandler(agreed, pattern="^agree$")]}
    states.update({index: answer_handler(index) for index in range(len(steps))})
    application.add_handler(
        ConversationHandler(
            entry_points=[CommandHandler("start", start)],
            states=states,
            fallbacks=[CommandHandler("start", start)],
            name="questionnaire",
            persistent=True,
            per_message=False,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("kind", choices=("floor", "peer"))
    parser.add_argument("--base-url", required=True, help="the Bot API stand-in, e.g. http://127.0.0.1:8081/bot")
    parser.add_argument("--token", required=True, help="the bot token the stand-in accepts")
    parser.add_argument("--data", type=Path, required=True, help="the peer's questions.json, and its pickle")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    builder = Application.builder().token(args.token).base_url(args.base_url)
    if args.kind == "peer":
        builder = builder.persistence(PicklePersistence(filepath=args.data / "peer.pickle"))
    application = builder.build()
    if args.kind == "peer":
        peer(application, json.loads((args.data / "questions.json").read_text(encoding="utf-8")))
    else:
        floor(application)
    application.run_polling(allowed_updates=["message", "callback_query"], poll_interval=0.0, timeout=10)


if __name__ == "__main__":
    main()
