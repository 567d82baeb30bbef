"""The importer refuses or repairs, with the row named, what would fail or harm mid-conversation: yes/no words
as expressions, questions that identify people, numbers without bounds, repeated choice names; its own texts
come from the interface catalogs, in every interface language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config.errors import FlowError
from flows.loader import parse_flow
from flows.xlsform import ImportResult, import_xlsform

FORMS = Path(__file__).resolve().parent / "xlsforms"


def imported(name: str, **options: Any) -> ImportResult:
    return import_xlsform(FORMS / name, **options)


def steps(result: ImportResult) -> dict[str, dict[str, Any]]:
    return {step["id"]: step for step in result.document["steps"]}


def refusal(name: str, **options: Any) -> list[str]:
    with pytest.raises(FlowError) as caught:
        import_xlsform(FORMS / name, **options)
    return str(caught.value).splitlines()


def write_form(tmp_path: Path, text: str, name: str = "form.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- TRUE / FALSE


def test_a_bare_false_inside_an_expression_is_refused_with_its_row() -> None:
    lines = refusal("booleans.md")
    assert lines[1:] == [
        "survey sheet, row 6, type text: relevant: `FALSE` is not a value in an expression: write false()"
    ]


def test_whole_cell_true_and_false_mean_what_they_mean_to_odk() -> None:
    result = imported("booleans.md", skip_unsupported=True)
    by_id = steps(result)
    assert by_id["income"]["relevant"] == "false()"  # never shown, never an error
    assert "relevant" not in by_id["notes"]  # TRUE: always
    assert "required" not in by_id["members"] and by_id["income"]["required"] is True
    assert "survey sheet, row 3, type integer: relevant is FALSE, so this row is never shown" in result.warnings
    assert result.left_out == [
        "survey sheet, row 6, type text: relevant: `FALSE` is not a value in an expression: write false()"
    ]


def test_a_constraint_that_accepts_nothing_is_refused(tmp_path: Path) -> None:
    form = write_form(tmp_path, "| survey |\n|  | type | name | label | constraint |\n|  | text | a | A? | FALSE |\n")
    with pytest.raises(FlowError, match="row 2, type text: constraint: FALSE accepts no answer"):
        import_xlsform(form)


def test_a_regex_re2_cannot_run_is_refused_at_import(tmp_path: Path) -> None:
    form = write_form(
        tmp_path, "| survey |\n|  | type | name | label | constraint |\n|  | text | a | A? | regex(., '(?!x)') |\n"
    )
    with pytest.raises(FlowError, match=r"row 2, type text: constraint: regex\(\) pattern '\(\?!x\)' cannot be used"):
        import_xlsform(form)


# ---------------------------------------------------------------- expressions renamed on the parsed tree


def test_renaming_follows_the_tree_whichever_side_and_quotes(tmp_path: Path) -> None:
    form = write_form(
        tmp_path,
        "| survey |\n"
        "|  | type | name | label | relevant |\n"
        "|  | select_one yn | Agree-Now | Agree? | |\n"
        "|  | text | why | Why? | \"2\" = ${Agree-Now} and (selected(${Agree-Now}, '1') or ${Agree-Now} != '3') |\n"
        "| choices |\n"
        "|  | list_name | name | label |\n"
        "|  | yn | 1 | Yes |\n"
        "|  | yn | 2 | No |\n"
        "|  | yn | 3 | Maybe |\n",
    )
    by_id = steps(import_xlsform(form))
    assert by_id["why"]["relevant"] == (
        "'c_2' = ${agree_now} and (selected(${agree_now}, 'c_1') or ${agree_now} != 'c_3')"
    )


# ---------------------------------------------------------------- numbers get bounds


def test_number_bounds_come_from_the_constraint_or_sensible_defaults(tmp_path: Path) -> None:
    form = write_form(
        tmp_path,
        "| survey |\n"
        "|  | type    | name   | label   | constraint            |\n"
        "|  | integer | staff  | Staff?  | . >= 0 and . <= 10000 |\n"
        "|  | integer | adults | Adults? | . > 0                 |\n"
        "|  | decimal | share  | Share?  | 100 >= .              |\n"
        "|  | integer | years  | Years?  |                       |\n"
        "|  | integer | temp   | Temp?   | . < -5                |\n",
    )
    result = import_xlsform(form)
    by_id = steps(result)
    assert [(by_id[i]["min"], by_id[i]["max"]) for i in ("staff", "adults", "share", "years", "temp")] == [
        (0, 10000),
        (1, 100000),
        (0, 100),
        (0, 100000),
        (-100006, -6),
    ]
    assert by_id["staff"]["constraint"] == ". >= 0 and . <= 10000"
    notes = [w for w in result.warnings if "answers from" in w]
    assert notes[0] == (
        "survey sheet, row 2, type integer: answers from 0 to 10,000 (from the constraint); "
        "change `min` and `max` in the flow if other answers are possible"
    )
    assert "(the form gives no range, so a default)" in notes[3]


def test_a_number_constraint_no_number_meets_is_refused(tmp_path: Path) -> None:
    form = write_form(
        tmp_path, "| survey |\n|  | type | name | label | constraint |\n|  | integer | n | N? | . > 5 and . < 3 |\n"
    )
    with pytest.raises(FlowError, match="row 2, type integer: constraint: no number can satisfy it"):
        import_xlsform(form)


# ---------------------------------------------------------------- repeated choice names


def test_a_choice_name_repeated_in_a_list_keeps_the_first_and_names_the_rows() -> None:
    result = imported("duplicate_allowed.md")
    assert [o["code"] for o in steps(result)["amenity"]["options"]] == ["school", "clinic", "hospital"]
    assert steps(result)["amenity"]["options"][1]["label"] == {"en": "Clinic"}
    assert (
        "choices sheet, rows 3, 5: list place has the choice name 'clinic' 2 times; row 3 is kept, row 5 left out "
        "(give each choice of a list its own name)"
    ) in result.warnings
    assert any("rows 2, 6" in w and "'school'" in w for w in result.warnings)


# ---------------------------------------------------------------- questions that identify a person


IDENTIFYING_ROWS = [
    "survey sheet, row 2, type text: asks for a name",
    "survey sheet, row 3, type text: asks for a phone number",
    "survey sheet, row 4, type text: asks for an address",
    "survey sheet, row 5, type text: asks for an e-mail address",
    "survey sheet, row 6, type integer: asks for an ID or document number",
    "survey sheet, row 7, type date: asks for an exact date of birth",
]


def test_identifying_questions_in_any_language_are_refused_for_survivors() -> None:
    """The English labels here say nothing identifying: French, Spanish, Portuguese, Arabic and Swahili do."""
    lines = refusal("identifying.md", audience="survivor")
    assert lines[0].endswith("(6 rows; fix them, or use --skip-unsupported to import the rest):")
    assert [line.split(", which")[0] for line in lines[1:]] == IDENTIFYING_ROWS
    assert all(line.endswith("; a survivor flow never asks it") for line in lines[1:])
    assert "ask for the region or district instead" in lines[3]


def test_identifying_questions_are_warnings_for_csos() -> None:
    result = imported("identifying.md")
    flagged = [w.split(", which")[0] for w in result.warnings if "would identify a person" in w]
    assert flagged == IDENTIFYING_ROWS
    assert {"org_name", "idea", "started"} <= set(steps(result))


def test_identifying_questions_left_out_with_skip_unsupported() -> None:
    result = imported("identifying.md", audience="survivor", skip_unsupported=True)
    assert [s["id"] for s in result.document["steps"]] == ["consent", "age", "org_name", "idea", "started", "thanks"]


# ---------------------------------------------------------------- generated texts from the interface catalogs

LANGUAGES_FORM = (
    "| survey |\n"
    "|  | type | name | label::{name} |\n"
    "|  | select_one yn or_other | ok | {question} |\n"
    "| choices |\n"
    "|  | list_name | name | label::{name} |\n"
    "|  | yn | yes | {yes} |\n"
    "|  | yn | no | {no} |\n"
)


def test_an_arabic_form_gets_arabic_consent_thank_you_and_other(tmp_path: Path) -> None:
    form = write_form(tmp_path, LANGUAGES_FORM.format(name="العربية (ar)", question="هل توافق؟", yes="نعم", no="لا"))
    result = import_xlsform(form, audience="survivor")
    by_id = steps(result)
    assert by_id["consent"]["text"]["ar"].startswith("مرحبًا. هذا استبيان قصير")
    assert "\u200e/stop" in by_id["consent"]["text"]["ar"]
    assert by_id["thanks"]["text"]["ar"].startswith("شكرًا لك")
    assert by_id["age"]["text"] == {"ar": "كم عمرك؟"}
    assert by_id["ok"]["options"][-1] == {"code": "other", "label": {"ar": "غير ذلك"}}
    assert by_id["ok_other"]["text"] == {"ar": "يُرجى كتابة إجابتك الأخرى."}
    assert not [w for w in result.warnings if "needs translating" in w]
    parse_flow(result.document, "ar.md")


@pytest.mark.parametrize(
    ("name", "consent", "thanks"),
    [
        ("English (en)", "Hello.", "Thank you."),
        ("Français (fr)", "Bonjour.", "Merci."),
        ("Español (es)", "Hola.", "Gracias."),
        ("Português (pt)", "Olá.", "Obrigado."),
        ("Kiswahili (sw)", "Habari.", "Asante."),
    ],
)
def test_every_interface_language_has_the_generated_texts(tmp_path: Path, name: str, consent: str, thanks: str) -> None:
    result = import_xlsform(write_form(tmp_path, LANGUAGES_FORM.format(name=name, question="?", yes="+", no="-")))
    [code] = result.document["languages"]
    by_id = steps(result)
    assert by_id["consent"]["text"][code].startswith(consent) and by_id["thanks"]["text"][code].startswith(thanks)


def test_a_language_without_interface_catalog_gets_english_and_says_so(tmp_path: Path) -> None:
    form = write_form(tmp_path, LANGUAGES_FORM.format(name="Dari", question="موافق هستید؟", yes="بلی", no="نخیر"))
    result = import_xlsform(form)
    by_id = steps(result)
    assert by_id["consent"]["text"]["fa_AF"].startswith("Hello.")
    assert "consent text for fa_AF needs translating" in result.warnings
    assert (
        "consent refusal, thank-you, 'Other' option, 'other' follow-up question text for fa_AF needs translating"
        in result.warnings
    )
