"""CSRF, security headers and CSP, the session cookie, session expiry, lockout through the sign-in form,
sessions ended by a reset or a disabled account, TOTP at sign-in, and error pages without tracebacks."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pyotp
import pytest
from aiohttp import ClientSession, CookieJar

from dashboard.keys import ACCOUNTS, FACILITATION
from dashboard.security import CONTENT_SECURITY_POLICY
from storage.database import Database
from tests.dashboard.conftest import PASSWORD, Dash, open_dash


async def test_a_form_without_the_sessions_token_is_refused(dash: Dash) -> None:
    await dash.sign_in("root")
    for data in ({}, {"csrf_token": "x" * 43}, {"csrf_token": ""}):
        response = await dash.client.post(
            "/dashboard/admin/organisations", data={**data, "name": "Sneaky"}, allow_redirects=False
        )
        assert response.status == 403
        assert "This form has expired" in await response.text()
    # a token from another browser's session does not work either
    other = await dash.csrf("/dashboard/signin")
    await dash.sign_in("root")
    response = await dash.client.post("/dashboard/admin/organisations", data={"csrf_token": other, "name": "Sneaky"})
    assert response.status == 403
    assert "Sneaky" not in [o.name for o in await dash.accounts.organisations()]
    ok = await dash.post(
        "/dashboard/admin/organisations", {"name": "Welcome"}, token_from="/dashboard/admin/organisations"
    )
    assert ok.status == 303 and "Welcome" in [o.name for o in await dash.accounts.organisations()]


async def test_the_sign_in_form_itself_needs_the_token(dash: Dash) -> None:
    response = await dash.client.post(
        "/dashboard/signin", data={"username": "root", "password": PASSWORD}, allow_redirects=False
    )
    assert response.status == 403
    assert (await dash.client.get("/dashboard/admin/users", allow_redirects=False)).status == 303


async def test_every_response_carries_the_security_headers(dash: Dash) -> None:
    await dash.sign_in("facilitator-a")
    for path in (
        "/dashboard/signin",
        "/dashboard/consultations",
        "/dashboard/static/dashboard.css",
        "/dashboard/nope",
        "/dashboard/admin/users",
        "/dashboard/questionnaires/roadmap_feedback/1/diagram.svg",
    ):
        response = await dash.client.get(path, allow_redirects=False)
        headers = response.headers
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert "script-src" not in CONTENT_SECURITY_POLICY and "default-src 'none'" in CONTENT_SECURITY_POLICY
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY", path
        assert headers["Referrer-Policy"] == "no-referrer" and headers["Cache-Control"] == "no-store", path
        assert "Strict-Transport-Security" not in headers  # development: plain HTTP
    page = await (await dash.client.get("/dashboard/consultations")).text()
    assert "<script" not in page and " style=" not in page and not re.search(r"\son[a-z]+=", page)


async def test_the_session_cookie_is_encrypted_http_only_and_strict(dash: Dash) -> None:
    response = await dash.sign_in("root")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("voices_dashboard=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie and "root" not in cookie and '"uid"' not in cookie


@pytest.fixture
async def production_dash(sqlite_database: Database) -> AsyncIterator[Dash]:
    async for d in open_dash(sqlite_database, VOICES_ENV="production"):
        yield d


async def test_production_cookies_are_secure_and_pages_ask_for_https(production_dash: Dash) -> None:
    response = await production_dash.client.get("/dashboard/signin")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-voices_dashboard=") and "Secure" in cookie and "Path=/" in cookie


async def test_an_idle_session_ends_and_so_does_a_long_one(dash: Dash) -> None:
    await dash.sign_in("facilitator-a")
    dash.clock[0] = 29 * 60
    assert (await dash.client.get("/dashboard/consultations", allow_redirects=False)).status == 200
    dash.clock[0] += 31 * 60  # idle for 31 minutes
    ended = await dash.client.get("/dashboard/consultations", allow_redirects=False)
    assert ended.status == 303 and ended.headers["Location"].startswith("/dashboard/signin")
    page = await dash.client.get(ended.headers["Location"])
    assert "Your session has ended" in await page.text()
    # used every 20 minutes, a session still ends after 12 hours
    await dash.sign_in("facilitator-a")
    for _ in range(35):
        dash.clock[0] += 20 * 60
        assert (await dash.client.get("/dashboard/consultations", allow_redirects=False)).status == 200
    dash.clock[0] += 20 * 60
    assert (await dash.client.get("/dashboard/consultations", allow_redirects=False)).status == 303


async def test_reset_and_disable_end_open_sessions(dash: Dash) -> None:
    await dash.sign_in("facilitator-a")
    assert (await dash.client.get("/dashboard/consultations", allow_redirects=False)).status == 200
    cookies = dash.client.session.cookie_jar.filter_cookies(dash.client.make_url("/dashboard/"))
    await dash.accounts.reset("facilitator-a")
    assert (await dash.client.get("/dashboard/consultations", allow_redirects=False)).status == 303
    await dash.sign_in("reviewer-a")
    await dash.accounts.disable("reviewer-a")
    assert (await dash.client.get("/dashboard/reviews", allow_redirects=False)).status == 303
    assert cookies  # (the old cookie existed, and was turned away above)


async def test_password_change_keeps_this_session_and_ends_the_others(dash: Dash) -> None:
    async with ClientSession(base_url=str(dash.client.make_url("/")), cookie_jar=CookieJar(unsafe=True)) as other:
        page = await other.get("/dashboard/signin")
        token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
        assert token is not None
        await other.post(
            "/dashboard/signin", data={"csrf_token": token.group(1), "username": "facilitator-a", "password": PASSWORD}
        )
        assert (await other.get("/dashboard/consultations", allow_redirects=False)).status == 200
        await dash.sign_in("facilitator-a")
        token_here = await dash.csrf("/dashboard/password")
        new = "another long passphrase"
        response = await dash.client.post(
            "/dashboard/password",
            data={"csrf_token": token_here, "current": PASSWORD, "new": new, "again": new},
            allow_redirects=False,
        )
        assert response.status == 303
        assert (await dash.client.get("/dashboard/consultations", allow_redirects=False)).status == 200
        assert (await other.get("/dashboard/consultations", allow_redirects=False)).status == 303


async def test_lockout_through_the_form_reads_the_same_as_a_wrong_password(dash: Dash) -> None:
    for _ in range(5):
        failed = await dash.sign_in("reviewer-b", "not the password")
        assert failed.status == 200 and "Wrong username, password or code" in await failed.text()
    refused = await dash.sign_in("reviewer-b", PASSWORD)
    assert refused.status == 200 and "Wrong username, password or code" in await refused.text()
    unknown = await dash.sign_in("nobody-at-all", PASSWORD)
    assert (await unknown.text()).count("Wrong username") == 1
    dash.clock[0] = 0  # the pause is kept in the database, by its own clock: lift it the way an admin does
    await dash.accounts.reset("reviewer-b")
    row = await dash.accounts.by_username("reviewer-b")
    assert row is not None and row.must_change_password


async def test_totp_is_asked_at_sign_in_once_an_admin_set_it_up(dash: Dash) -> None:
    await dash.sign_in("root")
    page = await (await dash.client.get("/dashboard/totp")).text()
    assert 'src="data:image/svg+xml' in page
    key = re.search(r'class="secret">([A-Z2-7 ]+)<', page)
    assert key is not None
    secret = key.group(1).replace(" ", "")
    wrong = await dash.post("/dashboard/totp", {"code": "123456"}, token_from="/dashboard/totp")
    assert wrong.status == 200 and "does not match" in await wrong.text()
    right = await dash.post("/dashboard/totp", {"code": pyotp.TOTP(secret).now()}, token_from="/dashboard/totp")
    assert right.status == 303
    assert (await dash.sign_in("root")).status == 200  # no code
    root = await dash.accounts.by_username("root")
    assert root is not None and root.has_totp


async def test_a_failure_shows_an_error_page_never_a_traceback(dash: Dash, caplog: pytest.LogCaptureFixture) -> None:
    facilitation = dash.app[FACILITATION]

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals: /home/app/db.py line 12")

    facilitation.consultations = broken  # type: ignore[method-assign,assignment]
    await dash.sign_in("facilitator-a")
    response = await dash.client.get("/dashboard/consultations")
    body = await response.text()
    assert response.status == 500 and "Something went wrong on our side" in body
    assert "Traceback" not in body and "secret internals" not in body and "RuntimeError" not in body
    assert "secret internals" not in caplog.text and "Traceback" not in caplog.text
    assert "RuntimeError" in caplog.text  # the operator learns what failed, in one line
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


async def test_unknown_pages_and_methods_get_error_pages(dash: Dash) -> None:
    missing = await dash.client.get("/dashboard/no/such/page")
    assert missing.status == 404 and "There is nothing here" in await missing.text()
    wrong_method = await dash.client.put("/dashboard/signin")
    assert wrong_method.status == 405
    assert dash.app[ACCOUNTS] is dash.accounts
