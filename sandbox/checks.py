"""Bot API parameters as Telegram reads them, and the checks that matter: text length, inline keyboards,
callback_data of 1-64 bytes. Each refusal carries Telegram's own description."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from sandbox.models import (
    MAX_CALLBACK_DATA_BYTES,
    MAX_INLINE_BUTTONS,
    MAX_TEXT_LENGTH,
    JsonDict,
    bad_request,
)

_JSON_PARAMS = frozenset({"reply_markup", "entities", "allowed_updates", "commands", "scope", "message_ids"})
_INT_PARAMS = frozenset({"chat_id", "message_id", "offset", "limit", "timeout", "max_connections", "cache_time"})
_BOOL_PARAMS = frozenset({"protect_content", "show_alert", "drop_pending_updates", "disable_notification"})
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


def as_int(value: Any) -> Any:
    """A decimal string as an int (form and query values are strings); anything else unchanged."""
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,20}", value.strip()):
        return int(value.strip())
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
                    raise bad_request("can't parse reply keyboard markup JSON object") from None
                raise bad_request(f"can't parse {key} JSON object") from None
        elif key in _INT_PARAMS:
            out[key] = as_int(value)
        elif key in _BOOL_PARAMS:
            out[key] = _as_bool(value)
        else:
            out[key] = value
    return out


def int_param(params: JsonDict, name: str, missing: str) -> int:
    """A required integer parameter."""
    value = params.get(name)
    if value is None or value == "":
        raise bad_request(missing)
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f'field "{name}" must be a valid Number')
    return value


def opt_int(params: JsonDict, name: str, default: int) -> int:
    """An optional integer parameter."""
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f'field "{name}" must be a valid Number')
    return value


def opt_str(params: JsonDict, name: str) -> str | None:
    """An optional string parameter."""
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool | dict | list):
        raise bad_request(f'field "{name}" must be of type String')
    return str(value)


def checked_text(params: JsonDict) -> str:
    """The message text as Telegram stores it (trimmed), within 1-4096 characters.

    The bot sends plain text only, so the emulator does not parse ``parse_mode`` markup: it refuses it rather
    than store markup as if it were text.
    """
    parse_mode = opt_str(params, "parse_mode")
    if parse_mode:
        raise bad_request(f"parse_mode {parse_mode!r} is not emulated by the sandbox (Voices sends plain text)")
    text = (opt_str(params, "text") or "").strip()
    if not text:
        raise bad_request("message text is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return text


def checked_entities(raw: Any) -> list[JsonDict]:
    """Explicit ``entities``: a list of objects with a type, an offset and a length."""
    if raw is None or raw == "":
        return []
    if not isinstance(raw, list):
        raise bad_request("can't parse entities JSON object")
    for entity in raw:
        if not isinstance(entity, dict) or not isinstance(entity.get("type"), str):
            raise bad_request("can't parse MessageEntity JSON object")
        if not all(isinstance(entity.get(k), int) and entity[k] >= 0 for k in ("offset", "length")):
            raise bad_request("can't parse MessageEntity JSON object")
    return copy.deepcopy(raw)


def checked_reply_markup(raw: Any) -> JsonDict | None:
    """An inline keyboard (every button checked), or None. Private chats with this bot get no other keyboard."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, dict) or "inline_keyboard" not in raw:
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = raw["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    buttons = [button for row in rows for button in row]
    for button in buttons:
        check_inline_button(button)
    if len(buttons) > MAX_INLINE_BUTTONS:
        raise bad_request("reply markup is too long")
    return copy.deepcopy(raw)


def check_inline_button(button: Any) -> None:
    """One inline button: a text and exactly one action; callback_data of 1-64 bytes (UTF-8)."""
    if not isinstance(button, dict):
        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    if "text" not in button:
        raise bad_request("can't parse inline keyboard button: Can't find field \"text\"")
    if not isinstance(button["text"], str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
    if not button["text"].strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [key for key in _BUTTON_ACTIONS if key in button]
    if not actions:
        raise bad_request("text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(
            "can't parse inline keyboard button: exactly one of the optional fields must be used, "
            f"got {', '.join(actions)}"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not (1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES):
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not re.match(r"^(https?|tg)://\S+$", url, re.IGNORECASE):
            raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
