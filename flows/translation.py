"""Flow texts for translators: extract a flow's texts to a gettext .pot, keep .po files current, merge them back.

A flow's texts live in its YAML file as `{language: text}` maps. Translators work on gettext catalogs instead,
with the tools they know (Poedit, Weblate, Lokalize):

- `extract` writes `locales/flows/<flow_id>.pot`. Each text of the default language is a msgid; its msgctxt is
  where it is used (`title`, `<step>.text`, `<step>.hint`, `<step>.option.<code>`, ...), so the same English
  words in two places stay two entries; a comment names the step for the translator.
- `update` creates or updates `locales/flows/<lang>/<flow_id>.po` (babel's `Catalog.update`). Empty entries
  are filled from the YAML when it already has that language, so existing translations are not lost.
- `merge` writes the translations back into the YAML (and adds the language to `languages:`). It refuses
  when any entry is missing, empty or fuzzy, and when a translation drops a /command or a placeholder.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from config.errors import VoicesError
from flows.loader import DEFINITIONS_DIR, FlowYamlLoader, parse_flow
from flows.schema import Audience

PROJECT_DIR = DEFINITIONS_DIR.parent.parent
FLOW_LOCALES_DIR = PROJECT_DIR / "locales" / "flows"
TEXT_FIELDS = ("text", "hint", "constraint_message", "decline_text", "min_label", "max_label")
"""Fields of a step that hold a `{language: text}` map (option labels are the other ones)."""

MAX_BUTTON_LABEL = 40
"""The longest button label, in characters, in any language: option labels and interface buttons.

A phone shows about 40 characters across a full-width Telegram button; a longer label is cut with "…". The
Telegram adapter lists an option label longer than this in the message and puts only its number on the button
(`LONG_LABEL` in bot/keyboard.py), which works but is harder to read than words. Keeping every label,
in every language, within this limit gives every language the same layout: words on the buttons. In a
multiple-choice question a chosen label gains a check mark ("✅ "), so its labels keep 2 characters free."""

_FIELD_NOTES = {
    "text": "the question or message",
    "hint": "a hint shown under the question",
    "constraint_message": "shown when an answer is not accepted",
    "decline_text": "shown to someone who answers “Not now” to the consent question",
    "min_label": "words for the lowest point of the scale",
    "max_label": "words for the highest point of the scale",
}
_AUDIENCE_NOTES = {
    Audience.SURVIVOR: "Read by survivors of trafficking and forced labour, and their communities: short sentences, "
    "plain words, a kind tone; no blame, no pity, no legal jargon.",
    Audience.CSO: "Read by staff of civil society organisations: clear and plain, the same meaning as the source.",
}
_COMMAND = re.compile(r"(?<![\w/])/[a-z]+\b")
_PLACEHOLDER = re.compile(r"%\([A-Za-z_]\w*\)[sd]|%[sd]|\{[A-Za-z_]\w*\}")
PO_WIDTH = 100
"""Line width of the written catalogs (the same every time, so rewriting a catalog changes nothing)."""
_DATE_LINE = re.compile(r'^"(POT-Creation-Date|PO-Revision-Date): .*\\n"$', re.MULTILINE)


class TranslationError(VoicesError):
    """Translations cannot be merged; `problems` lists every entry to fix."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message + "".join(f"\n  {p}" for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class FlowText:
    """One translatable text of a flow document: `owner[key]` is its `{language: text}` map."""

    context: str
    """Where it is used: `title`, `<step>.<field>` or `<step>.option.<code>` (the msgctxt)."""
    comment: str
    owner: dict[str, Any] = field(repr=False)
    key: str

    @property
    def texts(self) -> dict[str, str]:
        texts: dict[str, str] = self.owner[self.key]
        return texts


def tokens(text: str) -> tuple[list[str], list[str]]:
    """The /commands and the placeholders (`%(name)s`, `%s`, `{name}`) of a text, sorted."""
    return sorted(_COMMAND.findall(text)), sorted(_PLACEHOLDER.findall(text))


def token_problems(source: str, translation: str) -> list[str]:
    """What a translation lost or added among the source's /commands and placeholders (empty when none)."""
    problems = []
    (commands, placeholders), (t_commands, t_placeholders) = tokens(source), tokens(translation)
    if commands != t_commands:
        problems.append(f"commands differ: {' '.join(commands) or '(none)'} → {' '.join(t_commands) or '(none)'}")
    if placeholders != t_placeholders:
        problems.append(
            f"placeholders differ: {' '.join(placeholders) or '(none)'} → {' '.join(t_placeholders) or '(none)'}"
        )
    return problems


# ---- reading flow documents


def read_document(path: Path) -> tuple[str, dict[str, Any]]:
    """The source text and the raw YAML document of a flow file."""
    try:
        source = path.read_text(encoding="utf-8")
        document = yaml.load(source, Loader=FlowYamlLoader)  # noqa: S506 - a SafeLoader subclass
    except (OSError, yaml.YAMLError) as exc:
        raise TranslationError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("steps"), list):
        raise TranslationError(f"{path}: not a flow file (a mapping with steps)")
    return source, document


def flow_texts(document: dict[str, Any]) -> list[FlowText]:
    """Every translatable text of a raw flow document, in file order."""
    found: list[FlowText] = []
    if isinstance(document.get("title"), dict):
        found.append(FlowText("title", "Title of the questionnaire, seen by organisers", document, "title"))
    for step in document["steps"]:
        if not isinstance(step, dict) or not isinstance(step.get("id"), str):
            continue
        sid, kind = step["id"], step.get("type", "?")
        question = step.get("text") if isinstance(step.get("text"), dict) else {}
        for name in TEXT_FIELDS:
            if isinstance(step.get(name), dict):
                found.append(FlowText(f"{sid}.{name}", f"Step “{sid}” ({kind}): {_FIELD_NOTES[name]}", step, name))
        for option in step.get("options") or ():
            if isinstance(option, dict) and isinstance(option.get("label"), dict):
                code = option.get("code")
                asked = _shorten(next(iter(question.values()), "")) if question else ""
                comment = f"Step “{sid}”: answer option “{code}” (a button: at most {MAX_BUTTON_LABEL} characters)"
                comment += f". Question: {asked}" if asked else ""
                found.append(FlowText(f"{sid}.option.{code}", comment, option, "label"))
    return found


def _shorten(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _line_numbers(source: str) -> dict[str, int]:
    """The line of each translatable text in the file, by context (for `#:` references in the catalogs)."""
    lines: dict[str, int] = {}
    try:
        root = yaml.compose(source, Loader=FlowYamlLoader)
    except yaml.YAMLError:
        return lines
    if not isinstance(root, yaml.MappingNode):
        return lines
    top = _mapping(root)
    if "title" in top:
        lines["title"] = top["title"].start_mark.line + 1
    steps = top.get("steps")
    for step in steps.value if isinstance(steps, yaml.SequenceNode) else ():
        fields = _mapping(step)
        sid = fields.get("id")
        if not isinstance(sid, yaml.ScalarNode):
            continue
        for name in TEXT_FIELDS:
            if name in fields:
                lines[f"{sid.value}.{name}"] = fields[name].start_mark.line + 1
        options = fields.get("options")
        for option in options.value if isinstance(options, yaml.SequenceNode) else ():
            entries = _mapping(option)
            code, label = entries.get("code"), entries.get("label")
            if isinstance(code, yaml.ScalarNode) and label is not None:
                lines[f"{sid.value}.option.{code.value}"] = label.start_mark.line + 1
    return lines


def _mapping(node: yaml.Node) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _where(path: Path) -> str:
    resolved = path.resolve()
    try:
        return resolved.relative_to(PROJECT_DIR).as_posix()
    except ValueError:
        return path.as_posix()


# ---- extract and update


def template(path: Path) -> tuple[str, Catalog]:
    """The flow's id and its translation template: one entry per text of the default language."""
    source, document = read_document(path)
    flow = parse_flow(copy.deepcopy(document), str(path))
    lines = _line_numbers(source)
    catalog = Catalog(
        project=f"Voices 8.7 flow {flow.id}",
        version=str(flow.version),
        domain=flow.id,
        msgid_bugs_address="",
        header_comment=(
            f"# Texts of the questionnaire “{flow.id}” (version {flow.version}), from {_where(path)}.\n"
            f"# {_AUDIENCE_NOTES[flow.audience]}\n"
            "# Keep /commands (/start, /stop, /exit, /delete, /back, /pause, /resume) exactly as they are.\n"
            "# Arabic: a left-to-right mark (U+200E) goes right before each /command (README, Translating).\n"
            "# Translate in locales/flows/<language>/<flow>.po; `python -m bot flows merge` writes it into the flow."
        ),
        fuzzy=False,
    )
    for item in flow_texts(document):
        line = lines.get(item.context, 0)
        catalog.add(
            item.texts.get(flow.default_language, ""),
            locations=[(_where(path), line)],
            auto_comments=[item.comment],
            context=item.context,
        )
    return flow.id, catalog


def extract(paths: Iterable[Path], output: Path = FLOW_LOCALES_DIR) -> list[str]:
    """Write `<output>/<flow_id>.pot` for each flow; returns what was done, one line per file."""
    done = []
    for path in paths:
        flow_id, catalog = template(path)
        target = output / f"{flow_id}.pot"
        done.append(f"{_where(target)}: {len(catalog)} texts" + ("" if _write(target, catalog) else " (unchanged)"))
    return done


def languages_with_catalogs(flow_id: str, po_dir: Path = FLOW_LOCALES_DIR) -> list[str]:
    """Languages that have a .po file for this flow."""
    return sorted(p.parent.name for p in po_dir.glob(f"*/{flow_id}.po"))


def update(paths: Iterable[Path], languages: Sequence[str] = (), output: Path = FLOW_LOCALES_DIR) -> list[str]:
    """Write each flow's .pot, then create or update its .po for every language: the ones asked for, the ones the
    flow declares and the ones that already have a catalog (never the flow's default language)."""
    done = []
    for path in paths:
        flow_id, pot = template(path)
        _write(output / f"{flow_id}.pot", pot)
        _, document = read_document(path)
        default = document.get("default_language")
        declared = [x for x in document.get("languages") or () if isinstance(x, str)]
        wanted = dict.fromkeys([*languages, *declared, *languages_with_catalogs(flow_id, output)])
        known = {item.context: item.texts for item in flow_texts(document)}
        for language in wanted:
            if language == default:
                continue
            target = output / language / f"{flow_id}.po"
            before = _contexts(target)
            catalog = _updated_catalog(copy.deepcopy(pot), language, target)  # babel shares the template's messages
            for message in catalog:
                # an empty entry, or a new one babel guessed from another entry's translation (fuzzy): the YAML's
                # text is better; an entry whose English changed stays fuzzy for the translator to review
                guessed = message.fuzzy and message.context not in before
                if (
                    message.id
                    and (not message.string or guessed)
                    and message.context
                    and known.get(message.context, {}).get(language)
                ):
                    message.string = known[message.context][language]
                    message.flags.discard("fuzzy")
                    message.previous_id = []
            todo = sum(1 for m in catalog if m.id and (not m.string or m.fuzzy))
            changed = _write(target, catalog)
            done.append(
                f"{_where(target)}: {len(catalog)} texts, {todo} to translate or review"
                + ("" if changed else " (unchanged)")
            )
    return done


def _contexts(target: Path) -> set[str]:
    """The places (msgctxt) a catalog already has entries for (empty when there is no catalog yet)."""
    if not target.exists():
        return set()
    with target.open("rb") as handle:
        return {m.context for m in read_po(handle) if m.context}


def _updated_catalog(pot: Catalog, language: str, target: Path) -> Catalog:
    if target.exists():
        with target.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        catalog.update(pot, update_header_comment=True)
        return catalog
    buffer = io.BytesIO()
    write_po(buffer, pot, width=PO_WIDTH)
    buffer.seek(0)
    catalog = read_po(buffer, locale=language)
    catalog.locale = language
    catalog.revision_date = datetime.now(UTC)
    catalog.fuzzy = False
    return catalog


def _write(target: Path, catalog: Catalog) -> bool:
    """Write a catalog unless only its dates would change; True when the file was written."""
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=PO_WIDTH, include_previous=True)
    content = buffer.getvalue()
    if target.exists():
        old = target.read_bytes()
        if _DATE_LINE.sub("", old.decode("utf-8")) == _DATE_LINE.sub("", content.decode("utf-8")):
            return False
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    return True


# ---- merge


def read_translations(flow_id: str, language: str, po_dir: Path = FLOW_LOCALES_DIR) -> Catalog:
    target = po_dir / language / f"{flow_id}.po"
    try:
        with target.open("rb") as handle:
            return read_po(handle, locale=language)
    except OSError as exc:
        raise TranslationError(f"{target}: cannot read: {exc} (create it with `python -m bot flows update`)") from exc
    except ValueError as exc:
        raise TranslationError(f"{target}: not a valid .po file: {exc}") from exc


def translation_problems(document: dict[str, Any], language: str, catalog: Catalog) -> list[str]:
    """Every text of the document the catalog does not translate cleanly (missing, empty, fuzzy, lost tokens)."""
    default = document.get("default_language", "en")
    problems = []
    for item in flow_texts(document):
        source = item.texts.get(default, "")
        message = catalog.get(source, context=item.context)
        if message is None:
            problems.append(f"{language}: {item.context}: not in the .po file (run `python -m bot flows update`)")
        elif message.fuzzy:
            problems.append(f"{language}: {item.context}: marked fuzzy (check the translation, then unmark it)")
        elif not isinstance(message.string, str) or not message.string.strip():
            problems.append(f"{language}: {item.context}: not translated")
        else:
            problems += [f"{language}: {item.context}: {p}" for p in token_problems(source, message.string)]
    return problems


def merge(path: Path, languages: Sequence[str] | None = None, po_dir: Path = FLOW_LOCALES_DIR) -> list[str]:
    """Write the translations of the .po files into the flow file; returns a line per language.

    `languages` defaults to every language with a .po file for this flow; then a language the flow does not
    offer yet is left out, with a note, while its translation is unfinished. Nothing is written when a text
    lacks a clean translation in a language to merge (TranslationError lists them all) or when the result
    would not load.
    """
    source, document = read_document(path)
    flow_id = str(document.get("id"))
    default = document.get("default_language", "en")
    declared = list(document.get("languages") or ())
    chosen = [x for x in dict.fromkeys(languages or languages_with_catalogs(flow_id, po_dir)) if x != default]
    if not chosen:
        raise TranslationError(f"{path}: no translations to merge (no .po file in {po_dir}/<language>/{flow_id}.po)")
    catalogs = {language: read_translations(flow_id, language, po_dir) for language in chosen}
    done = []
    problems = []
    for language, catalog in list(catalogs.items()):
        found = translation_problems(document, language, catalog)
        if found and languages is None and language not in declared:
            done.append(f"{_where(path)}: {language}: not offered yet, {len(found)} text(s) to finish; not merged")
            del catalogs[language]
        problems += found if language in catalogs else []
    if problems:
        raise TranslationError(f"{path}: not merged; {len(problems)} text(s) need work:", problems)
    items = flow_texts(document)
    for language, catalog in catalogs.items():
        changed = 0
        written: dict[int, str] = {}
        for item in items:
            message = catalog.get(item.texts.get(default, ""), context=item.context)
            if message is None or not isinstance(message.string, str):
                raise TranslationError(f"{path}: {language}: no translation for {item.context}", [])
            text = message.string
            texts = item.texts
            if id(texts) in written and written[id(texts)] != text:
                texts = item.owner[item.key] = dict(texts)  # a YAML alias shared with a differently translated place
            changed += texts.get(language) != text
            texts[language] = text
            written[id(texts)] = text
        done.append(f"{_where(path)}: {language}: {len(items)} texts, {changed} changed")
    added = [x for x in catalogs if x not in declared]
    if not added and all(line.endswith((" 0 changed", "not merged")) for line in done):
        return done  # nothing new: the file keeps its layout
    document["languages"] = [*declared, *added]
    parse_flow(copy.deepcopy(document), str(path))
    output = dump_flow(document, source)
    lost = len(re.findall(r"^\s*#", source, re.MULTILINE)) - len(
        re.findall(r"^#", header_comments(source), re.MULTILINE)
    )
    if lost > 0 and output != source:
        done.append(f"{_where(path)}: note: {lost} comment line(s) below the header were not kept")
    if output != source:
        path.write_text(output, encoding="utf-8")
    return done


def header_comments(source: str) -> str:
    """The comment lines at the top of a YAML file (kept when the file is rewritten)."""
    lines: list[str] = []
    for line in source.splitlines():
        if line.startswith("#") or (lines and not line.strip()):
            lines.append(line)
        else:
            break
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


class _FlowDumper(yaml.SafeDumper):
    """Readable flow files: nested lists indented, multi-line texts as `|-` blocks, lists of words on one line."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.SequenceNode:
    words = bool(data) and all(isinstance(x, str | int | float) and "\n" not in str(x) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=words)


_FlowDumper.add_representer(str, _represent_str)
_FlowDumper.add_representer(list, _represent_list)


def dump_flow(document: dict[str, Any], source: str = "") -> str:
    """A flow document as YAML, with the header comments of `source` on top."""
    body = yaml.dump(
        document, Dumper=_FlowDumper, allow_unicode=True, sort_keys=False, width=120, default_flow_style=False
    )
    return header_comments(source) + body
