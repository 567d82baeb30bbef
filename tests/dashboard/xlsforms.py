"""XLSForm spreadsheets for the upload tests, built with openpyxl as a CSO's spreadsheet program would save them."""

from __future__ import annotations

import io

from openpyxl import Workbook

SURVEY = [
    ["type", "name", "label::English (en)", "label::Français (fr)", "relevant"],
    ["select_one yes_no", "heard", "Have you heard of the plan?", "Connaissez-vous le plan ?", ""],
    ["text", "where", "Where did you hear of it?", "Où en avez-vous entendu parler ?", "${heard} = 'yes'"],
    ["select_one yes_no", "enough", "Is the plan doing enough?", "Le plan en fait-il assez ?", ""],
]
CHOICES = [
    ["list_name", "name", "label::English (en)", "label::Français (fr)"],
    ["yes_no", "yes", "Yes", "Oui"],
    ["yes_no", "no", "No", "Non"],
]
SETTINGS = [["form_id", "version", "default_language"], ["plan_survey", "3", "English (en)"]]
GEOPOINT_ROW = ["geopoint", "location", "Where are you?", "Où êtes-vous ?", ""]


def xlsx(
    survey: list[list[str]] = SURVEY, choices: list[list[str]] = CHOICES, settings: list[list[str]] = SETTINGS
) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "survey"
    for row in survey:
        sheet.append(row)
    for title, rows in (("choices", choices), ("settings", settings)):
        extra = workbook.create_sheet(title)
        for row in rows:
            extra.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def with_geopoint() -> bytes:
    """The same form with a row a chat cannot ask (row 5 of the survey sheet)."""
    return xlsx([*SURVEY, GEOPOINT_ROW])
