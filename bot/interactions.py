"""What the Telegram adapter hands the conversation service, and what it gets back: neutral dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.events import Command

# ---- in ----


@dataclass(frozen=True)
class Begin:
    """`/start` with the invite code from the deep link, if any."""

    code: str | None


@dataclass(frozen=True)
class Press:
    data: str


@dataclass(frozen=True)
class Said:
    text: str = field(repr=False)


@dataclass(frozen=True)
class Do:
    command: Command


@dataclass(frozen=True)
class Other:
    kind: str


@dataclass(frozen=True)
class AskHelp:
    pass


@dataclass(frozen=True)
class AskLanguage:
    """`/language`: show the languages this person can use."""


@dataclass(frozen=True)
class AskPrivacy:
    """`/privacy`: what is stored, where, for how long, who sees it."""


@dataclass(frozen=True)
class Exit:
    """`/exit`: the safe exit: delete the chat, end the session."""


@dataclass(frozen=True)
class AskDelete:
    """`/delete`: erase everything the person gave (after a confirmation)."""


@dataclass(frozen=True)
class AskMyData:
    """`/mydata`: show what is stored about the person (the access right)."""


Incoming = Begin | Press | Said | Do | Other | AskHelp | AskLanguage | AskPrivacy | Exit | AskDelete | AskMyData

# ---- out ----


@dataclass(frozen=True)
class Reply:
    text: str
    keyboard: tuple[tuple[tuple[str, str], ...], ...] = ()  # rows of (label, callback_data)
    replace: bool = False


@dataclass
class Outcome:
    replies: list[Reply] = field(default_factory=list)
    callback_note: str | None = None  # shown on a pressed button (stale presses)
    duplicate: bool = False
    delete_ids: list[int] = field(default_factory=list)  # the safe exit: message ids to delete in this chat


@dataclass(frozen=True)
class Person:
    """The Telegram user as the adapter sees it. `user_id` only derives the pseudonym (and, in a private chat,
    is the chat to answer); `message_id` is the update's message (or the pressed one), for the safe exit."""

    user_id: int = field(repr=False)
    language_code: str | None = None
    message_id: int | None = None
