"""What a chat cannot ask, and how the importer says so: one line per row, naming the sheet, row and remedy."""

from __future__ import annotations

import re
from typing import Any

CHAT = "not possible in a Telegram conversation; "
REFUSED: dict[str, str] = {
    "geopoint": CHAT + "replace with a text question (e.g. 'Which village?')",
    "geotrace": CHAT + "replace with a text question (e.g. 'Which road or path?')",
    "geoshape": CHAT + "replace with a text question (e.g. 'Which area or district?')",
    "photo": CHAT + "replace with a text question that asks what the picture would show",
    "signature": CHAT + "replace with an acknowledge question (e.g. 'I confirm ...')",
    "audio": CHAT + "replace with a text question",
    "video": CHAT + "replace with a text question",
    "file": CHAT + "replace with a text question",
    "barcode": CHAT + "replace with a text question (the code typed in)",
    "rank": CHAT + "replace with select_multiple (e.g. 'Choose the 3 most important')",
    "range": CHAT + "replace with select_one over the values, or an integer with a constraint",
    "time": CHAT + "replace with select_one (e.g. morning / afternoon / evening / night)",
    "dateTime": CHAT + "replace with a date question",
    "repeat": CHAT + "ask a fixed number of questions (e.g. about the first 3 children) or ask for a count",
    "loop": CHAT + "ask the questions once for each choice as separate questions",
    "osm": CHAT + "replace with a text question",
    "background-audio": CHAT + "remove it (the bot never records)",
    "xml-external": CHAT + "external data is not supported; copy what you need into the choices sheet",
    "csv-external": CHAT + "external data is not supported; copy what you need into the choices sheet",
    "select_from_file": "choices from a file are not supported; copy them into the choices sheet",
    "select_external": "choices from a file are not supported; copy them into the choices sheet",
    "select_from_answers": "choices made of earlier answers are not supported; list the choices in the choices sheet",
    "phone number": "asks for a phone number, which would identify the participant; remove it",
    "external app": CHAT + "it opens another Android app; remove the 'ex:' appearance",
    "printer": CHAT + "it prints; remove the 'printer' appearance",
    "bearing": CHAT + "it reads the compass; remove the 'bearing' appearance",
    "unsupported": CHAT + "this question type is not supported; replace with a text question",
}
IDENTIFYING_METADATA = {
    "deviceid",
    "phonenumber",
    "simserial",
    "subscriberid",
    "username",
    "email",
    "start-geopoint",
    "background-geopoint",
}
"""Metadata that would identify the participant (or where they are): dropped and listed."""
SILENT_METADATA = {"start", "end", "today", "audit", "instanceid"}
"""Metadata a chat has no use for: dropped without a word."""


def short_expression_error(message: str) -> str:
    """The parser's message, shortened where a form author only needs the gist."""
    function = re.search(r"function ([\w:\-]+)\(\) is not supported", message)
    if function:
        return f"uses {function[1]}(), which the bot cannot evaluate"
    return message


def pyxform_message(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


def locate(message: str, workbook: Any) -> str:
    """pyxform's '[row : 45] On the 'survey' sheet, ...' as 'survey sheet, row 45: ...'; add a row when missing."""
    match = re.match(r"^\[row\s*:\s*(\d+)\]\s*(?:On the '(\w+)' sheet,\s*)?(.*)$", message, re.S)
    if match:
        sheet = match[2] or "survey"
        rest = match[3][:1].upper() + match[3][1:]
        return f"{sheet} sheet, row {match[1]}: {rest}"
    match = re.match(r"^On the '(\w+)' sheet,?\s*(.*)$", message, re.S)
    sheet = match[1] if match else "survey"
    for quoted in re.findall(r"'([^']+)'", message):
        rows = getattr(workbook, sheet, None) or []
        for number, row in enumerate(rows, start=2):
            if quoted in (row.get("name"), row.get("type")):
                return f"{sheet} sheet, row {number}: {message}"
    return message


def ranges(numbers: list[int]) -> str:
    """[4, 5, 6, 9] -> '4-6, 9'."""
    parts: list[str] = []
    for n in sorted(numbers):
        if parts and parts[-1].split("-")[-1] == str(n - 1):
            parts[-1] = f"{parts[-1].split('-')[0]}-{n}"
        else:
            parts.append(str(n))
    return ", ".join(parts)
