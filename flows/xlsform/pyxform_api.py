"""Everything the importer takes from pyxform, in one place, each with the reason it is taken that way.

pyxform's public interface is `pyxform.xls2xform.convert` (a form in, an XForm and warnings out), the names
`pyxform/__init__.py` exports (`QUESTION_TYPE_DICT`, ...) and `pyxform.errors.PyXFormError`. The importer uses
`convert` to check a form exactly as ODK would. It also needs what `convert` does not hand out: the sheets
row by row (so every refusal names its row), headers and type names resolved the way pyxform resolves them,
and XLSForm's yes/no words. pyxform has no public function for those; the helpers below call the modules
pyxform itself uses, so an XLSForm means to us exactly what it means to ODK.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import warnings
from pathlib import Path
from typing import Any

from pyxform import QUESTION_TYPE_DICT, MultipleChoiceQuestion
from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert

__all__ = [
    "QUESTION_TYPE_DICT",
    "PyXFormError",
    "begin_control",
    "check_form",
    "control_type",
    "dealias",
    "end_control",
    "is_settings_type",
    "read_workbook",
    "select_command",
    "whole_cell_boolean",
    "yes_no",
]

Workbook = Any
"""pyxform's DefinitionData: the sheets as lists of {column: cell} rows, plus their headers."""


def read_workbook(path: Path) -> Workbook:
    """The sheets of an .xlsx/.xls/.csv/.md form, rows in sheet order (survey row n is at index n - 2)."""
    # No public API returns the sheets row by row; `convert` reads them with this same function.
    from pyxform.xls2json_backends import get_xlsform

    with warnings.catch_warnings():  # openpyxl's notes about workbook styles are not the CSO's concern
        warnings.simplefilter("ignore")
        return get_xlsform(str(path))


def check_form(workbook: Workbook) -> None:
    """pyxform's own checks (PyXFormError, naming the sheet and row, when ODK would refuse the form)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        convert(dataclasses.asdict(copy.deepcopy(workbook)), warnings=[])


def dealias(workbook: Workbook, default_language: str, settings: dict[str, Any]) -> tuple[list[dict[str, Any]], ...]:
    """The survey and choices rows with headers and types resolved as pyxform resolves them
    (`label::English (en)` -> {"label": {"English (en)": ...}}, `list name` -> `list_name`, `select one` ->
    `select_one`...)."""
    # No public API: this is the first step of pyxform's workbook_to_json, which `convert` runs internally.
    from pyxform import aliases, constants
    from pyxform.parsing.sheet_headers import dealias_and_group_headers
    from pyxform.question import Option
    from pyxform.xls2json import dealias_types

    clean = aliases.yes_no.get(settings.get("clean_text_values", "yes"), True)
    survey = dealias_and_group_headers(
        sheet_name=constants.SURVEY,
        sheet_data=copy.deepcopy(workbook.survey or []),
        sheet_header=workbook.survey_header,
        header_aliases=aliases.survey_header,
        header_columns=set(MultipleChoiceQuestion.get_slot_names()),
        headers_required={constants.TYPE},
        default_language=default_language,
        strip_whitespace=clean,
    )
    choices: list[dict[str, Any]] = []
    if workbook.choices:
        choices = list(
            dealias_and_group_headers(
                sheet_name=constants.CHOICES,
                sheet_data=copy.deepcopy(workbook.choices),
                sheet_header=workbook.choices_header,
                header_aliases=aliases.list_header,
                header_columns=set(Option.get_slot_names()),
                default_language=default_language,
                add_row_number=True,
            ).data
        )
    return list(dealias_types(list(survey.data))), choices


# XLSForm's vocabulary (type names, yes/no words) is pyxform's `aliases` table; no public API exposes it, and
# a copy of our own would drift from what ODK accepts.


def yes_no(value: Any) -> bool | None:
    """XLSForm's yes/no words (yes, TRUE, true(), no, FALSE...) as a boolean; None for anything else."""
    from pyxform import aliases

    if value is None:
        return False
    found: bool | None = aliases.yes_no.get(str(value).strip())
    return found


def whole_cell_boolean(value: str) -> str | None:
    """A relevant/constraint/calculation cell that is only a yes/no word (`FALSE`, `yes`) means true() or
    false() to ODK, as pyxform writes it; None for any other expression."""
    from pyxform import aliases

    converted: str | None = aliases.BINDING_CONVERSIONS.get(value.strip())
    return converted


def is_settings_type(kind: str) -> bool:
    from pyxform import aliases

    return bool(aliases.settings_header.get(kind))


def _type_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    # The patterns pyxform matches `type` cells with (begin/end group|repeat|loop, select_one <list> ...).
    from pyxform.xls2json import RE_BEGIN_CONTROL, RE_END_CONTROL, RE_SELECT

    return RE_BEGIN_CONTROL, RE_END_CONTROL, RE_SELECT


def begin_control(kind: str) -> str | None:
    """`begin group` / `begin_repeat` / `begin loop over x` -> group, repeat or loop (None otherwise)."""
    from pyxform import aliases

    match = _type_patterns()[0].search(kind)
    return str(aliases.control[match.group("type")]) if match else None


def end_control(kind: str) -> bool:
    return _type_patterns()[1].search(kind) is not None


def control_type(name: str) -> str:
    from pyxform import aliases

    return str(aliases.control[name])


def select_command(kind: str) -> tuple[str, str, bool] | None:
    """`select_one list or_other` -> (what it selects: select_one, select_multiple, select_one_external, rank,
    or from_file), the list name, whether it has "or other"; None when the type is no select."""
    from pyxform import aliases, constants

    match = _type_patterns()[2].search(kind)
    if match is None:
        return None
    command = match.group("select_command")
    if command in aliases.select_from_file:
        what = "from_file"
    elif aliases.select[command] == constants.SELECT_ONE_EXTERNAL:
        what = "select_one_external"
    elif aliases.select[command] == constants.RANK:
        what = "rank"
    elif aliases.select[command] == constants.SELECT_ONE:
        what = "select_one"
    else:
        what = "select_multiple"
    return what, match.group("list_name"), bool(match.group("specify_other"))
