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


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|io|me|info|ly|gl)(?:/\S*)?\b", re.I)
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}\b")
_DIGIT_RUN = re.compile(r"(?:\d[\s.\-/]?){6,}\d")


def redact(text: str, region: str | None = None) -> str:
    """Replace phone numbers, e-mails, links, @handles and long digit runs with visible placeholders."""
    text = _EMAIL.sub("[email]", text)
    text = _URL.sub("[link]", text)
    text = _HANDLE.sub("[handle]", text)
    matches = list(
        phonenumbers.PhoneNumberMatcher(text, (region or "ZZ").upper(), leniency=phonenumbers.Leniency.POSSIBLE)
    )
    for match in reversed(matches):
        text = text[: match.start] + "[phone]" + text[match.end :]
    return _DIGIT_RUN.sub("[number]", text)
