"""XLSForm import: small forms written here (pyxform reads .md and .csv forms), one behaviour per test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from config.errors import FlowError
from flows.loader import FlowYamlLoader, load_flow, parse_flow
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


# ---------------------------------------------------------------- a form with every supported type


def test_settings_languages_and_order() -> None:
    result = imported("all_types.md")
    doc = result.document
    assert (doc["spec_version"], doc["id"], doc["version"], doc["audience"]) == (2, "partner_survey", 2024091201, "cso")
    assert doc["languages"] == ["en", "fr"] and doc["default_language"] == "en"
    assert doc["title"] == {"en": "Partner survey", "fr": "Partner survey"}
    ids = [s["id"] for s in doc["steps"]]
    assert ids == [
        "consent",
        "intro",
        "role",
        "org",
        "org_name",
        "staff",
        "sectors",
        "sectors_other",
        "budget_share",
        "started",
        "many",
        "seen",
        "region",
        "district",
        "remarks",
        "thanks",
    ]
    parse_flow(doc, "test")  # the importer validated it already; the document is a plain flow


def test_each_supported_type_becomes_its_step_type() -> None:
    by_id = steps(imported("all_types.md"))
    assert {i: s["type"] for i, s in by_id.items()} == {
        "consent": "consent",
        "intro": "note",
        "role": "single_choice",
        "org": "section",
        "org_name": "free_text",
        "staff": "integer",
        "sectors": "multiple_choice",
        "sectors_other": "free_text",
        "budget_share": "decimal",
        "started": "date",
        "many": "calculate",
        "seen": "acknowledge",
        "region": "single_choice",
        "district": "single_choice",
        "remarks": "free_text",
        "thanks": "end",
    }


def test_multilingual_labels_hints_and_choices() -> None:
    by_id = steps(imported("all_types.md"))
    assert by_id["role"]["text"] == {"en": "Who are you?", "fr": "Qui êtes-vous ?"}
    assert by_id["role"]["hint"] == {"en": "Choose one", "fr": "Choisissez"}
    assert by_id["role"]["options"][1] == {
        "code": "gov",
        "label": {"en": "A government office", "fr": "Un service de l'État"},  # pyxform straightens quotes
    }
    assert by_id["staff"]["constraint_message"] == {"en": "Between 0 and 10000", "fr": "Entre 0 et 10000"}
    consent = by_id["consent"]
    assert consent["version"] == 1 and "Partner survey" in consent["text"]["en"]
    assert consent["text"]["fr"].startswith("Bonjour") and consent["decline_text"]["fr"]
    assert "Some questions must be answered" in consent["text"]["en"]  # org_name is required


def test_groups_become_sections_and_pass_their_relevant_on() -> None:
    by_id = steps(imported("all_types.md"))
    assert by_id["org"]["text"]["en"] == "About your organisation"
    assert by_id["org"]["relevant"] == "${role} = 'cso'"
    assert by_id["org_name"]["relevant"] == "${role} = 'cso'"
    assert by_id["staff"]["relevant"] == "${role} = 'cso'"
    assert "relevant" not in by_id["sectors"]


def test_names_are_sanitised_and_references_follow() -> None:
    by_id = steps(imported("all_types.md"))
    assert by_id["org_name"]["required"] is True  # XLSForm name `Org-Name`
    assert by_id["remarks"]["relevant"] == "${org_name} != ''"


def test_constraints_calculate_and_choice_filter() -> None:
    by_id = steps(imported("all_types.md"))
    assert by_id["staff"]["constraint"] == ". >= 0 and . <= 10000"
    assert by_id["started"]["constraint"] == ". <= today()"  # the `today` metadata field becomes today()
    assert by_id["many"] == {"id": "many", "type": "calculate", "calculation": "count-selected(${sectors}) > 1"}
    assert by_id["seen"]["relevant"] == "${many} = 'true'"
    assert by_id["district"]["choice_filter"] == "region = ${region}"
    assert [o["attributes"] for o in by_id["district"]["options"]] == [
        {"region": "north"},
        {"region": "north"},
        {"region": "south"},
    ]


def test_or_other_adds_an_option_and_a_follow_up_question() -> None:
    by_id = steps(imported("all_types.md"))
    assert by_id["sectors"]["options"][-1] == {"code": "other", "label": {"en": "Other", "fr": "Autre"}}
    assert by_id["sectors_other"]["relevant"] == "selected(${sectors}, 'other')"
    assert by_id["sectors_other"]["text"]["fr"] == "Merci d’écrire votre autre réponse."


def test_identity_metadata_is_dropped_and_listed_other_metadata_silently() -> None:
    result = imported("all_types.md")
    assert result.dropped == ["survey sheet, row 3, type deviceid: dropped: would identify the participant"]
    assert not any("today" in step["id"] or "deviceid" in step["id"] for step in result.document["steps"])


def test_survivor_audience_drops_required_and_asks_the_age_band() -> None:
    result = imported("all_types.md", audience="survivor")
    assert result.document["audience"] == "survivor"
    ids = [s["id"] for s in result.document["steps"]]
    assert ids[:3] == ["consent", "age", "intro"] and steps(result)["age"]["type"] == "age_gate"
    assert not any(s.get("required") for s in result.document["steps"])
    assert "required dropped (every question can be skipped in a survivor flow): rows 7" in result.warnings
    assert "You can skip any question." in steps(result)["consent"]["text"]["en"]


def test_yaml_round_trip_through_the_loader(tmp_path: Path) -> None:
    result = imported("all_types.md")
    path = tmp_path / "partner_survey.yaml"
    path.write_text(result.yaml("all_types.md"), encoding="utf-8")
    assert path.read_text(encoding="utf-8").startswith("# Imported from all_types.md")
    assert yaml.load(path.read_text(encoding="utf-8"), Loader=FlowYamlLoader) == result.document
    flow = load_flow(path)
    assert flow.id == "partner_survey" and len(flow.steps) == 16


def test_csv_form_with_plain_labels() -> None:
    result = imported("plain.csv")
    doc = result.document
    assert doc["id"] == "plain" and doc["languages"] == ["en"] and doc["version"] == 1
    assert [(s["id"], s["type"]) for s in doc["steps"]] == [
        ("consent", "consent"),
        ("topic", "free_text"),
        ("years", "integer"),
        ("thanks", "end"),
    ]


def test_numeric_choice_names_are_renamed_in_options_and_expressions() -> None:
    result = imported("numeric_codes.md")
    by_id = steps(result)
    assert [o["code"] for o in by_id["agree"]["options"]] == ["c_1", "c_2"]
    assert by_id["why"]["relevant"] == "${agree} = 'c_2'"
    assert by_id["both"]["constraint"] == "not(selected(., 'c_1') and selected(., 'c_2'))"
    assert any("1 → c_1, 2 → c_2" in w for w in result.warnings)


def test_numeric_comparison_of_renamed_choices_is_refused() -> None:
    lines = refusal("numeric_compare.md")
    assert lines[1].startswith("survey sheet, row 3, type text: relevant: compares the choices of ${agree} as numbers")


# ---------------------------------------------------------------- refused rows

REFUSED_LINES = [
    "survey sheet, row 3, type geopoint: not possible in a Telegram conversation; "
    "replace with a text question (e.g. 'Which village?')",
    "survey sheet, row 4, type image: not possible in a Telegram conversation; "
    "replace with a text question that asks what the picture would show",
    "survey sheet, row 5, type image (appearance signature): not possible in a Telegram conversation; "
    "replace with an acknowledge question (e.g. 'I confirm ...')",
    "survey sheet, row 6, type audio: not possible in a Telegram conversation; replace with a text question",
    "survey sheet, row 7, type video: not possible in a Telegram conversation; replace with a text question",
    "survey sheet, row 8, type file: not possible in a Telegram conversation; replace with a text question",
    "survey sheet, row 9, type barcode: not possible in a Telegram conversation; "
    "replace with a text question (the code typed in)",
    "survey sheet, row 10, type rank fruits: not possible in a Telegram conversation; "
    "replace with select_multiple (e.g. 'Choose the 3 most important')",
    "survey sheet, row 11, type range: not possible in a Telegram conversation; "
    "replace with select_one over the values, or an integer with a constraint",
    "survey sheet, row 12, type time: not possible in a Telegram conversation; "
    "replace with select_one (e.g. morning / afternoon / evening / night)",
    "survey sheet, row 13, type dateTime: not possible in a Telegram conversation; replace with a date question",
    "survey sheet, row 14, type phone number: asks for a phone number, which would identify the participant; remove it",
    "survey sheet, row 15, type select_one_from_file villages.csv: "
    "choices from a file are not supported; copy them into the choices sheet",
    "survey sheet, row 16, type begin repeat: not possible in a Telegram conversation; "
    "ask a fixed number of questions (e.g. about the first 3 children) or ask for a count",
    "survey sheet, row 19, type calculate: calculation: uses round(), which the bot cannot evaluate",
    "survey sheet, row 20, type note: relevant: uses ${area} (row 19), which cannot be imported",
    "survey sheet, row 22, type note: relevant: uses what was written in ${story} (a free text answer), "
    "which the bot keeps encrypted and never reads; only ${story} != '' (answered) can be tested",
    "survey sheet, row 23, type integer: constraint: uses ${child_age} (row 17), which cannot be imported",
]


def test_unsupported_rows_are_refused_one_line_each() -> None:
    lines = refusal("refused.md")
    assert lines[0].endswith(
        "refused.md: this form cannot be imported as it is "
        "(18 rows; fix them, or use --skip-unsupported to import the rest):"
    )
    assert lines[1:] == REFUSED_LINES


def test_skip_unsupported_imports_the_rest_and_lists_what_was_left_out() -> None:
    result = imported("refused.md", skip_unsupported=True)
    assert [s["id"] for s in result.document["steps"]] == ["consent", "village", "story", "thanks"]
    assert result.left_out == [*REFUSED_LINES, "survey sheet, row 17: inside a group or repeat that was left out"]
    assert result.dropped == ["survey sheet, row 24, type username: dropped: would identify the participant"]


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        (
            "reserved_name.md",
            "pyxform refuses this form: survey sheet, row 3: The 'name' value 'meta' is invalid. "
            "The name 'meta' is reserved for form metadata.",
        ),
        (
            "duplicate_choices.md",
            "pyxform refuses this form: choices sheet, row 3: The 'name' value is invalid. "
            "Choice names must be unique for each choice list.",
        ),
    ],
)
def test_forms_pyxform_rejects_fail_naming_sheet_and_row(form: str, expected: str) -> None:
    lines = refusal(form, skip_unsupported=True)
    assert expected in lines[0]


def test_not_an_xlsform(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match="must be one of"):
        import_xlsform(tmp_path / "form.docx")
    with pytest.raises(FlowError, match="no such file"):
        import_xlsform(tmp_path / "missing.xlsx")


# ---------------------------------------------------------------- the command


def test_cli_import_writes_a_flow_that_lints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "partner.yaml"
    assert main(["flows", "import", str(FORMS / "all_types.md"), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"wrote {out}: flow partner_survey v2024091201, 16 steps, en, fr" in captured.out
    assert "Dropped:\n  survey sheet, row 3, type deviceid" in captured.err
    assert main(["flows", "lint", str(out)]) == 0
    assert main(["flows", "import", str(FORMS / "all_types.md"), "--out", str(out)]) == 2
    assert "exists; use --force" in capsys.readouterr().err
    assert main(["flows", "import", str(FORMS / "all_types.md"), "--out", str(out), "--force"]) == 0


def test_cli_import_refusal_exits_2_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "refused.yaml"
    assert main(["flows", "import", str(FORMS / "refused.md"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and REFUSED_LINES[0] in err and not out.exists()
    assert main(["flows", "import", str(FORMS / "refused.md"), "--out", str(out), "--skip-unsupported"]) == 0
    assert "Left out:\n  " + REFUSED_LINES[0] in capsys.readouterr().err
    assert load_flow(out).id == "refused"


def test_cli_import_prints_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "import", str(FORMS / "plain.csv"), "--out", "-"]) == 0
    assert "id: plain" in capsys.readouterr().out


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("import", "diagram"):
        with pytest.raises(SystemExit) as done:
            main(["flows", command, "--help"])
        assert done.value.code == 0
        assert "usage: python -m bot flows" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("English (en)", "en"),
        ("Français (fr)", "fr"),
        ("english", "en"),
        ("Swahili (sw)", "sw"),
        ("swahili", "sw"),
        ("Kiswahili", "sw"),
        ("Dari", "fa_AF"),
        ("chinese", "zh"),
        ("Español (es-419)", "es_419"),
    ],
)
def test_language_names_map_to_codes(header: str, code: str) -> None:
    from flows.xlsform.languages import language_code as _language_code

    assert _language_code(header) == code


def test_an_unknown_language_is_refused(tmp_path: Path) -> None:
    form = tmp_path / "form.md"
    form.write_text(
        "| survey |\n|  | type | name | label::Gibberishian |\n|  | text | topic | Topic? |\n", encoding="utf-8"
    )
    with pytest.raises(FlowError, match="cannot tell which language 'Gibberishian' is"):
        import_xlsform(form)


# ---------------------------------------------------------------- the columns summaries use


def test_tags_bins_and_keep_links_columns_reach_the_flow() -> None:
    result = imported("summary_columns.md", audience="cso")
    found = steps(result)
    assert found["staff"]["tags"] == ["budget", "indicators"] and found["staff"]["bins"] == [0, 10, 50, 100]
    assert found["share"]["bins"] == [0, 2.5, 10] and found["share"]["tags"] == ["budget"]
    assert found["evidence"]["keep_links"] is True and found["evidence"]["tags"] == ["indicators"]
    assert "keep_links" not in found["remarks"] and found["remarks"]["tags"] == ["priorities", "key_actions"]
    flow = parse_flow(result.document, "summary_columns.md")
    assert flow.steps[flow.step_index("staff")].bins == (0, 10, 50, 100)


def test_wrong_summary_columns_refuse_their_rows_saying_why() -> None:
    lines = refusal("summary_columns_wrong.md", audience="cso")
    text = "\n".join(lines)
    assert "row 2, type integer: tags: vibes is not a roadmap element" in text
    assert "row 3, type integer: bins: '10 5' must be increasing numbers" in text
    assert "row 4, type integer: bins: 'few many' must be numbers" in text
    assert "row 5, type text: bins: only integer and decimal questions have bins" in text
    assert "row 7, type integer: keep_links: only text questions can keep links" in text
    assert "row 6" not in text  # a text question of a CSO form may keep links


def test_keep_links_is_refused_in_a_survivor_form() -> None:
    text = "\n".join(refusal("summary_columns.md", audience="survivor"))
    assert "type text: keep_links: refused in survivor forms" in text
