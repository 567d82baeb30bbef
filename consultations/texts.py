"""The core's own messages: welcome, invalid invite, help, privacy notice, help resources, language names."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError

from config.help_resources import HelpResources, stored_entries
from config.i18n import t
from consultations.interactions import Reply
from flows.events import Command
from storage.models import Consultation
from storage.repository import DEFAULT_MIN_CELL


def welcome(language: str) -> Reply:
    return Reply(t(language, "Welcome. To take part, please open the invite link you were given."), language)


def invalid_invite(language: str) -> Reply:
    text = t(
        language,
        "This invite link is not valid, or the consultation has closed. "
        "Please ask the organisation that shared it with you for a new link.",
    )
    return Reply(text, language)


def consultation_closed(language: str) -> Reply:
    text = t(language, "This consultation has closed, so no more answers can be given. Thank you for taking part.")
    return Reply(text, language)


def results_later(language: str) -> Reply:
    text = t(language, "The organisation that runs this consultation will share its results when they are ready.")
    return Reply(text, language)


def finished(language: str, command: Command | None = None) -> Reply:
    """For someone whose consultation is over, sending what only means something during one."""
    if command is Command.BACK:
        text = t(
            language,
            "You have finished this consultation, so there is no earlier question to go back to. "
            "/mydata shows your answers.",
        )
    elif command is Command.SKIP:
        text = t(
            language,
            "You have finished this consultation, so there is no question to skip. /mydata shows your answers.",
        )
    else:
        text = t(
            language, "You have finished this consultation. Thank you for taking part! /mydata shows your answers."
        )
    return Reply(text, language)


def paused(language: str) -> Reply:
    return Reply(t(language, "You have paused. Send /start to continue from the same question."), language)


def help_text(language: str) -> Reply:
    text = t(
        language,
        "This bot collects private views on your country’s plan to end forced labour, "
        "human trafficking and child labour.\n\n"
        "/start – begin or continue\n/skip – skip the current question\n"
        "/back – go back to the previous question\n/pause – take a break; /resume goes on\n"
        "/stop – stop now; your answers so far are kept\n/language – change language\n"
        "/exit – delete this chat now\n/mydata – see what is kept about you\n"
        "/delete – erase everything you gave\n/privacy – how your answers are protected\n"
        "/help – this message",
    )
    return Reply(text, language)


def privacy_notice(language: str, consultation: Consultation | None) -> Reply:
    organisation = (consultation.organisation if consultation else None) or t(
        language, "the organisation that shared the link with you"
    )
    text = t(
        language,
        "Your privacy\n\n"
        "• Who: this consultation is run by %(organisation)s. Reviewers only ever see totals, never who said "
        "what, and never a number smaller than %(k)s.\n"
        "• What is kept: your answers, and a code made from your Telegram account that cannot be turned back "
        "into it. Never your name, username, phone number or Telegram id. Phone numbers, e-mails and links "
        "you write are removed, and written answers are locked (encrypted).\n"
        "• Where and how long: on the organisation’s server, until some time after the consultation closes; "
        "then only the totals are kept.\n"
        "• Your rights: /mydata shows what is kept about you, /delete erases it, /exit clears this chat.\n"
        "• Telegram chats with bots are not end-to-end encrypted.",
        organisation=organisation,
        k=consultation.min_cell if consultation is not None else DEFAULT_MIN_CELL,
    )
    if consultation is not None and consultation.contact:
        text += "\n\n" + t(language, "Contact: %(contact)s", contact=consultation.contact)
    return Reply(text, language)


def help_resources(resources: HelpResources, consultation: Consultation | None, language: str) -> Reply:
    """Help contacts configured by the organisation for this consultation or country (never invented)."""
    found = resources.resources_for(
        consultation.country if consultation else None,
        consultation.code if consultation else None,
        language,
        extra=stored_entries(consultation.help_resources) if consultation else (),  # entered in the dashboard
    )
    if not found:
        text = t(language, "If you need help or support, please ask the organisation that shared the link with you.")
        return Reply(text, language)
    lines = [t(language, "If you need help or support, you can contact:")]
    for resource in found:
        parts = [f"• {resource.name}"]
        parts += [x for x in (resource.phone, resource.url, resource.hours, resource.note) if x]
        lines.append("\n   ".join(parts))
    return Reply("\n".join(lines), language)


def language_name(code: str) -> str:
    """A language's name in itself ("Français", "العربية", "Kiswahili"), for the language options."""
    try:
        name = Locale.parse(code).get_display_name(code) or code
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:]
