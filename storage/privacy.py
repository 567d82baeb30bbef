"""Privacy primitives: keyed pseudonyms, AES-GCM field encryption with a key ring, free-text redaction."""

from __future__ import annotations

import hashlib
import hmac
import os
import re

import phonenumbers
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from config.errors import StorageError

NONCE_BYTES = 12


def pseudonym(pepper: bytes, telegram_user_id: int) -> str:
    """HMAC-SHA256 of the Telegram user id under the secret pepper, hex: the only identity we keep."""
    return hmac.new(pepper, f"tg-user:{telegram_user_id}".encode(), hashlib.sha256).hexdigest()


class KeyRing:
    """Ordered data keys: the first encrypts, any decrypts (by the key id stored beside each value)."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise StorageError("the key ring is empty")
        self._keys = {kid: AESGCM(key) for kid, key in keys}
        self.active_id = keys[0][0]

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def encrypt(self, plaintext: str, context: str) -> tuple[bytes, str]:
        """Encrypt with the active key; `context` is bound as associated data (e.g. the question)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self.active_id].encrypt(nonce, plaintext.encode(), context.encode())
        return nonce + sealed, self.active_id

    def decrypt(self, blob: bytes, key_id: str, context: str) -> str:
        aead = self._keys.get(key_id)
        if aead is None:
            raise StorageError(f"data key {key_id!r} is not in the key ring (VOICES_DATA_KEYS)")
        try:
            return aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode()).decode()
        except InvalidTag as exc:
            raise StorageError(f"a value under key {key_id!r} failed authentication") from exc


def answer_context(consultation_id: int, participant_id: int, session_id: int, question_id: str) -> str:
    """Associated data binding an encrypted answer to its row: consultation, participant, session and question.
    A ciphertext copied onto another person's row (by anyone who can write to the database) fails
    authentication there instead of being shown to them."""
    return f"answer:v2:{consultation_id}:{participant_id}:{session_id}:{question_id}"


def legacy_answer_context(consultation_id: int, question_id: str) -> str:
    """The associated data of answers stored before they were bound to their row. Nothing reads such a value
    any more except `keys rotate`, which re-encrypts it bound to its row (see storage/keys.py)."""
    return f"answer:{consultation_id}:{question_id}"


def opt_in_context(consultation_id: int, participant_id: int) -> str:
    """Associated data binding an encrypted results opt-in (a chat id) to its consultation and participant."""
    return f"results-opt-in:{consultation_id}:{participant_id}"


# ---- redaction ----
# Order matters: e-mails before links and handles (an address contains both a domain and an @), then IBANs and
# ID-like tokens, then phone numbers (phonenumbers, in the consultation country's local formats and any
# international one), then long digit runs. `\d` matches every script's digits (Arabic-Indic, Devanagari...).
# Dates (12/05/2024, 2024-05-12) and year ranges (2023-2027) are kept: they identify no one, and roadmap
# feedback is full of them. A long number written with spaces ("1 500 000") is removed like a phone number.

_TLDS = (
    "com|org|net|info|io|me|ly|gl|app|dev|xyz|online|site|biz|tv|co|uk|int|ngo|africa|"
    "ke|ng|pe|br|fr|in|eg|ph|ar|fj|mr|cd|ug|tz|gh|za|ma|tn|sn|ci|cm|et|mw|zm|zw|rw|"
    "us|ca|de|es|it|pt|nl|be|ch|mx|cl|bo|ec|np|bd|pk|lk|id|my|th|vn|kh|cn|jp|kr|ua|kz|uz|ru|рф"
)
_TRAILING = r"(?=[.,;:!?)\]»”'\"]*(?:\s|$))"
_LONE_SURROGATE = re.compile("[\\ud800-\\udfff]")
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0xFE6B: ord("@")}
"""Full-width Latin letters, digits and signs (＠, ｅｘａｍｐｌｅ) and the small commercial at, read as their ASCII
selves."""
_HIDDEN_JOIN = re.compile(
    "(?<=[A-Za-z0-9@._+-])[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]+(?=[A-Za-z0-9@._+-])"
)
"""Invisible characters (zero-width spaces and joiners, soft hyphens, direction marks) inside a Latin token, where
they can only hide an address or a handle from the patterns below (between other letters, ZWNJ and ZWJ carry
meaning: Persian, Indic scripts, emoji; they are kept there)."""
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(
    rf"(?:(?:https?|ftp|tg)://|www\.)\S+?{_TRAILING}"  # scheme or www: up to the next space
    rf"|(?<![\w@.])(?:[\w-]+\.)+(?-i:{_TLDS}|{_TLDS.upper()})\b(?:/\S*?{_TRAILING})?",  # t.me/x, EXAMPLE.ORG
    re.IGNORECASE,
)
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,30}[A-Za-z0-9_])?")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{4}){2,7}(?:[ -]?[A-Z0-9]{1,3})?\b")
_ID_TOKEN = re.compile(r"\b(?=\w*\d)(?=\w*[^\W\d_])\w{6,}\b")  # letters and digits: passport, card, case ids
_ID_MIN_DIGITS = 5
_PHONE_MIN_DIGITS = 7
_THOUSANDS = re.compile(r"\d{1,3}(?:[ .,\u00a0\u202f]\d{3})+")  # 250 000, 1.500: an amount, not a short number
_DIGIT_RUN = re.compile(r"\+?\(?\d(?:[\s.\-/()_*]{0,2}\d){6,}")  # 7 or more digits with light separators
_DATE = re.compile(
    r"(?<![\d./-])(?:"
    r"(?P<d1>\d{1,2})[./-](?P<m1>\d{1,2})[./-](?:\d{4}|\d{2})"  # 12/05/2024, 12.05.24
    r"|\d{4}-(?P<m2>\d{2})-(?P<d2>\d{2})"  # 2024-05-12
    r"|(?:19|20)\d{2}\s?[-–/]\s?(?:(?:19|20)\d{2}|\d{2})"  # 2023-2027, 2019/20
    r")(?![\d]|[./-]\d)"
)


def _safe_spans(text: str) -> list[tuple[int, int]]:
    """Where dates and year ranges are: a phone or digit-run match lying wholly inside one is kept."""
    spans = []
    for match in _DATE.finditer(text):
        day, month = match.group("d1") or match.group("d2"), match.group("m1") or match.group("m2")
        if month is None or _day_month(int(day), int(month)) or _day_month(int(month), int(day)):  # d/m or m/d
            spans.append(match.span())
    return spans


def _day_month(day: int, month: int) -> bool:
    return 1 <= day <= 31 and 1 <= month <= 12


def _inside(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(s <= start and end <= e for s, e in spans)


def _is_phone(match: phonenumbers.PhoneNumberMatch) -> bool:
    """A match of fewer than 7 digits ("2025", "250 000") counts only when it is a valid number for the region and
    is not grouped by thousands: years and amounts are kept."""
    if match.raw_string.lstrip().startswith("+"):
        return True
    digits = phonenumbers.national_significant_number(match.number)
    if len(digits) >= _PHONE_MIN_DIGITS:
        return True
    return phonenumbers.is_valid_number(match.number) and not _THOUSANDS.fullmatch(match.raw_string.strip())


def _id_token(match: re.Match[str]) -> str:
    token = match.group()
    return "[number]" if sum(ch.isdigit() for ch in token) >= _ID_MIN_DIGITS else token


def redact(text: str, region: str | None = None, *, keep_links: bool = False) -> str:
    """Replace phone numbers, e-mails, links, @handles and long digit runs with visible placeholders.

    `region` is the consultation's country (ISO alpha-2), for phone numbers written in its local format.
    `keep_links` (CSO questions marked `keep_links: true` only, never survivor flows) keeps links as they are,
    for evidence URLs; phone numbers, e-mails and handles outside the links are still removed.
    """
    text = _LONE_SURROGATE.sub("\ufffd", text)  # what UTF-8 cannot carry would fail encryption and storage
    text = _HIDDEN_JOIN.sub("", text.translate(_FULL_WIDTH))
    text = _EMAIL.sub("[email]", text)
    if keep_links:
        text = text.replace("\ue000", "").replace("\ue001", "")  # our own markers below
        links: list[str] = []

        def keep(match: re.Match[str]) -> str:
            links.append(match.group())
            return f"\ue000{len(links) - 1}\ue001"

        masked = redact(_URL.sub(keep, text), region)
        return re.sub("\ue000(\\d+)\ue001", lambda m: links[int(m.group(1))], masked)
    text = _URL.sub("[link]", text)
    text = _HANDLE.sub("[handle]", text)
    text = _IBAN.sub("[number]", text)
    text = _ID_TOKEN.sub(_id_token, text)
    safe = _safe_spans(text)
    matches = phonenumbers.PhoneNumberMatcher(text, (region or "ZZ").upper(), leniency=phonenumbers.Leniency.POSSIBLE)
    for match in reversed([m for m in matches if _is_phone(m) and not _inside(m.start, m.end, safe)]):
        text = text[: match.start] + "[phone]" + text[match.end :]
    safe = _safe_spans(text)
    return _DIGIT_RUN.sub(lambda m: m.group() if _inside(m.start(), m.end(), safe) else "[number]", text)
