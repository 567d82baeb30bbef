"""Telegram text formatting for the sandbox: parse_mode HTML / MarkdownV2 / Markdown into text + entities.

The parsers follow TDLib's behaviour closely enough that a bot which passes here will not be refused by
Telegram for malformed markup: same supported tags, same entity rules, same error strings
(``can't parse entities: ...``), entity offsets and lengths in UTF-16 code units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JsonDict = dict[str, Any]

_SPACES = frozenset(" \t\r\n\v\f\0")
_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_HTML_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "a": "text_link",
}
ENTITY_TYPES = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
    }
)
_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")


class EntityParseError(ValueError):
    """Markup that Telegram would refuse; the message is TDLib's wording after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _is_alpha(ch: str) -> bool:
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z")


def _decode_html_entity(text: str, pos: int) -> tuple[str | None, int]:
    """Decode an HTML entity at ``text[pos] == '&'`` like TDLib; returns (char or None, new position)."""
    n = len(text)
    end = pos + 1
    code = 0
    if end < n and text[end] == "#":
        end += 1
        start_digits = end
        if end < n and text[end] == "x":
            end += 1
            start_digits = end
            while end < n and text[end] in "0123456789abcdefABCDEF" and code <= 0x10FFFF:
                code = code * 16 + int(text[end], 16)
                end += 1
        else:
            while end < n and text[end].isdigit() and text[end].isascii() and code <= 0x10FFFF:
                code = code * 10 + int(text[end])
                end += 1
        if end == start_digits or code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None, pos
    else:
        while end < n and _is_alpha(text[end]):
            end += 1
        name = text[pos + 1 : end]
        named = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
        if name not in named:
            return None, pos
        code = ord(named[name])
    if end < n and text[end] == ";":
        end += 1
    return chr(code), end


def _valid_link(url: str) -> str | None:
    url = url.strip()
    if not url:
        return None
    lower = url.lower()
    if lower.startswith(("http://", "https://", "tg://", "ton://")):
        return url
    if "://" in lower or lower.startswith(("javascript:", "data:", "mailto:")):
        return None
    if "." in url and " " not in url:
        return "http://" + url
    return None


@dataclass
class _OpenTag:
    tag: str
    argument: str
    u16_offset: int
    expandable: bool = False
    pre_language: str | None = None


def parse_html(text: str) -> tuple[str, list[JsonDict]]:
    """Parse Telegram-flavoured HTML; raise EntityParseError exactly where Telegram would."""
    out: list[str] = []
    u16 = 0
    stack: list[_OpenTag] = []
    entities: list[JsonDict] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded, new_pos = _decode_html_entity(text, i)
            if decoded is not None:
                out.append(decoded)
                u16 += utf16_len(decoded)
                i = new_pos
                continue
        if c != "<":
            out.append(c)
            u16 += utf16_len(c)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
            j = i + 1
            while j < n and text[j] not in _SPACES and text[j] != ">":
                j += 1
            end_name = text[begin + 2 : j].lower()
            while j < n and text[j] in _SPACES:
                j += 1
            if j >= n or text[j] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            opened = stack.pop()
            if end_name and end_name != opened.tag:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{opened.tag}>", found "</{end_name}>"'
                )
            i = j + 1
            _close_html_tag(opened, u16, stack, entities)
            continue
        # start tag
        j = i
        while j < n and text[j] not in _SPACES and text[j] != ">":
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        tag = text[i:j].lower()
        if tag not in _HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
        argument = ""
        expandable = False
        i = j
        while True:
            while i < n and text[i] in _SPACES:
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            if text[i] == ">":
                break
            attr_begin = i
            while i < n and text[i] not in _SPACES and text[i] not in "=>":
                i += 1
            attr_name = text[attr_begin:i].lower()
            if not attr_name:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                )
            while i < n and text[i] in _SPACES:
                i += 1
            if i >= n or text[i] != "=":
                if tag == "blockquote" and attr_name == "expandable":
                    expandable = True
                    continue
                raise EntityParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {_byte_offset(text, begin)}"
                )
            i += 1
            while i < n and text[i] in _SPACES:
                i += 1
            if i >= n:
                raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
            value_chars: list[str] = []
            if text[i] not in "'\"":
                token_begin = i
                while i < n and (text[i].isascii() and (text[i].isalnum() or text[i] in ".-")):
                    i += 1
                value = text[token_begin:i].lower()
                if i < n and text[i] not in _SPACES and text[i] != ">":
                    raise EntityParseError(
                        f"Unexpected end of name token at byte offset {_byte_offset(text, token_begin)}"
                    )
            else:
                quote = text[i]
                i += 1
                while i < n and text[i] != quote:
                    if text[i] == "&":
                        decoded, new_pos = _decode_html_entity(text, i)
                        if decoded is not None:
                            value_chars.append(decoded)
                            i = new_pos
                            continue
                    value_chars.append(text[i])
                    i += 1
                if i < n and text[i] == quote:
                    i += 1
                value = "".join(value_chars)
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            if tag == "a" and attr_name == "href":
                argument = value
            elif tag == "code" and attr_name == "class" and value.startswith("language-"):
                argument = value[len("language-") :]
            elif tag == "span" and attr_name == "class" and value.startswith("tg-"):
                argument = value[len("tg-") :]
            elif tag == "tg-emoji" and attr_name == "emoji-id":
                argument = value
        if tag == "span" and argument != "spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}'
            )
        if tag == "tg-emoji" and not argument.isdigit():
            raise EntityParseError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {_byte_offset(text, begin)}'
            )
        stack.append(_OpenTag(tag, argument, u16, expandable))
        i += 1  # skip '>'
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    return "".join(out), entities


def _close_html_tag(opened: _OpenTag, u16: int, stack: list[_OpenTag], entities: list[JsonDict]) -> None:
    length = u16 - opened.u16_offset
    if length <= 0:
        return
    kind = _HTML_TAG_TYPES[opened.tag]
    entity: JsonDict = {"type": kind, "offset": opened.u16_offset, "length": length}
    if opened.tag == "a":
        url = _valid_link(opened.argument)
        if url is None:
            return  # Telegram silently drops links it cannot use
        entity["url"] = url
    elif opened.tag == "code" and opened.argument:
        parent = stack[-1] if stack else None
        if parent is not None and parent.tag == "pre" and parent.u16_offset == opened.u16_offset:
            parent.pre_language = opened.argument
            return
    elif opened.tag == "pre" and opened.pre_language:
        entity["language"] = opened.pre_language
    elif opened.tag == "blockquote" and opened.expandable:
        entity["type"] = "expandable_blockquote"
    elif opened.tag == "tg-emoji":
        entity["custom_emoji_id"] = opened.argument
    entities.append(entity)


_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
}


@dataclass
class _OpenMd:
    kind: str
    u16_offset: int
    byte_offset: int
    language: str = ""


def parse_markdown_v2(text: str) -> tuple[str, list[JsonDict]]:
    """Parse MarkdownV2 (bold, italic, underline, strike, spoiler, code, pre, links, block quotes)."""
    out: list[str] = []
    u16 = 0
    stack: list[_OpenMd] = []
    entities: list[JsonDict] = []
    n = len(text)
    i = 0
    quote_start: int | None = None
    at_line_start = True
    while i < n:
        c = text[i]
        in_code = bool(stack) and stack[-1].kind in ("code", "pre")
        if at_line_start and not in_code:
            if c == ">":
                if quote_start is None:
                    quote_start = u16
                i += 1
                at_line_start = False
                continue
            if quote_start is not None:
                _end_quote(out, quote_start, entities)
                quote_start = None
        at_line_start = False
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.append(text[i + 1])
            u16 += 1
            i += 2
            continue
        if in_code:
            top = stack[-1]
            if c == "`" and (top.kind == "code" or text.startswith("```", i)):
                stack.pop()
                i += 1 if top.kind == "code" else 3
                _add_md_entity(top, u16, entities)
                continue
            out.append(c)
            u16 += utf16_len(c)
            i += 1
            if c == "\n":
                at_line_start = True
            continue
        if c not in _MDV2_RESERVED:
            out.append(c)
            u16 += utf16_len(c)
            i += 1
            if c == "\n":
                at_line_start = True
            continue
        top_kind = stack[-1].kind if stack else None
        closing = (
            (top_kind == "bold" and c == "*")
            or (top_kind == "italic" and c == "_")
            or (top_kind == "underline" and text.startswith("__", i))
            or (top_kind == "strikethrough" and c == "~")
            or (top_kind == "spoiler" and text.startswith("||", i))
            or (top_kind == "text_link" and c == "]")
        )
        if closing:
            opened = stack.pop()
            i += 2 if opened.kind in ("underline", "spoiler") else 1
            if opened.kind == "text_link":
                url = ""
                if i < n and text[i] == "(":
                    i += 1
                    url_chars: list[str] = []
                    while i < n and text[i] != ")":
                        if text[i] == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
                            url_chars.append(text[i + 1])
                            i += 2
                            continue
                        url_chars.append(text[i])
                        i += 1
                    if i >= n:
                        raise EntityParseError(f"Can't find end of a URL at byte offset {_byte_offset(text, i)}")
                    i += 1
                    url = "".join(url_chars)
                link = _valid_link(url)
                if link is not None and u16 > opened.u16_offset:
                    entities.append(
                        {
                            "type": "text_link",
                            "offset": opened.u16_offset,
                            "length": u16 - opened.u16_offset,
                            "url": link,
                        }
                    )
                continue
            _add_md_entity(opened, u16, entities)
            continue
        begin = i
        if c == "_":
            if text.startswith("__", i):
                kind, i = "underline", i + 2
            else:
                kind, i = "italic", i + 1
        elif c == "*":
            kind, i = "bold", i + 1
        elif c == "~":
            kind, i = "strikethrough", i + 1
        elif c == "|" and text.startswith("||", i):
            kind, i = "spoiler", i + 2
        elif c == "[":
            kind, i = "text_link", i + 1
        elif c == "`":
            if text.startswith("```", i):
                i += 3
                lang_end = i
                while lang_end < n and text[lang_end] not in "\n`" and not text[lang_end].isspace():
                    lang_end += 1
                language = ""
                if lang_end < n and text[lang_end] == "\n":
                    language = text[i:lang_end]
                    i = lang_end + 1
                stack.append(_OpenMd("pre", u16, _byte_offset(text, begin), language))
                continue
            kind, i = "code", i + 1
        else:
            raise EntityParseError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        if any(o.kind == kind for o in stack):
            raise EntityParseError(
                f"Can't find end of {_MDV2_NAMES[kind]} entity at byte offset {_byte_offset(text, begin)}"
            )
        stack.append(_OpenMd(kind, u16, _byte_offset(text, begin)))
    if quote_start is not None:
        _end_quote(out, quote_start, entities)
    if stack:
        top = stack[-1]
        raise EntityParseError(f"Can't find end of {_MDV2_NAMES[top.kind]} entity at byte offset {top.byte_offset}")
    return "".join(out), entities


def _end_quote(out: list[str], start: int, entities: list[JsonDict]) -> None:
    end = utf16_len("".join(out).rstrip("\n"))
    if end > start:
        entities.append({"type": "blockquote", "offset": start, "length": end - start})


def _add_md_entity(opened: _OpenMd, u16: int, entities: list[JsonDict]) -> None:
    if u16 <= opened.u16_offset:
        return
    entity: JsonDict = {"type": opened.kind, "offset": opened.u16_offset, "length": u16 - opened.u16_offset}
    if opened.kind == "pre" and opened.language:
        entity["language"] = opened.language
    entities.append(entity)


def parse_markdown_legacy(text: str) -> tuple[str, list[JsonDict]]:
    """Parse legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url)."""
    out: list[str] = []
    u16 = 0
    entities: list[JsonDict] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            u16 += 1
            i += 2
            continue
        if c not in "_*`[":
            out.append(c)
            u16 += utf16_len(c)
            i += 1
            continue
        begin = i
        if c == "`" and text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
                )
            inner = text[i + 3 : end]
            language = ""
            first_nl = inner.find("\n")
            if first_nl > 0 and " " not in inner[:first_nl]:
                language, inner = inner[:first_nl], inner[first_nl + 1 :]
            entity: JsonDict = {"type": "pre", "offset": u16, "length": utf16_len(inner)}
            if language:
                entity["language"] = language
            if inner:
                entities.append(entity)
            out.append(inner)
            u16 += utf16_len(inner)
            i = end + 3
            continue
        closer = "]" if c == "[" else c
        end = text.find(closer, i + 1)
        if end < 0:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}")
        inner = text[i + 1 : end]
        i = end + 1
        kind = {"*": "bold", "_": "italic", "`": "code", "[": "text_link"}[c]
        entity = {"type": kind, "offset": u16, "length": utf16_len(inner)}
        if c == "[":
            url = ""
            if i < n and text[i] == "(":
                close = text.find(")", i)
                if close < 0:
                    raise EntityParseError(
                        f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
                    )
                url = text[i + 1 : close]
                i = close + 1
            link = _valid_link(url)
            if link is None:
                entity = {}
            else:
                entity["url"] = link
        if entity and inner:
            entities.append(entity)
        out.append(inner)
        u16 += utf16_len(inner)
    return "".join(out), entities


def validate_entities(raw: object) -> list[JsonDict]:
    """Validate an explicit ``entities`` array (used when no parse_mode is given)."""
    if not isinstance(raw, list):
        raise EntityParseError("entities must be an Array")
    result: list[JsonDict] = []
    for item in raw:
        if not isinstance(item, dict):
            raise EntityParseError("entity must be an Object")
        kind = item.get("type")
        offset = item.get("offset")
        length = item.get("length")
        if kind not in ENTITY_TYPES:
            raise EntityParseError(f'Unsupported entity type "{kind}"')
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length < 0:
            raise EntityParseError("entity offset and length must be non-negative integers")
        if length:
            result.append(dict(item))
    return result


def trim_formatted(text: str, entities: list[JsonDict]) -> tuple[str, list[JsonDict]]:
    """Strip leading/trailing whitespace as Telegram does, keeping entities aligned (UTF-16 units)."""
    stripped_left = text.lstrip()
    shift = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip()
    total = utf16_len(result)
    fixed: list[JsonDict] = []
    for entity in entities:
        start = max(0, entity["offset"] - shift)
        end = min(total, entity["offset"] + entity["length"] - shift)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    fixed.sort(key=lambda e: (e["offset"], -e["length"]))
    return result, fixed


def format_text(text: str, parse_mode: str | None, entities: object = None) -> tuple[str, list[JsonDict]]:
    """Apply parse_mode (case-insensitive, like the Bot API) or explicit entities; then trim."""
    mode = (parse_mode or "").strip().lower()
    if mode == "html":
        plain, found = parse_html(text)
    elif mode == "markdownv2":
        plain, found = parse_markdown_v2(text)
    elif mode == "markdown":
        plain, found = parse_markdown_legacy(text)
    elif mode == "":
        plain, found = text, (validate_entities(entities) if entities is not None else [])
    else:
        raise UnsupportedParseMode(parse_mode or "")
    return trim_formatted(plain, found)


class UnsupportedParseMode(ValueError):
    """parse_mode other than HTML, MarkdownV2, Markdown."""
