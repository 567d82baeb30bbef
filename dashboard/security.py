"""Security of the dashboard's pages: the session cookie (encrypted, HttpOnly, SameSite=Strict, Secure in
production), the CSRF token of every form, and the response headers with a strict Content Security Policy."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from aiohttp import web
from aiohttp_session import Session
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from consultations.staff import derived_key

CSRF_FIELD = "csrf_token"
CSRF_SESSION_KEY = "csrf"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
"""No script at all (the dashboard needs none), styles and images from the dashboard only, forms post only to it."""

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cache-Control": "no-store",
}
HSTS = "max-age=31536000; includeSubDomains"


def cookie_storage(secret: str | None, pepper: bytes, *, production: bool) -> EncryptedCookieStorage:
    """Sessions in an encrypted cookie (Fernet: AES-CBC + HMAC): nothing about a session is stored server-side
    but the account's session epoch, which ends every session of an account at once."""
    material = secret.encode() if secret else pepper
    key = base64.urlsafe_b64encode(derived_key(material, "voices87 dashboard session cookie"))
    return EncryptedCookieStorage(
        Fernet(key),
        cookie_name="__Host-voices_dashboard" if production else "voices_dashboard",
        path="/",
        secure=production,
        httponly=True,
        samesite="Strict",
        max_age=None,  # a browser-session cookie; the idle and absolute limits are checked on every request
    )


def csrf_token(session: Session) -> str:
    """The session's CSRF token (made on first use); every form carries it in a hidden field."""
    token = session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return token


def csrf_ok(session: Session, given: object) -> bool:
    expected = session.get(CSRF_SESSION_KEY)
    return (
        isinstance(expected, str)
        and isinstance(given, str)
        and len(expected) >= 32
        and hmac.compare_digest(expected.encode(), given.encode())
    )


REPORT_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def report_policy(html: str) -> str:
    """The Content Security Policy of a publication's HTML report shown in the browser (the summaries renderer's
    own document): its inline style sheet allowed by hash, charts as inline SVG, no script, no form, no frame."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'"
        for style in REPORT_STYLE.findall(html)
    )
    styles = hashes or "'none'"
    return (
        f"default-src 'none'; style-src {styles}; img-src data:; "
        "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    )


def apply_headers(response: web.StreamResponse, *, production: bool) -> None:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if production:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
