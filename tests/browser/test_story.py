"""The whole story in Chromium: a facilitator creates a consultation from an uploaded XLSForm; a participant takes
part through the sandbox chat page (and a few more through the real bot, so the consultation passes k); the
facilitator follows the live progress, reviews the written answer and approves a shortened quote, publishes; a
reviewer signs in and reads the publication. axe-core checks every new page; no page breaks its CSP."""

from __future__ import annotations

import json
import re

from playwright.async_api import BrowserContext, FilePayload, Page, expect

from consultations.staff import Role
from tests.browser.conftest import Site, console_problems, sign_in
from tests.browser.test_accessibility import violations
from tests.dashboard.xlsforms import xlsx
from tests.e2e.conftest import Harness

ANSWER = "On the radio, and then from my neighbour at the market in Mombasa"
QUOTE = "On the radio, and then from my neighbour"
K = 5


async def take_part_by_bot(harness: Harness, code: str, index: int) -> None:
    """One more participant, through the real bot and the emulator (as the e2e tests do)."""
    person = harness.user(f"Person {index}")
    [consent] = await harness.send(person, f"/start {code}")
    heard = await harness.agree(person, consent)
    [where] = await harness.press(person, heard, "Yes")
    [enough] = await harness.send(person, f"From a workshop, number {index}")
    await harness.press(person, enough, "No")


async def test_from_an_xlsform_to_a_publication_a_reviewer_reads(
    site: Site, page: Page, context: BrowserContext
) -> None:
    organisation = await site.accounts.create_organisation("Kenya CSO Network")
    await site.add_user("amina", Role.FACILITATOR, organisation.id)
    await site.add_user("rev", Role.REVIEWER, organisation.id)
    problems: dict[str, list[str]] = {}

    async def axe(name: str) -> None:
        if found := await violations(page):
            problems[name] = found

    # the facilitator: an uploaded XLSForm, a consultation with k = 5
    await sign_in(page, site, "amina")
    await page.goto(site.url("/dashboard/questionnaires"))
    await page.get_by_label("XLSForm file").set_input_files(
        files=FilePayload(name="plan.xlsx", mimeType="application/octet-stream", buffer=xlsx())
    )
    await page.get_by_role("button", name="Import").click()
    await expect(page.get_by_text("Every row was imported.")).to_be_visible()
    await page.get_by_role("link", name="Create a consultation with this questionnaire").click()
    await page.get_by_label("Title").fill("Plan check, Mombasa")
    await page.get_by_label("Country").select_option("KE")
    await page.get_by_label("k (smallest number shown)").fill(str(K))
    await page.locator("input[name=languages][value=en]").check()
    await page.get_by_role("button", name="Create the consultation").click()
    await expect(page.get_by_role("heading", name="Plan check, Mombasa")).to_be_visible()
    consultation_path = page.url.split("127.0.0.1", 1)[1].split(":", 1)[1].split("/", 1)[1]
    consultation = "/" + consultation_path
    link = await page.locator("a.code", has_text="?start=").first.inner_text()
    code = link.rsplit("=", 1)[1]

    # a participant, in the sandbox chat page
    chat = await context.new_page()
    await chat.goto(site.url(f"/?start={code}"))
    await chat.get_by_role("button", name="I agree").click()
    await chat.get_by_role("button", name="Yes", exact=True).last.click()
    await expect(chat.locator(".msg.bot .bubble").last).to_contain_text("Where did you hear of it?")
    await chat.locator("#text").fill(ANSWER)
    await chat.locator("#text").press("Enter")
    await expect(chat.locator(".msg.bot .bubble").last).to_contain_text("Is the plan doing enough?")
    await chat.get_by_role("button", name="No", exact=True).last.click()
    await expect(chat.locator(".msg.bot .bubble").last).not_to_contain_text("Is the plan doing enough?")
    await chat.close()
    chat_page_problems = len(console_problems(context))  # the sandbox page asks for a favicon it lacks
    for index in range(K):
        await take_part_by_bot(site.harness, code, index)

    # live progress: six people, shown (k = 5); drop-off per question
    await page.goto(site.url(consultation))
    nav = page.get_by_role("navigation", name="This consultation")
    await nav.get_by_role("link", name="Live progress").click()
    await expect(page.get_by_role("heading", name="Live progress")).to_be_visible()
    await expect(page.locator("dl.facts dd").first).to_have_text("6")
    await expect(page.get_by_role("row").filter(has_text="Have you heard of the plan?")).to_contain_text("6")
    await axe("progress")

    # written answers: a theme, then the answer coded and quoted with words removed
    await nav.get_by_role("link", name="Written answers").click()
    await page.get_by_label("Code", exact=True).fill("media")
    await page.get_by_label("Label (what reviewers read)").fill("Radio and media")
    await page.get_by_label("Keywords (separated by commas)").fill("radio")
    await page.get_by_role("button", name="Save the theme").click()
    await expect(page.get_by_text("Theme media saved.")).to_be_visible()
    await axe("answers")
    answer = page.locator("article.answer").filter(has_text=ANSWER)
    await expect(answer.get_by_label("Radio and media")).to_be_checked()  # suggested by its keyword
    await answer.get_by_label("Quote (you may only delete words)").fill(QUOTE + " and my sister")
    await answer.get_by_role("button", name="Approve the quote").click()
    await expect(page.get_by_text("A quote may only take words out of the answer")).to_be_visible()
    answer = page.locator("article.answer").filter(has_text=ANSWER)
    await answer.get_by_label("Quote (you may only delete words)").fill(QUOTE)
    await answer.get_by_role("button", name="Approve the quote").click()
    await expect(page.get_by_text("The answer is coded and the quote approved")).to_be_visible()
    # the keyboard alone: from the quote box, Tab to "Do not quote", Enter
    other = page.locator("article.answer").filter(has_text="From a workshop, number 0")
    await other.get_by_label("Quote (you may only delete words)").focus()
    await page.keyboard.press("Tab")
    await expect(other.get_by_role("button", name="Approve the quote")).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(other.get_by_role("button", name="Do not quote")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("The answer is coded; it will not be quoted.")).to_be_visible()
    await expect(page.locator("article.answer").filter(has_text="From a workshop, number 0")).to_have_count(0)
    await page.get_by_role("link", name="Keyword suggestions").click()
    await expect(page.get_by_role("heading", name="Keyword suggestions")).to_be_visible()
    await axe("keywords")

    # publish, then a second time too early: the reason is shown
    await page.goto(site.url(consultation + "/publications"))
    await page.get_by_role("button", name="Publish now").click()
    await expect(page.get_by_text("Publication 1 is made.")).to_be_visible()
    await page.get_by_role("button", name="Publish now").click()
    refusal = f"Not published: fewer than {K} people took part since publication 1"
    await expect(page.get_by_text(refusal)).to_be_visible()
    await axe("publications")
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name=re.compile(r"^csv 1 en")).click()
    download = await downloading.value
    assert download.suggested_filename == f"{code}-1-en.csv"

    await page.goto(site.url(consultation))
    await page.get_by_label("Reviewer's username").fill("rev")
    await page.get_by_role("button", name="Give access").click()

    # the reviewer reads it: the report, with the approved quote and the theme counts; never the whole answer
    await sign_in(page, site, "rev")
    await page.get_by_role("link", name="Plan check, Mombasa").click()
    await axe("review")
    await page.get_by_role("link", name=re.compile("Read the report")).click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Plan check, Mombasa")
    await expect(page.locator("blockquote").filter(has_text=QUOTE)).to_be_visible()
    await expect(page.get_by_text("Radio and media").first).to_be_visible()
    assert ANSWER not in await page.content()
    assert await page.locator("svg").count() > 0
    await axe("report")
    assert not problems, json.dumps(problems, indent=1)
    assert console_problems(context)[chat_page_problems:] == []  # no dashboard page breaks its CSP
