"""Unit tests of the sandbox's Telegram HTML / MarkdownV2 parsers."""

from __future__ import annotations

import pytest

from sandbox.formatting import EntityParseError, format_text, parse_html, parse_markdown_v2, utf16_len


def test_html_entities_and_nesting() -> None:
    text, entities = parse_html("<b>a <i>b</i></b> &lt;x&gt; &quot;q&quot; &#128578; &nbsp;")
    assert text == 'a b <x> "q" 🙂 &nbsp;'
    assert entities == [
        {"type": "italic", "offset": 2, "length": 1},
        {"type": "bold", "offset": 0, "length": 3},
    ]


def test_html_pre_with_language_spoiler_quote() -> None:
    text, entities = parse_html(
        '<pre><code class="language-python">x = 1</code></pre><span class="tg-spoiler">s</span>'
        "<blockquote expandable>q</blockquote>"
    )
    assert text == "x = 1sq"
    assert {"type": "pre", "offset": 0, "length": 5, "language": "python"} in entities
    assert {"type": "spoiler", "offset": 5, "length": 1} in entities
    assert {"type": "expandable_blockquote", "offset": 6, "length": 1} in entities


@pytest.mark.parametrize(
    ("markup", "message"),
    [
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("<b", "Unclosed start tag at byte offset 0"),
    ],
)
def test_html_errors(markup: str, message: str) -> None:
    with pytest.raises(EntityParseError) as info:
        parse_html(markup)
    assert str(info.value).startswith(message)


def test_html_drops_unusable_links() -> None:
    text, entities = parse_html('<a href="javascript:alert(1)">x</a>')
    assert text == "x" and entities == []


def test_markdown_v2() -> None:
    text, entities = parse_markdown_v2(r"*b* _i_ __u__ ~s~ ||sp|| `c` [l](https://example.org/a\)b) 1\.")
    assert text == "b i u s sp c l 1."
    types = [e["type"] for e in entities]
    assert types == ["bold", "italic", "underline", "strikethrough", "spoiler", "code", "text_link"]
    assert entities[-1]["url"] == "https://example.org/a)b"
    with pytest.raises(EntityParseError, match="Character '!' is reserved"):
        parse_markdown_v2("Hi!")
    with pytest.raises(EntityParseError, match="Can't find end of Bold entity"):
        parse_markdown_v2("*open")


def test_trim_and_utf16() -> None:
    text, entities = format_text("  <b>x</b>  ", "HTML")
    assert text == "x" and entities == [{"type": "bold", "offset": 0, "length": 1}]
    assert utf16_len("🙂a") == 3
    text, entities = format_text("plain", None, [{"type": "bold", "offset": 0, "length": 5}])
    assert entities[0]["type"] == "bold"
