"""Accessibility of every kind of dashboard page, checked by axe-core (WCAG 2.1 A and AA rules: labels, names,
contrast, headings, landmarks, language) in Chromium, in English and in Arabic (right to left); and no page
breaks its own Content Security Policy."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from playwright.async_api import BrowserContext, Page, expect

from consultations.facilitation import ConsultationForm
from consultations.staff import Role
from tests.browser.conftest import Site, console_problems, sign_in

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_SRI = "sha256-KTSJmUUM3yhJqOcLeRL8LahahJ2jnA0NU5T1HUqe2Vw="
"""axe-core 4.14.1's axe.min.js, as published in its sri-history.json."""
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def test_the_vendored_axe_is_the_published_one() -> None:
    digest = base64.b64encode(hashlib.sha256(AXE.read_bytes()).digest()).decode()
    assert f"sha256-{digest}" == AXE_SRI


async def violations(page: Page) -> list[str]:
    """axe-core's violations on the page as it is now (injected by DevTools, not by the page: the CSP stays)."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text(encoding="utf-8"))
    found = await page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations"
        ".map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))",
        RULES,
    )
    return [json.dumps(v) for v in found]


async def check(page: Page, path: str, site: Site, problems: dict[str, list[str]]) -> None:
    await page.goto(site.url(path))
    found = await violations(page)
    if found:
        problems[path] = found


async def test_every_page_passes_axe(site: Site, page: Page, context: BrowserContext) -> None:
    a = await site.accounts.create_organisation("Organisation A")
    await site.add_user("root", Role.ADMIN, None)
    facilitator = await site.add_user("amina", Role.FACILITATOR, a.id)
    await site.add_user("rev", Role.REVIEWER, a.id)
    problems: dict[str, list[str]] = {}

    await check(page, "/dashboard/signin", site, problems)
    await page.get_by_label("Username").fill("someone")
    await page.get_by_label("Password", exact=True).fill("wrong")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    if found := await violations(page):
        problems["signin (failed)"] = found

    await sign_in(page, site, "root")
    for path in (
        "/dashboard/admin/users",
        "/dashboard/admin/organisations",
        "/dashboard/admin/audit",
        "/dashboard/totp",
        "/dashboard/password",
        "/dashboard/no-such-page",
    ):
        await check(page, path, site, problems)

    await sign_in(page, site, "amina")
    for path in (
        "/dashboard/consultations",
        "/dashboard/consultations/new",
        "/dashboard/questionnaires",
        "/dashboard/questionnaires/roadmap_feedback/1",
    ):
        await check(page, path, site, problems)
    await page.goto(site.url("/dashboard/consultations/new"))
    await page.get_by_role("button", name="Create the consultation").click()  # the browser asks for a title first
    await expect(page.get_by_text("Please correct the fields marked below.")).to_have_count(0)
    await page.get_by_label("Title").fill("Kenya 2026")
    await page.get_by_label("Questionnaire").select_option("roadmap_feedback:2")
    await page.get_by_label("Country").select_option("KE")
    await page.get_by_label("k (smallest number shown)").fill("4")
    await page.get_by_role("button", name="Create the consultation").click()
    await expect(page.get_by_text("Please correct the fields marked below.")).to_be_visible()
    await expect(page.get_by_text("k is a whole number, at least 5.")).to_be_visible()
    if found := await violations(page):
        problems["new consultation (with problems)"] = found
    await page.get_by_label("k (smallest number shown)").fill("10")
    await page.locator("input[name=languages][value=en]").check()
    await page.get_by_role("button", name="Create the consultation").click()
    await expect(page.get_by_role("heading", name="Kenya 2026")).to_be_visible()
    consultation = page.url.rsplit("/", 1)[1]
    for path in (
        f"/dashboard/consultations/{consultation}",
        f"/dashboard/consultations/{consultation}/edit",
        f"/dashboard/consultations/{consultation}/invites/1/card",
    ):
        await check(page, path, site, problems)
    await page.goto(site.url(f"/dashboard/consultations/{consultation}"))
    await page.get_by_label("Reviewer's username").fill("rev")
    await page.get_by_role("button", name="Give access").click()

    await sign_in(page, site, "rev")
    for path in ("/dashboard/reviews", f"/dashboard/reviews/{consultation}"):
        await check(page, path, site, problems)
    assert not problems, json.dumps(problems, indent=1)
    # no Content-Security-Policy violation, no failed load but the 404 page visited on purpose
    assert [p for p in console_problems(context) if "404" not in p] == []
    assert facilitator.organisation_id == a.id and ConsultationForm().min_cell == "10"


async def test_arabic_pages_read_right_to_left_and_pass_axe(site: Site, page: Page) -> None:
    await page.goto(site.url("/dashboard/signin"))
    await page.get_by_label("Language").select_option("ar")
    await page.get_by_role("button", name="Change").click()
    html = page.locator("html")
    await expect(html).to_have_attribute("dir", "rtl")
    await expect(html).to_have_attribute("lang", "ar")
    assert await violations(page) == []


async def test_axe_does_find_problems(page: Page) -> None:
    """The check above could fail: on a page with an unlabelled field and an image without text, axe says so."""
    await page.set_content("<html><body><main><input type=text><img src='data:,'></main></body></html>")
    found = " ".join(await violations(page))
    assert '"id": "label"' in found and '"id": "image-alt"' in found and '"id": "html-has-lang"' in found
