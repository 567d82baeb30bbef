"""Every real-world XLSForm of ../shared/corpus/xlsforms either imports (and validates as a flow) or is refused
with the precise rows and reasons written here, so a regression in either direction shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from config.errors import FlowError
from flows.loader import parse_flow
from flows.xlsform import import_xlsform

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "xlsforms"
if not CORPUS.is_dir():
    pytest.skip(f"the XLSForm corpus is not here ({CORPUS}); CI always has it", allow_module_level=True)

IMPORTS = "imports"
CHAT = "not possible in a Telegram conversation"
FILE = "choices from a file are not supported"
REPEAT = "ask a fixed number of questions"

Refusals = set[tuple[int, str, str]]
"""(survey row, type as written, words of the reason)"""

EXPECTED: dict[str, str | Refusals] = {
    "cht__person-create.xlsx": "survey sheet, row 45: The 'name' value 'meta' is invalid",
    "unicef_liberia__liberiaCoverage.xlsx": "choices sheet, row 126: The 'name' value is invalid. "
    "Choice names must be unique for each choice list.",
    "ona__multi_lingual_form.xlsx": IMPORTS,
    "pyxform__cascading_select_test_equivalent.xls": IMPORTS,
    "pyxform__specify_other.md": IMPORTS,
    "pyxform__yes_or_no_question.md": IMPORTS,
    "odk__all-question-types-v2024091201-3.xlsx": {
        (8, "text", "remove the 'ex:' appearance"),
        (10, "text", "remove the 'printer' appearance"),
        (15, "integer", "remove the 'ex:' appearance"),
        (18, "decimal", "remove the 'ex:' appearance"),
        (19, "decimal", "it reads the compass"),
        *((n, "range", "replace with select_one over the values") for n in range(22, 28)),
        *((n, "image", "what the picture would show") for n in range(30, 35)),
        (35, "image (appearance draw)", "replace with an acknowledge question"),
        (36, "image (appearance annotate)", "replace with an acknowledge question"),
        (37, "image (appearance signature)", "replace with an acknowledge question"),
        (40, "barcode", "the code typed in"),
        (41, "barcode", "the code typed in"),
        (42, "audio", CHAT),
        (43, "audio", CHAT),
        (44, "video", CHAT),
        (45, "video", CHAT),
        (46, "file", CHAT),
        (47, "file", CHAT),
        (54, "time", "morning / afternoon"),
        (55, "dateTime", "replace with a date question"),
        (56, "dateTime", "replace with a date question"),
        (66, "geopoint", "Which village?"),
        (67, "geopoint", "Which village?"),
        (68, "geopoint", "Which village?"),
        (69, "geotrace", CHAT),
        (70, "geoshape", CHAT),
        (83, "select_one_from_file cities.geojson", FILE),
        (106, "rank opt_abcd", "replace with select_multiple"),
    },
    "ona__childrens_survey_sw.xlsx": {
        (4, "begin repeat", REPEAT),
        (9, "begin repeat", REPEAT),
        (12, "begin repeat", REPEAT),
        (19, "gps", "Which village?"),
    },
    "ona__mali_health.xlsx": {(16, "geopoint", "Which village?")},
    "ona__nested_repeats.xlsx": {
        (4, "begin repeat", REPEAT),
        (7, "begin repeat", REPEAT),
        (17, "geopoint", "Which village?"),
    },
    "pyxform__UCL_Biomass_Plot_Form.xlsx": {
        (16, "select_one_from_file UCL_regions.csv", FILE),
        (17, "select_one_from_file UCL_districts.csv", FILE),
        (18, "select_one_from_file UCL_villages.csv", FILE),
        (20, "select_one_from_file ULC_Biomass_Plots.csv", FILE),
        (22, "geopoint", "Which village?"),
        (23, "image", CHAT),
        (26, "calculate", "calculation: uses round(), which the bot cannot evaluate"),
        (27, "calculate", "calculation: uses round(), which the bot cannot evaluate"),
        (32, "begin repeat", REPEAT),
        (35, "select_one_from_file species_names.csv", FILE),
        (43, "begin repeat", REPEAT),
        (46, "image", CHAT),
        (56, "begin repeat", REPEAT),
        (57, "select_one_from_file species_names.csv", FILE),
        (65, "image", CHAT),
        (72, "begin repeat", REPEAT),
        (73, "select_one_from_file species_names.csv", FILE),
        (80, "begin repeat", REPEAT),
        (81, "select_one_from_file species_names.csv", FILE),
    },
    "pyxform__group.csv": {(4, "phone number", "would identify the participant")},
    "pyxform__loop.md": {(3, "begin loop over toilet_type", "once for each choice")},
    "pyxform__widgets.xls": {
        (6, "time", CHAT),
        (11, "geopoint", CHAT),
        (12, "barcode", CHAT),
        (13, "image", CHAT),
        (14, "audio", CHAT),
        (15, "video", CHAT),
        (17, "geopoint", CHAT),
        (18, "dateTime", CHAT),
    },
    "pyxform__xlsform_spec_test.xlsx": {
        (7, "note", "relevant: uses what was written in ${address}"),
        (15, "begin repeat", REPEAT),
        (32, "time", CHAT),
        (33, "datetime", CHAT),
        (34, "geopoint", CHAT),
        (35, "barcode", CHAT),
        (36, "image", CHAT),
        (37, "audio", CHAT),
        (38, "video", CHAT),
        (57, "integer", "remove the 'ex:' appearance"),
    },
    "unhcr__XLSform_template.xlsx": {
        (8, "select_one AFG_PROV", "has 1 choice; a question needs at least 2"),
        (9, "select_one AFG_DIST", "choice_filter: uses ${province} (row 8), which cannot be imported"),
        (11, "geopoint", "Which village?"),
    },
}
FORMS = sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".xlsx", ".xls", ".csv", ".md"))
ROW = re.compile(r"^survey sheet, row (\d+), type (.+?): (.+)$")


def test_every_corpus_form_has_an_expected_outcome() -> None:
    assert sorted(EXPECTED) == FORMS


@pytest.mark.parametrize("name", FORMS)
def test_corpus_form_imports_or_is_refused_precisely(name: str) -> None:
    expected = EXPECTED[name]
    if expected == IMPORTS:
        result = import_xlsform(CORPUS / name)
        flow = parse_flow(result.document, name)
        assert flow.steps[0].type == "consent" and flow.steps[-1].type == "end"
        assert not result.left_out
        return
    pyxform_rejects = isinstance(expected, str)
    with pytest.raises(FlowError) as caught:
        import_xlsform(CORPUS / name, skip_unsupported=pyxform_rejects)  # which does not get past pyxform
    message = str(caught.value)
    if isinstance(expected, str):
        assert f"{name}: pyxform refuses this form: {expected}" in message
        return
    header, *lines = message.splitlines()
    rows = f"{len(expected)} row{'s' if len(expected) != 1 else ''}"
    assert header.endswith(f"({rows}; fix them, or use --skip-unsupported to import the rest):")
    found = []
    for line in lines:
        match = ROW.match(line)
        assert match, line
        found.append((int(match[1]), match[2], match[3]))
    assert [(n, t) for n, t, _ in found] == sorted((n, t) for n, t, _ in expected)
    for (_, _, reason), (_, _, words) in zip(found, sorted(expected), strict=True):
        assert words in reason


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if isinstance(e, set)))
def test_refused_corpus_form_imports_with_skip_unsupported(name: str) -> None:
    expected = EXPECTED[name]
    assert isinstance(expected, set)
    result = import_xlsform(CORPUS / name, skip_unsupported=True)
    parse_flow(result.document, name)
    left_out_rows = {int(m[1]) for line in result.left_out if (m := ROW.match(line))}
    assert left_out_rows == {n for n, _, _ in expected}
    assert any(s["type"] not in ("consent", "end", "note", "section") for s in result.document["steps"])


IDENTIFYING_ROWS = {
    "ona__childrens_survey_sw.xlsx": {2: "a name", 22: "a phone number", 23: "a phone number"},
    "ona__multi_lingual_form.xlsx": {3: "a name"},
    "ona__nested_repeats.xlsx": {16: "an address"},
    "pyxform__UCL_Biomass_Plot_Form.xlsx": {9: "a name", 10: "a phone number"},
    "pyxform__group.csv": {2: "a name"},
    "pyxform__xlsform_spec_test.xlsx": {4: "a name", 6: "an address"},
    "unhcr__XLSform_template.xlsx": {12: "a name", 18: "a name", 22: "a phone number", 24: "a name"},
}


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if not isinstance(e, str)))
def test_corpus_questions_that_identify_people_are_refused_for_survivors(name: str) -> None:
    """An ODK children's survey asked "What is your name?", "Office telephone", "Mobile telephone": refused,
    by row, when the audience is survivors (and only warned about for CSOs, as the test above shows)."""
    result = import_xlsform(CORPUS / name, audience="survivor", skip_unsupported=True)
    found = {
        int(m[1]): m[3].split("asks for ", 1)[1].split(",", 1)[0]
        for line in result.left_out
        if "which would identify a person" in line and (m := ROW.match(line))
    }
    assert found == IDENTIFYING_ROWS.get(name, {})
    cso = import_xlsform(CORPUS / name, skip_unsupported=True)
    warned = {int(m[1]) for w in cso.warnings if "which would identify a person" in w and (m := ROW.match(w))}
    assert warned == set(IDENTIFYING_ROWS.get(name, {}))
