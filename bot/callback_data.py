"""THE callback-data codec: neutral actions (consultations.interactions) to Telegram's callback_data and back.

Formats (each at most 64 bytes, Telegram's limit):
    <scope>.<step>.<token>   Answer: a choice of a flow step (scope: a consultation or invite code)
    <scope>.<step>.<token>.<language>.<seal>
                             Answer on the consent message: the language it was shown in, the core's seal
    L:<language>:<scope>     ChooseLanguage (scope may be empty)
    L:pick:<scope>           PickLanguage
    del:y / del:n            ConfirmDelete
    res:<code>               ResultsOptIn
    P:<language>:<scope>     ShowPrivacy
    x                        LeaveChat (the safe exit)
Anything else decodes to None: a button from an old version, another bot, or a forged update changes nothing.
"""

from __future__ import annotations

import re

from config.errors import VoicesError
from consultations.consent import SEAL_LENGTH
from consultations.interactions import (
    Action,
    Answer,
    ChooseLanguage,
    ConfirmDelete,
    LeaveChat,
    PickLanguage,
    ResultsOptIn,
    ShowPrivacy,
)
from flows.events import MAX_STEPS, MAX_TOKEN_LENGTH

MAX_BYTES = 64
"""Telegram's limit for callback_data."""
MAX_CODE_LENGTH = 32
"""Consultation and invite codes are at most this long (storage.models: Invite.code)."""
CODE = rf"[A-Za-z0-9_-]{{1,{MAX_CODE_LENGTH}}}"
ANSWER = re.compile(
    rf"({CODE})\.(0|[1-9]\d{{0,{len(str(MAX_STEPS - 1)) - 1}}})\.([a-z0-9]{{1,{MAX_TOKEN_LENGTH}}})"
    rf"(?:\.([a-z]{{2,3}})\.([0-9a-f]{{{SEAL_LENGTH}}}))?"
)
LANGUAGE = re.compile(rf"L:([a-z]{{2,3}}):({CODE})?")
PICK = re.compile(rf"L:pick:({CODE})?")
RESULTS = re.compile(rf"res:({CODE})")
PRIVACY = re.compile(rf"P:([a-z]{{2,3}}):({CODE})")
LEAVE = "x"
DELETE = {"del:y": True, "del:n": False}


class CallbackDataError(VoicesError):
    """An action that cannot be put on a Telegram button (a bug: flows and codes are checked to fit)."""


def encode(action: Action) -> str:
    """The callback_data for an action; raises CallbackDataError when it would not decode back or not fit."""
    if isinstance(action, Answer):
        data = f"{action.scope}.{action.step}.{action.token}"
        if action.language or action.seal:
            data += f".{action.language}.{action.seal}"
    elif isinstance(action, ChooseLanguage):
        data = f"L:{action.language}:{action.scope}"
    elif isinstance(action, PickLanguage):
        data = f"L:pick:{action.scope}"
    elif isinstance(action, ConfirmDelete):
        data = "del:y" if action.erase else "del:n"
    elif isinstance(action, ShowPrivacy):
        data = f"P:{action.language}:{action.scope}"
    elif isinstance(action, LeaveChat):
        data = LEAVE
    else:
        data = f"res:{action.code}"
    if len(data.encode()) > MAX_BYTES or decode(data) != action:
        raise CallbackDataError(f"{action!r} cannot be carried by a Telegram button")
    return data


def decode(data: str) -> Action | None:
    """The action a button carries, or None for anything this codec did not make."""
    if data == LEAVE:
        return LeaveChat()
    if data in DELETE:
        return ConfirmDelete(erase=DELETE[data])
    if match := PRIVACY.fullmatch(data):
        return ShowPrivacy(match.group(2), match.group(1))
    if match := PICK.fullmatch(data):
        return PickLanguage(match.group(1) or "")
    if match := LANGUAGE.fullmatch(data):
        return ChooseLanguage(match.group(1), match.group(2) or "")
    if match := RESULTS.fullmatch(data):
        return ResultsOptIn(match.group(1))
    if match := ANSWER.fullmatch(data):
        return Answer(match.group(1), int(match.group(2)), match.group(3), match.group(4) or "", match.group(5) or "")
    return None
