"""The consent before a session exists: nothing is stored until the person agrees, so what the core needs then
travels on the consent's own choices, sealed: the language it was shown in, and a proof it was shown to them."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace

from consultations.interactions import Answer, Reply
from storage.invites import normalise

SEAL_LENGTH = 16
"""Hex digits of a consent seal (64 bits): not guessable, and short enough for any channel's button data."""


def consent_seal(pepper: bytes, pseudonym: str, scope: str, language: str) -> str:
    """The proof, on a consent's choices, that this person (their pseudonym) was shown the consent of this invite
    (`scope`) in this language. Keyed by the pepper, so nobody else can make one; one person's seal is no use
    to another. Nothing is stored to check it: it is made again from the same parts."""
    message = f"consent-shown\x00{pseudonym}\x00{normalise(scope)}\x00{language}".encode()
    return hmac.new(pepper, message, hashlib.sha256).hexdigest()[:SEAL_LENGTH]


def with_seal(reply: Reply, proof: str, language: str) -> Reply:
    """The consent message with its answers ("I agree", "Not now") carrying the language and the seal."""
    options = tuple(
        replace(o, action=replace(o.action, language=language, seal=proof)) if isinstance(o.action, Answer) else o
        for o in reply.options
    )
    return replace(reply, options=options)


def seal_holds(pepper: bytes, pseudonym: str, action: Answer) -> bool:
    """True when the choice carries the seal this person's consent was shown with (in the language it names)."""
    if not action.seal or not action.language:
        return False
    return hmac.compare_digest(action.seal, consent_seal(pepper, pseudonym, action.scope, action.language))
