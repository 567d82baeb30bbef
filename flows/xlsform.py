"""XLSForm import: a KoboToolbox/ODK questionnaire (.xlsx, .xls, .csv or .md) becomes one of our YAML flows.

pyxform reads the workbook and checks the form as ODK would; this module then walks the survey sheet row by
row (so every problem names its row), keeps what a Telegram conversation can ask, and refuses the rest with
one line per row. Expressions keep XLSForm's syntax; only `${name}` references are renamed to step ids.
"""

from __future__ import annotations

import copy
import re
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from babel import Locale, UnknownLocaleError
from pydantic import ValidationError

from config.errors import FlowError
from flows import expressions
from flows.schema import Option

SPEC_VERSION = 2
"""The flow spec version the importer writes (the loader migrates it if the spec moves on)."""

SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv", ".md")
MAX_VERSION = 2**31 - 1
"""Flow versions are stored in 32-bit integer columns."""
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
REF = re.compile(r"\$\{([^}\s]+)\}")

# ---------------------------------------------------------------- what a chat cannot do

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
}
IDENTIFYING = {
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

# ---------------------------------------------------------------- texts the importer writes itself

GENERATED: dict[str, dict[str, str]] = {
    "consent": {
        "en": "Hello. This is a short survey: “{title}”.\n\n"
        "• Your answers are joined with other people’s answers. Reviewers see only the totals, never who said what.\n"
        "• We do not ask your name. Please do not write names or phone numbers.\n"
        "• {skip}\n"
        "• Send /stop to stop; your answers so far are kept.\n"
        "• Telegram chats with bots are not end-to-end encrypted. Answer only where you feel safe.\n\n"
        "Do you agree to take part?",
        "fr": "Bonjour. Ceci est une courte enquête : « {title} ».\n\n"
        "• Vos réponses sont réunies avec celles d’autres personnes. Les personnes qui les lisent voient seulement "
        "les totaux, jamais qui a dit quoi.\n"
        "• Nous ne demandons pas votre nom. Merci de ne pas écrire de noms ni de numéros de téléphone.\n"
        "• {skip}\n"
        "• Envoyez /stop pour arrêter ; vos réponses déjà données sont gardées.\n"
        "• Les discussions avec les bots sur Telegram ne sont pas chiffrées de bout en bout. Répondez seulement "
        "là où vous vous sentez en sécurité.\n\n"
        "Acceptez-vous de participer ?",
        "es": "Hola. Esta es una encuesta corta: «{title}».\n\n"
        "• Sus respuestas se juntan con las de otras personas. Quienes las revisan solo ven los totales, "
        "nunca quién dijo qué.\n"
        "• No le pedimos su nombre. Por favor, no escriba nombres ni números de teléfono.\n"
        "• {skip}\n"
        "• Envíe /stop para parar; las respuestas que ya dio se guardan.\n"
        "• Los chats de Telegram con bots no están cifrados de extremo a extremo. Responda solo donde se sienta "
        "seguro o segura.\n\n"
        "¿Acepta participar?",
        "pt": "Olá. Este é um inquérito curto: «{title}».\n\n"
        "• As suas respostas são juntadas às de outras pessoas. Quem as analisa vê apenas os totais, nunca quem "
        "disse o quê.\n"
        "• Não pedimos o seu nome. Por favor, não escreva nomes nem números de telefone.\n"
        "• {skip}\n"
        "• Envie /stop para parar; as respostas já dadas ficam guardadas.\n"
        "• As conversas do Telegram com bots não têm encriptação de ponta a ponta. Responda só onde se sentir "
        "em segurança.\n\n"
        "Aceita participar?",
        "sw": "Habari. Huu ni utafiti mfupi: “{title}”.\n\n"
        "• Majibu yako yanaunganishwa na majibu ya watu wengine. Wanaoyakagua wanaona jumla tu, kamwe si nani "
        "alisema nini.\n"
        "• Hatuulizi jina lako. Tafadhali usiandike majina wala namba za simu.\n"
        "• {skip}\n"
        "• Tuma /stop kusimama; majibu uliyokwisha kutoa yanahifadhiwa.\n"
        "• Mazungumzo ya Telegram na boti hayajasimbwa kutoka mwanzo hadi mwisho. Jibu tu mahali unapojisikia "
        "salama.\n\n"
        "Je, unakubali kushiriki?",
    },
    "skip_all": {
        "en": "You can skip any question.",
        "fr": "Vous pouvez passer n’importe quelle question.",
        "es": "Puede saltar cualquier pregunta.",
        "pt": "Pode saltar qualquer pergunta.",
        "sw": "Unaweza kuruka swali lolote.",
    },
    "skip_some": {
        "en": "Some questions must be answered; you can skip the others.",
        "fr": "Certaines questions demandent une réponse ; vous pouvez passer les autres.",
        "es": "Algunas preguntas deben responderse; puede saltar las demás.",
        "pt": "Algumas perguntas precisam de resposta; pode saltar as outras.",
        "sw": "Baadhi ya maswali lazima yajibiwe; unaweza kuruka mengine.",
    },
    "decline": {
        "en": "That is fine. Nothing was saved. If you change your mind, open the link again.",
        "fr": "C’est d’accord. Rien n’a été enregistré. Si vous changez d’avis, ouvrez de nouveau le lien.",
        "es": "Está bien. No se guardó nada. Si cambia de opinión, abra el enlace de nuevo.",
        "pt": "Está bem. Nada foi guardado. Se mudar de ideias, abra a ligação outra vez.",
        "sw": "Sawa. Hakuna kilichohifadhiwa. Ukibadilisha nia, fungua kiungo tena.",
    },
    "age": {
        "en": "How old are you?",
        "fr": "Quel âge avez-vous ?",
        "es": "¿Cuántos años tiene?",
        "pt": "Que idade tem?",
        "sw": "Una umri gani?",
    },
    "end": {
        "en": "Thank you. Your answers are saved. They will be joined with other people’s answers in a summary. "
        "You can close this chat now.",
        "fr": "Merci. Vos réponses sont enregistrées. Elles seront réunies avec celles d’autres personnes dans un "
        "résumé. Vous pouvez fermer cette discussion maintenant.",
        "es": "Gracias. Sus respuestas están guardadas. Se juntarán con las de otras personas en un resumen. "
        "Ya puede cerrar este chat.",
        "pt": "Obrigado. As suas respostas estão guardadas. Serão juntadas às de outras pessoas num resumo. "
        "Já pode fechar esta conversa.",
        "sw": "Asante. Majibu yako yamehifadhiwa. Yataunganishwa na majibu ya watu wengine katika muhtasari. "
        "Unaweza kufunga mazungumzo haya sasa.",
    },
    "other": {"en": "Other", "fr": "Autre", "es": "Otro", "pt": "Outro", "sw": "Nyingine"},
    "specify": {
        "en": "Please write your other answer.",
        "fr": "Merci d’écrire votre autre réponse.",
        "es": "Por favor, escriba su otra respuesta.",
        "pt": "Por favor, escreva a sua outra resposta.",
        "sw": "Tafadhali andika jibu lako jingine.",
    },
}


STEP_KEYS = [
    "id",
    "type",
    "text",
    "hint",
    "options",
    "relevant",
    "constraint",
    "constraint_message",
    "required",
    "choice_filter",
    "calculation",
]

GENERATED_NAMES = {
    "consent": "consent",
    "decline": "consent refusal",
    "age": "age question",
    "end": "thank-you",
    "other": "'Other' option",
    "specify": "'other' follow-up question",
}


def _generated(key: str, language: str) -> str | None:
    texts = GENERATED[key]
    return texts.get(language) or texts.get(language.split("_")[0])


# ---------------------------------------------------------------- result


@dataclass
class ImportResult:
    """The flow document (already validated by the loader) and what the CSO should know about it."""

    document: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    """Rows not imported (only with skip_unsupported): one line each, with the reason."""
    dropped: list[str] = field(default_factory=list)
    """Metadata rows dropped because they would identify the participant."""

    def yaml(self, source: str = "") -> str:
        return to_yaml(self.document, source)


class _Dumper(yaml.SafeDumper):
    """Texts of several lines as YAML block scalars (`|-`), so a flow file reads like the texts it holds."""


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not any(line != line.rstrip() for line in value.splitlines()) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_text)


def to_yaml(document: dict[str, Any], source: str = "") -> str:
    header = f"# Imported from {source} by `python -m bot flows import`.\n" if source else ""
    return header + yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)


# ---------------------------------------------------------------- rows


@dataclass
class Row:
    """One survey-sheet row, classified."""

    number: int
    raw_type: str
    data: dict[str, Any]
    kind: str = ""  # our step type, "begin", "end", "metadata", "hidden", or "" when refused
    name: str | None = None
    list_name: str | None = None
    other: bool = False
    problems: list[str] = field(default_factory=list)
    container: list[int] = field(default_factory=list)
    """Row numbers of the enclosing groups/repeats, outermost first."""
    control: str = ""  # for begin rows: group, repeat or loop
    step_id: str = ""
    other_id: str = ""
    expressions: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"survey sheet, row {self.number}, type {self.raw_type}"

    @property
    def refused(self) -> bool:
        return bool(self.problems)


# ---------------------------------------------------------------- entry point


def import_xlsform(
    path: Path,
    *,
    skip_unsupported: bool = False,
    audience: str = "cso",
    progress: bool = False,
) -> ImportResult:
    """Convert an XLSForm into a flow document; raise FlowError with every problem (one per line)."""
    return _Importer(Path(path), skip_unsupported, audience, progress).run()


class _Importer:
    def __init__(self, path: Path, skip_unsupported: bool, audience: str, progress: bool) -> None:
        if audience not in ("cso", "survivor"):
            raise FlowError(f"audience must be cso or survivor, not {audience!r}")
        self.path = path
        self.skip = skip_unsupported
        self.audience = audience
        self.progress = progress
        self.warnings: list[str] = []
        self.dropped: list[str] = []
        self.rows: list[Row] = []
        self.by_name: dict[str, Row] = {}
        self.by_number: dict[int, Row] = {}
        self.choices: dict[str, list[dict[str, Any]]] = {}
        self.codes: dict[str, dict[str, str]] = {}
        """list name -> {XLSForm choice name: option code} (only differs when a name is not a valid code)."""
        self.renamed_codes: dict[str, str] = {}
        self.untranslated: dict[str, set[str]] = {}
        self.left_out: list[str] = []
        self.taken: set[str] = set()

    # ------------------------------------------------------------ reading

    def run(self) -> ImportResult:
        workbook = self.read()
        settings = dict((workbook.settings or [{}])[0]) if workbook.settings else {}
        default_name = str(settings.get("default_language") or "default")
        survey, choices = self.dealias(workbook, default_name, settings)
        self.languages = _Languages(default_name)
        self.classify(survey, workbook.survey or [])
        self.read_choices(choices)
        self.name_steps()
        self.check_expressions()
        document = self.build(settings, workbook.fallback_form_name or self.path.stem)
        return self.finish(document)

    def read(self) -> Any:
        from pyxform.errors import PyXFormError
        from pyxform.xls2json_backends import get_xlsform

        if self.path.suffix.lower() not in SUFFIXES:
            raise FlowError(f"{self.path}: an XLSForm must be one of {', '.join(SUFFIXES)}")
        if not self.path.is_file():
            raise FlowError(f"{self.path}: no such file")
        try:
            with warnings.catch_warnings():  # openpyxl's notes about workbook styles are not the CSO's concern
                warnings.simplefilter("ignore")
                workbook = get_xlsform(str(self.path))
        except (PyXFormError, ValueError, KeyError, IndexError, TypeError, OSError) as exc:
            raise FlowError(f"{self.path}: pyxform cannot read this form: {_pyxform_message(exc)}") from exc
        self.check_with_pyxform(workbook)
        return workbook

    def check_with_pyxform(self, workbook: Any) -> None:
        """Let pyxform check the form as ODK would; its refusal names the sheet and row."""
        from pyxform.errors import PyXFormError
        from pyxform.xls2json import workbook_to_json

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                workbook_to_json(
                    workbook_dict=copy.deepcopy(workbook),
                    fallback_form_name=workbook.fallback_form_name,
                    warnings=[],
                )
        except (PyXFormError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            message = _pyxform_message(exc)
            located = _locate(message, workbook)
            raise FlowError(f"{self.path}: pyxform refuses this form: {located}") from exc

    def dealias(
        self, workbook: Any, default_name: str, settings: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        from pyxform import aliases, constants
        from pyxform.parsing.sheet_headers import dealias_and_group_headers
        from pyxform.question import MultipleChoiceQuestion
        from pyxform.question import Option as PyxformOption
        from pyxform.xls2json import dealias_types

        clean = aliases.yes_no.get(settings.get("clean_text_values", "yes"), True)
        survey = dealias_and_group_headers(
            sheet_name=constants.SURVEY,
            sheet_data=copy.deepcopy(workbook.survey or []),
            sheet_header=workbook.survey_header,
            header_aliases=aliases.survey_header,
            header_columns=set(MultipleChoiceQuestion.get_slot_names()),
            headers_required={constants.TYPE},
            default_language=default_name,
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
                    header_columns=set(PyxformOption.get_slot_names()),
                    default_language=default_name,
                    add_row_number=True,
                ).data
            )
        return list(dealias_types(list(survey.data))), choices

    # ------------------------------------------------------------ classifying rows

    def classify(self, survey: list[dict[str, Any]], raw_rows: list[dict[str, Any]]) -> None:
        from tqdm import tqdm

        stack: list[Row] = []
        numbered = list(enumerate(survey, start=2))
        bar = tqdm(
            numbered,
            desc="rows",
            unit="row",
            file=sys.stderr,
            disable=not self.progress or len(numbered) < 200,
            leave=False,
        )
        for number, data in bar:
            raw = raw_rows[number - 2] if number - 2 < len(raw_rows) else {}
            kind_text = " ".join(str(data.get("type") or "").split())
            if not kind_text or _yes(data.get("disabled")):
                continue
            raw_type = " ".join(str(raw.get("type") or kind_text).split())
            row = Row(number, raw_type, data, container=[r.number for r in stack])
            self.classify_row(row, kind_text)
            if row.kind == "end":
                if stack:
                    stack.pop()
                continue
            if row.kind == "settings":
                continue
            self.rows.append(row)
            self.by_number[row.number] = row
            if row.name and row.kind not in ("end",):
                self.by_name.setdefault(row.name, row)
            if row.kind == "begin":
                stack.append(row)

    def classify_row(self, row: Row, kind_text: str) -> None:
        from pyxform import aliases, constants
        from pyxform.question_type_dictionary import QUESTION_TYPE_DICT
        from pyxform.xls2json import RE_BEGIN_CONTROL, RE_END_CONTROL, RE_SELECT

        data = row.data
        row.name = str(data["name"]) if data.get("name") is not None else None
        appearance = str((data.get("control") or {}).get("appearance") or "").strip()

        if aliases.settings_header.get(kind_text):
            row.kind = "settings"
            return
        if RE_END_CONTROL.search(kind_text):
            row.kind = "end"
            return
        begin = RE_BEGIN_CONTROL.search(kind_text)
        if begin:
            row.kind = "begin"
            row.control = aliases.control[begin.group("type")]
            if row.control in ("repeat", "loop"):
                row.problems.append(REFUSED[row.control])
            return
        select = RE_SELECT.search(kind_text)
        if select:
            command = select.group("select_command")
            row.list_name = select.group("list_name")
            row.other = bool(select.group("specify_other"))
            if command in aliases.select_from_file:
                row.problems.append(REFUSED["select_from_file"])
            elif aliases.select[command] == constants.SELECT_ONE_EXTERNAL:
                row.problems.append(REFUSED["select_external"])
            elif aliases.select[command] == constants.RANK:
                row.problems.append(REFUSED["rank"])
            elif "${" in (row.list_name or ""):
                row.problems.append(REFUSED["select_from_answers"])
            elif appearance == "label":
                row.kind = "label_row"
                return
            else:
                row.kind = "single_choice" if aliases.select[command] == constants.SELECT_ONE else "multiple_choice"
            self.check_appearance(row, appearance)
            return
        if kind_text.startswith(("osm", "select_one_external", "select one external")):
            row.problems.append(REFUSED["osm" if kind_text.startswith("osm") else "select_external"])
            return

        metadata = kind_text.removeprefix("uri:")
        if metadata in IDENTIFYING:
            row.kind = "metadata"
            self.dropped.append(f"{row.where}: dropped: would identify the participant")
            return
        if metadata.lower() in SILENT_METADATA:
            row.kind = "metadata"
            return

        known = QUESTION_TYPE_DICT.get(kind_text)
        if known is None:
            # pyxform accepted it, so it is a type of a newer ODK: refuse rather than guess
            row.problems.append(CHAT + "this question type is not supported; replace with a text question")
            return
        bind = known.get("bind") or {}
        control = known.get("control") or {}
        preload = bind.get("jr:preloadParams")
        bind_type = bind.get("type")
        if preload:
            row.kind = "metadata"
            if str(preload).removeprefix("uri:") in IDENTIFYING:
                self.dropped.append(f"{row.where}: dropped: would identify the participant")
            return
        if kind_text in ("phone number", "phonenumber"):
            row.problems.append(REFUSED["phone number"])
            return
        media = str(control.get("mediatype") or "")
        if kind_text == "photo" or media.startswith("image"):
            if appearance in ("signature", "draw", "annotate"):
                row.raw_type = f"{row.raw_type} (appearance {appearance})"
                row.problems.append(REFUSED["signature"])
            else:
                row.problems.append(REFUSED["photo"])
            return
        if kind_text in REFUSED:
            row.problems.append(REFUSED[kind_text])
            return
        if control.get("tag") == "upload" or bind_type == "binary":
            key = media.split("/")[0] if media.split("/")[0] in ("audio", "video") else "file"
            row.problems.append(REFUSED[key])
            return
        if control.get("tag") in ("range", "odk:rank"):
            row.problems.append(REFUSED["range" if control.get("tag") == "range" else "rank"])
            return
        if bind_type in ("geopoint", "geotrace", "geoshape", "barcode", "time", "dateTime"):
            row.problems.append(REFUSED[bind_type])
            return
        if control.get("tag") == "trigger":
            row.kind = "acknowledge"
        elif kind_text == "note" or (bind.get("readonly") == "true()" and control.get("tag") == "input"):
            row.kind = "note"
        elif "calculate" in kind_text:
            row.kind = "calculate"
        elif not control:
            row.kind = "hidden"
            self.warnings.append(f"{row.where}: a hidden field without a question; dropped")
            return
        elif bind_type == "int":
            row.kind = "integer"
        elif bind_type == "decimal":
            row.kind = "decimal"
        elif bind_type == "date":
            row.kind = "date"
        elif bind_type == "string":
            row.kind = "free_text"
        else:
            row.problems.append(CHAT + "this question type is not supported; replace with a text question")
            return
        if known.get("bind", {}).get("constraint") and not (data.get("bind") or {}).get("constraint"):
            data.setdefault("bind", {})["constraint"] = known["bind"]["constraint"]
        self.check_appearance(row, appearance)
        if row.kind != "note" and _yes((data.get("bind") or {}).get("readonly")):
            self.warnings.append(f"{row.where}: read-only, so shown as a note")
            row.kind = "note"

    def check_appearance(self, row: Row, appearance: str) -> None:
        words = appearance.split()
        if any(w.startswith("ex:") for w in words):
            row.problems.append(REFUSED["external app"])
        elif "printer" in words:
            row.problems.append(REFUSED["printer"])
        elif "bearing" in words:
            row.problems.append(REFUSED["bearing"])
        elif (
            row.kind == "date"
            and words
            and words[0]
            in (
                "ethiopian",
                "coptic",
                "islamic",
                "bikram-sambat",
                "myanmar",
                "persian",
                "buddhist",
            )
        ):
            self.warnings.append(f"{row.where}: asked as a Gregorian date (YYYY-MM-DD), not in the {words[0]} calendar")

    # ------------------------------------------------------------ choices

    def read_choices(self, rows: list[dict[str, Any]]) -> None:
        for choice in rows:
            list_name = choice.get("list name")
            if list_name is None or choice.get("name") is None:
                continue
            self.choices.setdefault(str(list_name), []).append(choice)
        used = {r.list_name for r in self.rows if r.kind in ("single_choice", "multiple_choice") and r.list_name}
        for list_name in sorted(used):
            taken: set[str] = set()
            mapping: dict[str, str] = {}
            for choice in self.choices.get(list_name, []):
                name = str(choice["name"])
                code = name if _code_ok(name) else _unique(_sanitise(name, "c"), taken)
                if code != name:
                    self.renamed_codes[name] = code
                taken.add(code)
                mapping[name] = code
            self.codes[list_name] = mapping
            renamed = [f"{name} → {code}" for name, code in mapping.items() if name != code]
            if renamed:
                self.warnings.append(
                    f"choices sheet, list {list_name}: option codes must start with a letter, so "
                    f"{', '.join(renamed[:5])}{', ...' if len(renamed) > 5 else ''} (expressions follow)"
                )
        for row in self.rows:
            if row.kind in ("single_choice", "multiple_choice") and not row.refused:
                count = len(self.choices.get(row.list_name or "", [])) + (
                    1 if row.other and "other" not in self.codes.get(row.list_name or "", {}) else 0
                )
                if count < 2:
                    row.problems.append(
                        f"the choice list {row.list_name!r} has {count} choice{'s' if count != 1 else ''}; "
                        "a question needs at least 2"
                    )

    # ------------------------------------------------------------ ids

    def name_steps(self) -> None:
        taken: set[str] = set()
        for row in self.rows:
            row.step_id = _unique(_sanitise(row.name or f"row_{row.number}", "q"), taken)
            taken.add(row.step_id)
        for row in self.rows:
            if row.other:
                row.other_id = _unique(_sanitise(f"{row.step_id}_other", "q"), taken)
                taken.add(row.other_id)
        self.taken = taken

    # ------------------------------------------------------------ expressions

    def included(self, row: Row) -> bool:
        """The row makes it into the flow: not refused, not inside a refused group or repeat."""
        if row.refused:
            return False
        return all(not self.by_number[n].refused for n in row.container)

    def check_expressions(self) -> None:
        """Rename references, check every expression with the engine's parser; cascade until nothing changes."""
        for row in self.rows:
            bind = row.data.get("bind") or {}
            if row.kind in ("metadata", "hidden", "label_row", "settings"):
                continue
            sources = {
                "relevant": bind.get("relevant"),
                "constraint": bind.get("constraint"),
                "calculation": bind.get("calculate"),
                "choice_filter": row.data.get("choice_filter"),
            }
            for name, source in sources.items():
                if source is None or not str(source).strip():
                    continue
                source = str(source).strip()
                if name == "calculation" and row.kind != "calculate":
                    self.warnings.append(f"{row.where}: calculation on a question is not used; ignored")
                    continue
                if name == "constraint" and row.kind in ("note", "begin", "acknowledge"):
                    self.warnings.append(f"{row.where}: a constraint on a row without an answer is not used; ignored")
                    continue
                if name == "relevant" and source in ("true()", "true", "yes"):
                    continue
                row.expressions[name] = source
        changed = True
        while changed:
            changed = False
            for row in self.rows:
                if not self.included(row):
                    continue
                for name, source in list(row.expressions.items()):
                    problem = self.expression_problem(row, name, source)
                    if problem is not None:
                        row.problems.append(f"{name}: {problem}")
                        changed = True
                        break

    def expression_problem(self, row: Row, field_name: str, source: str) -> str | None:
        for name in REF.findall(source):
            target = self.by_name.get(name)
            if target is None:
                return f"refers to ${{{name}}}, which is not a question of this form"
            if target.kind == "metadata" and target.raw_type.removeprefix("uri:") == "today":
                continue
            if target.kind in ("metadata", "hidden"):
                return f"uses ${{{name}}} (type {target.raw_type}), which is not imported"
            if not self.included(target):
                return f"uses ${{{name}}} (row {target.number}), which cannot be imported"
            if target.kind in ("note", "section", "label_row") or (target.kind == "begin" and target is not row):
                return f"uses ${{{name}}}, which has no answer"
        try:
            rewritten = self.rewrite(row, field_name, source)
            node = expressions.parse(rewritten)
        except FlowError as exc:
            return _short_expression_error(str(exc))
        except _CodeProblem as exc:
            return str(exc)
        texts = {r.step_id: r for r in self.rows if r.kind in ("free_text", "date") and r.step_id}
        problem = _text_content_use(node, texts)
        if problem is not None:
            return problem
        return None

    def rewrite(self, row: Row, field_name: str, source: str) -> str:
        """XLSForm expression -> flow expression: `${name}` -> `${step_id}`, renamed choice codes in literals."""
        tokens = _tokens(source)
        out: list[str] = []
        position = 0
        for index, (kind, text, start, end) in enumerate(tokens):
            out.append(source[position:start])
            position = end
            if kind == "ref":
                target = self.by_name[text[2:-1]]
                if target.kind == "metadata":
                    out.append("today()")
                else:
                    out.append(f"${{{target.step_id}}}")
                continue
            if kind == "string" and self.renamed_codes:
                subject = self.literal_subject(tokens, index)
                mapping = self.subject_codes(row, field_name, subject)
                value = text[1:-1]
                if mapping is not None and value in mapping:
                    out.append(f"{text[0]}{mapping[value]}{text[0]}")
                    continue
            if kind == "op" and self.renamed_codes:
                self.check_numeric_use(row, tokens, index)
            out.append(text)
        out.append(source[position:])
        return "".join(out)

    def literal_subject(self, tokens: list[tuple[str, str, int, int]], index: int) -> tuple[str, str] | None:
        """What a string literal is compared with: ('ref', name), ('dot', '.') or ('attr', 'name')."""

        def subject(i: int) -> tuple[str, str] | None:
            if 0 <= i < len(tokens):
                kind, text, _, _ = tokens[i]
                if kind == "ref":
                    return ("ref", text[2:-1])
                if kind == "dot":
                    return ("dot", ".")
                if kind == "name" and text == "name":
                    return ("attr", "name")
            return None

        texts = [t[1] for t in tokens]
        if index >= 2 and texts[index - 1] in ("=", "!=") and (found := subject(index - 2)):
            return found
        if index + 2 < len(tokens) and texts[index + 1] in ("=", "!=") and (found := subject(index + 2)):
            return found
        if index >= 4 and texts[index - 1] == "," and texts[index - 3] == "(" and texts[index - 4] == "selected":
            return subject(index - 2)
        return None

    def subject_codes(self, row: Row, field_name: str, subject: tuple[str, str] | None) -> dict[str, str] | None:
        if subject is None:
            return None
        kind, name = subject
        if kind == "dot":
            return self.codes.get(row.list_name or "") if field_name == "constraint" and row.list_name else None
        if kind == "attr":
            return self.codes.get(row.list_name or "") if field_name == "choice_filter" else None
        target = self.by_name.get(name)
        if target is None:
            return None
        if target.kind in ("single_choice", "multiple_choice"):
            return self.codes.get(target.list_name or "")
        if target.kind == "calculate":
            return self.renamed_codes
        return None

    def check_numeric_use(self, row: Row, tokens: list[tuple[str, str, int, int]], i: int) -> None:
        """Renamed choice codes (`1` -> `c1`) cannot be compared as numbers: refuse rather than change meaning."""
        text = tokens[i][1]
        neighbours = [tokens[j] for j in (i - 1, i + 1) if 0 <= j < len(tokens)]
        numeric = text in ("<", "<=", ">", ">=") or (
            text in ("=", "!=") and any(kind == "number" for kind, *_ in neighbours)
        )
        if not numeric:
            return
        for kind, subject, _, _ in neighbours:
            if kind not in ("ref", "dot"):
                continue
            target = row if kind == "dot" else self.by_name.get(subject[2:-1])
            if target is None or target.kind not in ("single_choice", "multiple_choice"):
                continue
            mapping = self.codes.get(target.list_name or "", {})
            if any(code != name for name, code in mapping.items()):
                raise _CodeProblem(
                    f"compares the choices of {subject} as numbers, but option codes must start with a letter "
                    f"({', '.join(list(mapping)[:4])}, ... were renamed); rename the choices or remove the comparison"
                )

    # ------------------------------------------------------------ building the flow

    def build(self, settings: dict[str, Any], fallback_name: str) -> dict[str, Any]:
        refused = [r for r in self.rows if r.refused]
        if refused and not self.skip:
            lines = [f"{r.where}: {r.problems[0]}" for r in refused]
            raise FlowError(
                f"{self.path}: this form cannot be imported as it is "
                f"({len(lines)} row{'s' if len(lines) != 1 else ''}; "
                "fix them, or use --skip-unsupported to import the rest):\n" + "\n".join(lines)
            )
        self.left_out = [f"{r.where}: {r.problems[0]}" for r in refused]
        inside = [r for r in self.rows if not r.refused and not self.included(r) and r.kind not in ("metadata",)]
        if inside:
            numbers = _ranges([r.number for r in inside])
            rows = "rows" if len(inside) > 1 else "row"
            self.left_out.append(f"survey sheet, {rows} {numbers}: inside a group or repeat that was left out")

        self.collect_languages(settings)
        form_id = _sanitise(str(settings.get("form_id") or settings.get("id_string") or fallback_name), "form")
        title_text = str(settings.get("form_title") or settings.get("title") or "").strip() or _humanise(form_id)
        title = {lang: title_text for lang in self.codes_in_order}

        body: list[dict[str, Any]] = []
        filled: set[int] = set()
        """Groups with at least one step that is shown (a section heading alone introduces nothing)."""
        section_of: dict[int, int] = {}
        required_rows: list[int] = []
        group_relevant: dict[int, str] = {}
        for row in self.rows:
            if not self.included(row) or row.kind in ("metadata", "hidden", "settings"):
                continue
            if row.kind == "label_row":
                self.warnings.append(f"{row.where}: a label-only row of a table list; dropped")
                continue
            chain = [group_relevant[n] for n in row.container if group_relevant.get(n)]
            own = self.rewrite(row, "relevant", row.expressions["relevant"]) if "relevant" in row.expressions else None
            if row.kind == "begin":
                if own:
                    group_relevant[row.number] = own
                label = self.text(row, "label")
                if label is not None:
                    body.append(self.step(row, "section", label, _and([*chain, own])))
                    section_of[id(body[-1])] = row.number
                continue
            relevant = _and([*chain, own])
            step = self.question(row, relevant)
            if step is None:
                continue
            if step.get("required"):
                required_rows.append(row.number)
            if step["type"] != "calculate":
                filled.update(row.container)
            body.append(step)
            if row.other:
                body.append(self.other_step(row, step, relevant))
        body = [s for s in body if id(s) not in section_of or section_of[id(s)] in filled]
        if not any(s["type"] not in ("section", "note") for s in body):
            raise FlowError(f"{self.path}: nothing is left to ask once the unsupported rows are left out")
        if required_rows and self.audience == "survivor":
            for step in body:
                step.pop("required", None)
            self.warnings.append(
                "required dropped (every question can be skipped in a survivor flow): rows "
                + ", ".join(str(n) for n in required_rows)
            )
            required_rows = []

        consent_id = _unique("consent", self.taken)
        self.taken.add(consent_id)
        steps: list[dict[str, Any]] = [
            {
                "id": consent_id,
                "type": "consent",
                "version": 1,
                "text": self.generated_text(
                    "consent", title=title_text, skip_key="skip_some" if required_rows else "skip_all"
                ),
                "decline_text": self.generated_text("decline"),
            }
        ]
        if self.audience == "survivor":
            age_id = _unique("age", self.taken)
            self.taken.add(age_id)
            steps.append({"id": age_id, "type": "age_gate", "text": self.generated_text("age")})
        end_id = _unique("thanks", self.taken)
        steps += [*body, {"id": end_id, "type": "end", "text": self.generated_text("end")}]
        return {
            "spec_version": SPEC_VERSION,
            "id": form_id,
            "version": self.version(settings.get("version")),
            "audience": self.audience,
            "languages": list(self.codes_in_order),
            "default_language": self.default_code,
            "title": title,
            "steps": steps,
        }

    def question(self, row: Row, relevant: str | None) -> dict[str, Any] | None:
        label = self.text(row, "label")
        if row.kind == "calculate":
            step: dict[str, Any] = {"id": row.step_id, "type": "calculate"}
            step["calculation"] = self.rewrite(row, "calculation", row.expressions["calculation"])
            if relevant:
                step["relevant"] = relevant
            return step
        if label is None:
            if row.kind == "note":
                self.warnings.append(f"{row.where}: a note without text (e.g. only an image); dropped")
                return None
            label = {lang: _humanise(row.name or row.step_id) for lang in self.codes_in_order}
            self.warnings.append(f"{row.where}: no label; its name is used as the question")
        step = self.step(row, row.kind, label, relevant)
        hint = self.text(row, "hint")
        if hint is not None:
            step["hint"] = hint
        if row.kind in ("single_choice", "multiple_choice"):
            step["options"] = self.options(row)
        if "constraint" in row.expressions:
            step["constraint"] = self.rewrite(row, "constraint", row.expressions["constraint"])
            message = self.text(row, "constraint_message")
            if message is not None:
                step["constraint_message"] = message
        required = (row.data.get("bind") or {}).get("required")
        if required is not None and row.kind not in ("note", "calculate"):
            flag = _yes_no(required)
            if flag is None:
                self.warnings.append(f"{row.where}: required only when {required}; imported as optional")
            elif flag:
                step["required"] = True
        if "choice_filter" in row.expressions:
            step["choice_filter"] = self.rewrite(row, "choice_filter", row.expressions["choice_filter"])
        if row.data.get("default") is not None and row.kind not in ("calculate", "note"):
            self.warnings.append(f"{row.where}: the default value is not used (a chat has no pre-filled answers)")
        return {key: step[key] for key in sorted(step, key=STEP_KEYS.index)}

    def step(self, row: Row, kind: str, text: dict[str, str], relevant: str | None) -> dict[str, Any]:
        step: dict[str, Any] = {"id": row.step_id, "type": kind, "text": text}
        if relevant:
            step["relevant"] = relevant
        return step

    def options(self, row: Row) -> list[dict[str, Any]]:
        mapping = self.codes.get(row.list_name or "", {})
        parents: dict[str, str] = {}
        """Attribute values that are codes of the lists a choice_filter compares them with (renamed alike)."""
        for name in REF.findall(row.expressions.get("choice_filter", "")):
            target = self.by_name.get(name)
            if target is not None and target.list_name:
                parents.update(self.codes.get(target.list_name, {}))
        options: list[dict[str, Any]] = []
        for choice in self.choices.get(row.list_name or "", []):
            name = str(choice["name"])
            label = self.texts_of(choice.get("label"))
            if label is None:
                label = {lang: name for lang in self.codes_in_order}
                self.warnings.append(
                    f"choices sheet, row {choice.get('__row')}: choice {name!r} has no label; its name is shown"
                )
            option: dict[str, Any] = {"code": mapping[name], "label": label}
            attributes = {
                str(k): parents.get(str(v), str(v))
                for k, v in choice.items()
                if k not in ("list name", "name", "label", "media", "__row", "image", "audio", "video")
                and isinstance(v, str | int | float)
            }
            if attributes:
                option["attributes"] = attributes
            options.append(option)
        if row.other and "other" not in mapping.values():
            options.append({"code": "other", "label": self.generated_text("other")})
        return options

    def other_step(self, row: Row, step: dict[str, Any], relevant: str | None) -> dict[str, Any]:
        other_id = row.other_id
        condition = f"selected(${{{row.step_id}}}, 'other')"
        return {
            "id": other_id,
            "type": "free_text",
            "text": self.generated_text("specify"),
            "relevant": _and([relevant, condition]),
        }

    # ------------------------------------------------------------ texts and languages

    def collect_languages(self, settings: dict[str, Any]) -> None:
        names: list[str] = []

        def note(value: Any) -> None:
            if isinstance(value, dict):
                names.extend(str(k) for k in value if str(k) not in names)
            elif value is not None and self.languages.default_name not in names:
                names.append(self.languages.default_name)

        for row in self.rows:
            if self.included(row):
                for column in ("label", "hint"):
                    note(row.data.get(column))
        for choices in self.choices.values():
            for choice in choices:
                note(choice.get("label"))
        codes: dict[str, str] = {}
        unknown: list[str] = []
        for name in names:
            code = self.languages.code(name)
            if code is None:
                unknown.append(name)
            else:
                codes[name] = code
        if unknown:
            raise FlowError(
                f"{self.path}: cannot tell which language {', '.join(repr(u) for u in unknown)} is; "
                "name the columns like label::Swahili (sw)"
            )
        self.name_to_code = codes
        default = self.languages.code(self.languages.default_name) if self.languages.default_name != "default" else None
        ordered = list(dict.fromkeys(codes.values())) or ["en"]
        self.default_code = default if default in ordered else ("en" if "en" in ordered else ordered[0])
        self.codes_in_order = [self.default_code, *[c for c in ordered if c != self.default_code]]
        self.missing: dict[str, int] = {}

    def texts_of(self, value: Any) -> dict[str, str] | None:
        """A label/hint cell (a string, or {language name: text}) as a Text in every flow language."""
        if value is None:
            return None
        raw = value if isinstance(value, dict) else {self.languages.default_name: value}
        found: dict[str, str] = {}
        for name, text in raw.items():
            code = self.name_to_code.get(str(name)) or self.languages.code(str(name))
            if code is None or not str(text).strip():
                continue
            if code not in found or name != "default":
                found[code] = _no_outputs(str(text).strip())
        if not found:
            return None
        fallback = found.get(self.default_code) or next(iter(found.values()))
        out: dict[str, str] = {}
        for code in self.codes_in_order:
            if code in found:
                out[code] = found[code]
            else:
                out[code] = fallback
                self.missing[code] = self.missing.get(code, 0) + 1
        return out

    def text(self, row: Row, column: str) -> dict[str, str] | None:
        if column == "constraint_message":
            value = (row.data.get("bind") or {}).get("jr:constraintMsg")
        else:
            value = row.data.get(column)
        texts = self.texts_of(value)
        if texts is not None and any("${" in t for t in _flatten_values(value)):
            self.warnings.append(
                f"{row.where}: the {column} shows earlier answers; the bot does not repeat answers, shown as '…'"
            )
        if texts is not None and all(not re.sub(r"[\s…:.,;!?-]", "", t) for t in texts.values()):
            return None
        return texts

    def generated_text(self, key: str, **values: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for code in self.codes_in_order:
            text = _generated(key, code)
            if text is None:
                text = GENERATED[key]["en"]
                self.untranslated.setdefault(code, set()).add(key)
            if "skip_key" in values:
                skip = _generated(values["skip_key"], code) or GENERATED[values["skip_key"]]["en"]
                text = text.replace("{skip}", skip)
            out[code] = text.replace("{title}", values.get("title", ""))
        return out

    def version(self, value: Any) -> int:
        if value is None or not str(value).strip():
            return 1
        text = str(value).strip()
        digits = "".join(re.findall(r"\d+", text))
        number = int(digits) if digits else 0
        while number > MAX_VERSION:
            digits = digits[:-1]
            number = int(digits)
        if number < 1:
            self.warnings.append(f"settings sheet: version {text!r} has no number; version 1 is used")
            return 1
        if str(number) != text:
            self.warnings.append(f"settings sheet: version {text!r} is kept as {number}")
        return number

    # ------------------------------------------------------------ result

    def finish(self, document: dict[str, Any]) -> ImportResult:
        from flows.loader import parse_flow

        for code, count in self.missing.items():
            self.warnings.append(
                f"{count} text{'s have' if count != 1 else ' has'} no {code} translation; "
                f"the {self.default_code if code != self.default_code else 'other language'} text is used"
            )
        for code, keys in sorted(self.untranslated.items()):
            if "consent" in keys:
                self.warnings.append(f"consent text for {code} needs translating")
            others = [GENERATED_NAMES[k] for k in GENERATED_NAMES if k in keys and k != "consent"]
            if others:
                self.warnings.append(f"{', '.join(others)} text for {code} needs translating")
        parse_flow(copy.deepcopy(document), str(self.path))
        return ImportResult(document, list(dict.fromkeys(self.warnings)), self.left_out, self.dropped)


# ---------------------------------------------------------------- languages


class _Languages:
    """XLSForm language names ('English (en)', 'english', 'Français (fr)', 'default') -> babel codes."""

    def __init__(self, default_name: str) -> None:
        self.default_name = default_name

    def code(self, name: str) -> str | None:
        if name == "default":
            return self.code(self.default_name) if self.default_name != "default" else "en"
        return _language_code(name)


@cache
def _language_code(name: str) -> str | None:
    match = re.search(r"\(\s*([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*)\s*\)\s*$", name)
    if match:
        return _normalise_locale(match[1]) or match[1].lower()
    cleaned = name.strip()
    if re.fullmatch(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*", cleaned) and (found := _normalise_locale(cleaned)):
        return found
    key = cleaned.casefold()
    return _english_names().get(key) or _native_names().get(key)


def _normalise_locale(code: str) -> str | None:
    try:
        return str(Locale.parse(code.replace("-", "_")))
    except (ValueError, UnknownLocaleError):
        return None


@cache
def _english_names() -> dict[str, str]:
    """English language names -> code (two-letter codes win: 'Dari' is fa_AF, 'Swahili' is sw)."""
    english = Locale("en").languages
    found: dict[str, str] = {}
    for code in sorted(english, key=lambda c: (len(c), c)):
        found.setdefault(english[code].casefold(), code)
    return found


@cache
def _native_names() -> dict[str, str]:
    """Language names in the language itself ('Français', 'Kiswahili') -> code; built only when needed."""
    found: dict[str, str] = {}
    for code in sorted(Locale("en").languages, key=lambda c: (len(c), c)):
        try:
            own = Locale.parse(code).get_display_name(code)
        except (ValueError, UnknownLocaleError):
            continue
        if own:
            found.setdefault(own.casefold(), code)
    return found


# ---------------------------------------------------------------- small helpers


class _CodeProblem(Exception):
    pass


_TOKEN = re.compile(
    r"""(?P<ref>\$\{[^}\s]+\})
      | (?P<number>\d+(?:\.\d+)?|\.\d+)
      | (?P<string>'[^']*'|"[^"]*")
      | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|\(|\)|,)
      | (?P<name>[A-Za-z_][\w\-:]*)
      | (?P<dot>\.)
      | (?P<other>\S)""",
    re.VERBOSE,
)


def _tokens(source: str) -> list[tuple[str, str, int, int]]:
    return [(m.lastgroup or "", m.group(), m.start(), m.end()) for m in _TOKEN.finditer(source)]


def _text_content_use(node: expressions.Node, texts: dict[str, Row]) -> str | None:
    """Free-text and date answers never reach the engine's state (privacy): only '' comparisons work."""
    if isinstance(node, expressions.Binary) and node.op in ("=", "!="):
        for a, b in ((node.left, node.right), (node.right, node.left)):
            if isinstance(a, expressions.Ref) and isinstance(b, expressions.Literal) and b.value == "":
                return None
    if isinstance(node, expressions.Ref) and node.name in texts:
        target = texts[node.name]
        return (
            f"uses what was written in ${{{target.name}}} (a {target.kind.replace('_', ' ')} answer), which the bot "
            f"keeps encrypted and never reads; only ${{{target.name}}} != '' (answered) can be tested"
        )
    children: list[expressions.Node] = []
    if isinstance(node, expressions.Binary):
        children = [node.left, node.right]
    elif isinstance(node, expressions.Negate):
        children = [node.operand]
    elif isinstance(node, expressions.Call):
        children = list(node.arguments)
    for child in children:
        problem = _text_content_use(child, texts)
        if problem is not None:
            return problem
    return None


def _short_expression_error(message: str) -> str:
    function = re.search(r"function ([\w:\-]+)\(\) is not supported", message)
    if function:
        return f"uses {function[1]}(), which the bot cannot evaluate"
    return message


def _pyxform_message(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


def _locate(message: str, workbook: Any) -> str:
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


def _yes(value: Any) -> bool:
    return _yes_no(value) is True


def _yes_no(value: Any) -> bool | None:
    from pyxform import aliases

    if value is None:
        return False
    found: bool | None = aliases.yes_no.get(str(value).strip())
    return found


def _code_ok(code: str) -> bool:
    try:
        Option.model_validate({"code": code, "label": {}})
    except ValidationError:
        return False
    return True


def _sanitise(name: str, prefix: str) -> str:
    cleaned = re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_")
    cleaned = re.sub(r"_+", "_", cleaned)
    if not cleaned or not cleaned[0].isalpha():
        cleaned = f"{prefix}_{cleaned}" if cleaned else prefix
    return cleaned[:40]


def _unique(candidate: str, taken: Iterable[str]) -> str:
    used = set(taken)
    if candidate not in used:
        return candidate
    for n in range(2, 10_000):
        suffix = f"_{n}"
        name = candidate[: 40 - len(suffix)] + suffix
        if name not in used:
            return name
    raise FlowError(f"too many steps named like {candidate!r}")


def _humanise(name: str) -> str:
    text = re.sub(r"[_\-]+", " ", name).strip()
    return text[:1].upper() + text[1:] if text else name


def _and(parts: Iterable[str | None]) -> str | None:
    present = [p for p in parts if p]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return " and ".join(f"({p})" for p in present)


def _no_outputs(text: str) -> str:
    """`${name}` in a label shows an earlier answer in ODK; the bot never repeats answers back."""
    return REF.sub("…", text)


def _flatten_values(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(v) for v in value.values()]
    return [str(value)] if value is not None else []


def _ranges(numbers: list[int]) -> str:
    """[4, 5, 6, 9] -> '4-6, 9'."""
    parts: list[str] = []
    for n in sorted(numbers):
        if parts and parts[-1].split("-")[-1] == str(n - 1):
            parts[-1] = f"{parts[-1].split('-')[0]}-{n}"
        else:
            parts.append(str(n))
    return ", ".join(parts)
