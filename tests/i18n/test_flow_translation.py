"""The translators' workflow for flow texts: extract to .pot, update .po files, merge them back into the YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot.cli import build_parser
from flows.loader import load_flow
from flows.translation import TranslationError, extract, merge, update

FLOW = """\
# A small survey for the translation tests.
# Second line of the header.
spec_version: 2
id: tiny
version: 1
audience: survivor
languages: [en, fr]
default_language: en
title: {en: Tiny survey, fr: Petite enquête}
steps:
  - id: consent
    type: consent
    version: 1
    text:
      en: Hello. Send /stop to pause. Do you agree?
      fr: Bonjour. Envoyez /stop pour faire une pause. D’accord ?
    decline_text: {en: Nothing was saved., fr: Rien n’a été enregistré.}
  - id: age
    type: age_gate
    text: {en: "How old are you?", fr: "Quel âge avez-vous ?"}
  - id: areas
    type: multiple_choice
    text: {en: "Which areas?", fr: "Quels domaines ?"}
    options:
      - {code: laws, label: &laws {en: Laws, fr: Lois}}
      - {code: other, label: {en: Other, fr: Autre}}
  - id: laws_section
    type: section
    relevant: selected(${areas}, 'laws')
    text: *laws
  - id: kind
    type: single_choice
    text: {en: "What kind?", fr: "Quel type ?"}
    hint: {en: Pick one., fr: Choisissez-en un.}
    options:
      - {code: a, label: {en: A kind, fr: Un type}}
      - {code: other, label: {en: Other, fr: Autre}}
  - id: thanks
    type: end
    text: {en: Thank you., fr: Merci.}
"""
SPANISH = {
    "title": "Encuesta pequeña",
    "consent.text": "Hola. Envíe /stop para hacer una pausa. ¿Acepta?",
    "consent.decline_text": "No se guardó nada.",
    "age.text": "¿Cuántos años tiene?",
    "areas.text": "¿Qué áreas?",
    "areas.option.laws": "Leyes",
    "areas.option.other": "Otra",
    "laws_section.text": "Leyes y normas",
    "kind.text": "¿Qué tipo?",
    "kind.hint": "Elija uno.",
    "kind.option.a": "Un tipo",
    "kind.option.other": "Otro",
    "thanks.text": "Gracias.",
}


@pytest.fixture
def flow_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(FLOW, encoding="utf-8")
    load_flow(path)
    return path


def read(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=path.parent.name if path.suffix == ".po" else None)


def translate(po: Path, texts: dict[str, str], fuzzy: tuple[str, ...] = ()) -> None:
    catalog = read(po)
    for message in catalog:
        if message.id and message.context in texts:
            message.string = texts[message.context]
            message.flags.discard("fuzzy")
            if message.context in fuzzy:
                message.flags.add("fuzzy")
    with po.open("wb") as handle:
        write_po(handle, catalog)


def test_extract_keeps_each_place_separate_and_tells_the_translator_where(flow_file: Path, tmp_path: Path) -> None:
    [line] = extract([flow_file], tmp_path / "out")
    assert "tiny.pot: 13 texts" in line
    pot = read(tmp_path / "out" / "tiny.pot")
    others = [m for m in pot if m.id == "Other"]
    assert sorted(str(m.context) for m in others) == ["areas.option.other", "kind.option.other"]
    kind = pot.get("What kind?", context="kind.text")
    assert kind is not None and any("kind" in c for c in kind.auto_comments)
    assert kind.locations and kind.locations[0][1] == FLOW.splitlines().index("  - id: kind") + 3
    assert pot.get("Pick one.", context="kind.hint") is not None
    assert "(unchanged)" in extract([flow_file], tmp_path / "out")[0]


def test_update_creates_catalogs_and_keeps_the_translations_the_yaml_has(flow_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    lines = update([flow_file], ["es"], out)
    assert any("es/tiny.po: 13 texts, 13 to translate" in x for x in lines)
    assert any("fr/tiny.po: 13 texts, 0 to translate" in x for x in lines)
    french = read(out / "fr" / "tiny.po")
    assert french.get("Other", context="kind.option.other").string == "Autre"  # type: ignore[union-attr]
    spanish = read(out / "es" / "tiny.po")
    assert spanish.num_plurals == 3 and all(not m.string for m in spanish if m.id)
    assert all("(unchanged)" in x for x in update([flow_file], ["es"], out))


def test_merge_refuses_missing_fuzzy_and_lost_commands(flow_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    update([flow_file], ["es"], out)
    texts = {**SPANISH, "consent.text": "Hola. ¿Acepta?"}
    del texts["kind.hint"]
    translate(out / "es" / "tiny.po", texts, fuzzy=("thanks.text",))
    before = flow_file.read_text(encoding="utf-8")
    with pytest.raises(TranslationError) as refused:
        merge(flow_file, ["es"], out)
    problems = "\n".join(refused.value.problems)
    assert "es: kind.hint: not translated" in problems
    assert "es: thanks.text: marked fuzzy" in problems
    assert "es: consent.text: commands differ: /stop → (none)" in problems
    assert flow_file.read_text(encoding="utf-8") == before


def test_merge_writes_the_language_into_the_flow(flow_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    update([flow_file], ["es"], out)
    translate(out / "es" / "tiny.po", SPANISH)
    lines = merge(flow_file, None, out)
    assert any("es: 13 texts, 13 changed" in x for x in lines)
    flow = load_flow(flow_file)
    assert flow.languages == ("en", "fr", "es")
    steps = {s.id: s for s in flow.steps}
    assert steps["kind"].options[1].label["es"] == "Otro" and steps["areas"].options[1].label["es"] == "Otra"
    assert steps["areas"].options[0].label == {"en": "Laws", "fr": "Lois", "es": "Leyes"}
    assert steps["laws_section"].text == {"en": "Laws", "fr": "Lois", "es": "Leyes y normas"}
    assert steps["consent"].text["fr"].startswith("Bonjour.")
    written = flow_file.read_text(encoding="utf-8")
    assert written.startswith("# A small survey for the translation tests.\n# Second line of the header.\nspec_version")
    assert "languages: [en, fr, es]" in written
    assert yaml.safe_load(written)["id"] == "tiny"
    assert all("0 changed" in x for x in merge(flow_file, None, out))
    assert flow_file.read_text(encoding="utf-8") == written


def test_an_unfinished_new_language_waits_unless_asked_for(flow_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    update([flow_file], ["es"], out)
    before = flow_file.read_text(encoding="utf-8")
    assert merge(flow_file, None, out) == [
        f"{flow_file}: es: not offered yet, 13 text(s) to finish; not merged",
        f"{flow_file}: fr: 13 texts, 0 changed",
    ]
    assert flow_file.read_text(encoding="utf-8") == before  # nothing new: not even reformatted
    with pytest.raises(TranslationError, match="es: title: not translated"):
        merge(flow_file, ["es"], out)


def test_a_changed_source_text_needs_review_again(flow_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    update([flow_file], ["es"], out)
    translate(out / "es" / "tiny.po", SPANISH)
    merge(flow_file, ["es"], out)
    flow_file.write_text(
        flow_file.read_text(encoding="utf-8").replace("What kind?", "What kind is it?"), encoding="utf-8"
    )
    update([flow_file], [], out)
    message = read(out / "es" / "tiny.po").get("What kind is it?", context="kind.text")
    assert message is not None and message.fuzzy and message.string == "¿Qué tipo?"
    assert '#| msgid "What kind?"' in (out / "es" / "tiny.po").read_text(encoding="utf-8")
    with pytest.raises(TranslationError, match="kind.text: marked fuzzy"):
        merge(flow_file, ["es"], out)


def test_cli_update_then_merge(flow_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m bot flows update|merge FILE -o DIR`, parsed and run in-process (the handlers need no settings)."""
    out = tmp_path / "catalogs"

    def cli(*args: str) -> int:
        parsed = build_parser().parse_args(["flows", *args, str(flow_file), "-o", str(out)])
        result: int = parsed.handler(parsed, None)
        return result

    assert cli("update", "--languages", "es") == 0
    assert (out / "tiny.pot").exists() and (out / "es" / "tiny.po").exists()
    assert cli("merge", "--languages", "es") == 1
    assert "es: title: not translated" in capsys.readouterr().out
    translate(out / "es" / "tiny.po", SPANISH)
    assert cli("merge", "--languages", "es") == 0
    assert "es: 13 texts, 13 changed" in capsys.readouterr().out
    assert "es" in load_flow(flow_file).languages
