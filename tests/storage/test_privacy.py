"""Pseudonyms, encryption and redaction: the privacy primitives."""

from __future__ import annotations

import pytest

from config.errors import StorageError
from storage.privacy import KeyRing, pseudonym, redact


def test_pseudonym_is_keyed_stable_and_does_not_contain_the_id() -> None:
    a = pseudonym(b"pepper-one", 987654321)
    assert a == pseudonym(b"pepper-one", 987654321)
    assert a != pseudonym(b"pepper-two", 987654321)
    assert a != pseudonym(b"pepper-one", 987654322)
    assert len(a) == 64 and "987654321" not in a


def test_encryption_round_trips_and_binds_the_context() -> None:
    ring = KeyRing([("k1", bytes(32))])
    blob, kid = ring.encrypt("more schools", "answer:1:q")
    assert kid == "k1" and b"schools" not in blob
    assert ring.decrypt(blob, kid, "answer:1:q") == "more schools"
    with pytest.raises(StorageError, match="failed authentication"):
        ring.decrypt(blob, kid, "answer:2:q")


def test_the_first_key_encrypts_and_older_keys_still_decrypt() -> None:
    old = KeyRing([("k1", bytes(32))])
    blob, _ = old.encrypt("kept", "c")
    ring = KeyRing([("k2", bytes(range(32))), ("k1", bytes(32))])
    assert ring.encrypt("new", "c")[1] == "k2"
    assert ring.decrypt(blob, "k1", "c") == "kept"
    with pytest.raises(StorageError, match="not in the key ring"):
        KeyRing([("k2", bytes(range(32)))]).decrypt(blob, "k1", "c")


def test_each_encryption_uses_a_fresh_nonce() -> None:
    ring = KeyRing([("k1", bytes(32))])
    assert ring.encrypt("same", "c")[0] != ring.encrypt("same", "c")[0]


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("call me on +254 712 345 678 please", "KE", "call me on [phone] please"),
        ("mon numéro 06 12 34 56 78", "FR", "mon numéro [phone]"),
        ("write to jane.doe@example.org now", None, "write to [email] now"),
        ("see https://example.com/x?y=1 and www.test.org", None, "see [link] and [link]"),
        ("ask @helper_bot_99 on telegram", None, "ask [handle] on telegram"),
        ("passport 123456789 lost", None, "passport [number] lost"),
        ("رقم ٠١٢٣٤٥٦٧٨٩ هنا", None, "رقم [number] هنا"),
        ("नंबर १२३४५६७८९ है", None, "नंबर [number] है"),
        ("more schools in 2025 for 30 children", None, "more schools in 2025 for 30 children"),
    ],
)
def test_redaction(text: str, region: str | None, expected: str) -> None:
    assert redact(text, region) == expected
