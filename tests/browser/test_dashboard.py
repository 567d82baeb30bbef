"""The dashboard in Chromium, as its users go through it: the first admin's first steps, a facilitator creating
a consultation from an uploaded XLSForm and sharing it by invite and QR code, everything by keyboard too."""

from __future__ import annotations

import re

from playwright.async_api import BrowserContext, FilePayload, Locator, Page, expect

from consultations.staff import Role
from tests.browser.conftest import Site, console_problems, sign_in
from tests.dashboard.conftest import PASSWORD
from tests.dashboard.xlsforms import xlsx

NEW_PASSWORD = "a brand new passphrase"


def nav(page: Page, name: str) -> Locator:
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name)


async def change_password(page: Page, old: str, new: str) -> None:
    await expect(page.get_by_role("heading", name="Your password")).to_be_visible()
    await page.get_by_label("Current password").fill(old)
    await page.get_by_label("New password", exact=True).fill(new)
    await page.get_by_label("New password again").fill(new)
    await page.get_by_role("button", name="Save the new password").click()


async def test_the_first_admin_sets_up_an_organisation_and_a_facilitator(
    site: Site, page: Page, context: BrowserContext
) -> None:
    [announcement] = site.announced
    password = re.search(r"One-time password: (\S+)", announcement)
    assert password is not None
    await sign_in(page, site, "admin", password.group(1))
    await change_password(page, password.group(1), NEW_PASSWORD)
    await expect(page.get_by_text("Your password is changed.")).to_be_visible()
    await nav(page, "Organisations").click()
    await page.get_by_label("Name").fill("Kenya CSO Network")
    await page.get_by_role("button", name="Add").click()
    await expect(page.get_by_role("cell", name="Kenya CSO Network")).to_be_visible()
    await nav(page, "Users").click()
    await page.get_by_label("Username").fill("amina")
    await page.get_by_label("Role").select_option("facilitator")
    await page.get_by_label("Organisation").select_option(label="Kenya CSO Network")
    await page.get_by_role("button", name="Add the user").click()
    await expect(page.get_by_role("heading", name="User amina created")).to_be_visible()
    once = await page.locator("#one-time-password").inner_text()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_text("You are signed out.")).to_be_visible()
    await sign_in(page, site, "amina", once)
    await change_password(page, once, PASSWORD)
    await expect(page.get_by_role("heading", name="Consultations")).to_be_visible()
    assert console_problems(context) == []


async def test_a_consultation_from_an_uploaded_xlsform_with_invites_and_qr_codes(
    site: Site, page: Page, context: BrowserContext, tmp_path: object
) -> None:
    organisation = await site.accounts.create_organisation("Kenya CSO Network")
    await site.add_user("amina", Role.FACILITATOR, organisation.id)
    await sign_in(page, site, "amina")
    await nav(page, "Questionnaires").click()
    await page.get_by_label("XLSForm file").set_input_files(
        files=FilePayload(name="plan.xlsx", mimeType="application/octet-stream", buffer=xlsx())
    )
    await page.get_by_role("button", name="Import").click()
    await expect(page.get_by_text("The questionnaire is imported.")).to_be_visible()
    await expect(page.get_by_text("Every row was imported.")).to_be_visible()
    picture = page.get_by_role("img", name="Diagram of the questionnaire")
    await expect(picture).to_be_visible()
    assert await picture.evaluate("img => img.complete && img.naturalWidth > 300")
    await expect(page.get_by_role("cell", name="Have you heard of the plan?")).to_be_visible()

    await page.get_by_role("link", name="Create a consultation with this questionnaire").click()
    await page.get_by_label("Title").fill("Plan check, Mombasa")
    await page.get_by_label("Country").select_option("KE")
    await page.get_by_label("An annual progress report").check()
    await page.get_by_label("Cycle year").fill("2026")
    await page.locator("input[name=languages][value=en]").check()
    await page.locator("input[name=languages][value=fr]").check()
    await page.get_by_role("button", name="Create the consultation").click()
    await expect(page.get_by_text("Consultation created. Share an invite below.")).to_be_visible()
    await expect(page.get_by_role("heading", name="Plan check, Mombasa")).to_be_visible()
    link = page.locator("a.code", has_text="https://t.me/voices87_sandbox_bot?start=")
    await expect(link).to_have_count(1)

    await page.get_by_label("New invite for a channel").fill("Radio spot")
    await page.get_by_role("button", name="Add an invite").click()
    await expect(page.get_by_role("cell", name="Radio spot", exact=True)).to_be_visible()
    await expect(page.locator("a.code", has_text="https://t.me/voices87_sandbox_bot?start=")).to_have_count(2)
    row = page.get_by_role("row").filter(has_text="Radio spot")
    code = (await row.locator("td.code").inner_text()).strip()
    await row.get_by_role("link", name=re.compile("Printable card")).click()
    qr = page.get_by_role("img", name="QR code of the invite link")
    await expect(qr).to_be_visible()
    assert await qr.evaluate("img => img.complete && img.naturalWidth > 100")
    await expect(page.get_by_text(f"https://t.me/voices87_sandbox_bot?start={code}")).to_be_visible()
    await page.go_back()
    row = page.get_by_role("row").filter(has_text="Radio spot")
    await row.get_by_role("button", name=re.compile("Revoke")).click()
    await expect(page.get_by_text(f"Invite {code} no longer works.")).to_be_visible()
    await expect(page.get_by_role("row").filter(has_text="Radio spot")).to_contain_text("revoked")
    assert console_problems(context) == []


async def test_an_xlsform_with_a_refused_row_shows_the_row_on_the_page(site: Site, page: Page) -> None:
    from tests.dashboard.xlsforms import with_geopoint

    organisation = await site.accounts.create_organisation("Org")
    await site.add_user("amina", Role.FACILITATOR, organisation.id)
    await sign_in(page, site, "amina")
    await page.goto(site.url("/dashboard/questionnaires"))
    await page.get_by_label("XLSForm file").set_input_files(
        files=FilePayload(name="plan.xlsx", mimeType="application/octet-stream", buffer=with_geopoint())
    )
    await page.get_by_role("button", name="Import").click()
    await expect(page.get_by_role("alert")).to_contain_text("The form was not imported")
    refused = page.get_by_role("table", name="Refused rows")
    await expect(refused.get_by_role("row").nth(1)).to_contain_text("5")
    await expect(refused).to_contain_text("geopoint")


async def test_signing_in_and_working_with_the_keyboard_only(site: Site, page: Page) -> None:
    organisation = await site.accounts.create_organisation("Org")
    await site.add_user("amina", Role.FACILITATOR, organisation.id)
    await page.goto(site.url("/dashboard/signin"))
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the content")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_visible()  # shown when focused
    await page.keyboard.press("Enter")
    await page.get_by_label("Username").focus()
    await page.keyboard.type("amina")
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Password", exact=True)).to_be_focused()
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Consultations")).to_be_visible()
    # every control of the form can be reached with Tab, in order, and shows where the focus is
    await page.goto(site.url("/dashboard/consultations/new"))
    names = []
    for _ in range(60):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(
            "() => { const e = document.activeElement; const s = getComputedStyle(e);"
            " return [e.name || e.textContent.trim(), s.outlineStyle, s.outlineWidth]; }"
        )
        names.append(focused[0])
        assert focused[1] != "none" and focused[2] != "0px", focused
        if focused[0] == "Create the consultation":
            break
    for expected in (
        "title",
        "questionnaire",
        "country",
        "kind",
        "languages",
        "min_cell",
        "cycle_year",
        "opens_at",
        "closes_at",
        "retention_days",
        "contact",
        "help-0-name",
    ):
        assert expected in names, (expected, names)
    assert names.index("title") < names.index("country") < names.index("retention_days")
