"""Written answers: keyword suggestions for a consultation's codebook (yake, per language), themes suggested for
an answer from the codebook's keywords (the facilitator decides), and the rule for editing a quote: only
removing text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from storage.themes import CodebookEntry

ELLIPSIS = "[…]"
SWAHILI_STOPWORDS = frozenset(
    [
        "na",
        "ya",
        "wa",
        "kwa",
        "za",
        "la",
        "ni",
        "katika",
        "kama",
        "hii",
        "huo",
        "hiyo",
        "hizo",
        "ile",
        "zile",
        "hao",
        "wao",
        "sisi",
        "wewe",
        "mimi",
        "yeye",
        "pia",
        "au",
        "lakini",
        "kwamba",
        "ili",
        "kuwa",
        "kila",
        "bado",
        "sana",
        "tu",
        "hata",
        "hapa",
        "pale",
        "kuna",
        "hakuna",
        "watu",
        "mtu",
    ]
)
"""yake ships no Swahili stop words; these are the commonest function words."""


def suggest_keywords(texts: Iterable[str], language: str, top: int = 20) -> list[str]:
    """Key phrases across written answers in one language, best first: suggestions for the codebook."""
    import yake

    corpus = "\n".join(texts)
    if not corpus.strip():
        return []
    if language == "sw":
        extractor = yake.KeywordExtractor(lan="noLang", n=2, top=top, stopwords=set(SWAHILI_STOPWORDS))
    else:
        extractor = yake.KeywordExtractor(lan=language, n=2, top=top)
    found = extractor.extract_keywords(corpus)
    words = [str(keyword) for keyword, _ in found if not _is_placeholder(str(keyword))]
    return list(dict.fromkeys(words))


def _is_placeholder(keyword: str) -> bool:
    return any(marker in keyword.lower() for marker in ("phone", "email", "link", "handle", "number"))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def suggest_themes(text: str, codebook: Sequence[CodebookEntry], language: str | None = None) -> list[str]:
    """Codes of the themes whose keywords (in the answer's language, or any language) appear in the answer."""
    folded = " " + " ".join(re.findall(r"\w+", _fold(text))) + " "
    out = []
    for entry in codebook:
        keywords = entry.keywords.get(language or "", []) if language else []
        keywords = keywords or [k for words in entry.keywords.values() for k in words]
        for keyword in keywords:
            needle = " ".join(re.findall(r"\w+", _fold(keyword)))
            if needle and f" {needle} " in folded:
                out.append(entry.code)
                break
    return out


def only_removes(original: str, edited: str) -> bool:
    """True when `edited` is `original` with words taken out and nothing else changed: the words kept are as they
    were and in the same order; words taken out from the start or the end need no mark, but a cut inside the
    text must be marked "[…]" where it was made (so nobody reads two separate phrases as one)."""
    tokens = ["[…]" if token in (ELLIPSIS, "…", "...") else token for token in edited.split()]
    words = original.split()
    if not any(token != ELLIPSIS for token in tokens):
        return False
    from functools import cache

    @cache
    def fits(i: int, j: int) -> bool:
        """edited tokens j.. fit original words i.., word j-1 (if any) having matched word i-1."""
        if j == len(tokens):
            return True  # the rest of the original was taken out at the end
        if tokens[j] == ELLIPSIS:
            return any(fits(skip, j + 1) for skip in range(i + 1, len(words) + 1))
        return i < len(words) and words[i] == tokens[j] and fits(i + 1, j + 1)

    return any(fits(start, 0) for start in range(len(words)))
