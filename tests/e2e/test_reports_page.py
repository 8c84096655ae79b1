"""The reports page (``/inbox/reports``) in a real browser shows the hand-computed figures of
``tests/report_dataset.py``; managers reach it from the inbox header, operators are refused."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from hub.http import CTX
from hub.inbox.staff import create_operator
from tests.crm_seed import Seeder
from tests.e2e.conftest import Hub, screenshot_path
from tests.e2e.pw import expect
from tests.report_dataset import NOV, World, seed

pytestmark = pytest.mark.timeout(90)


async def log_in(hub: Hub, page: object, role: str, n: int) -> None:
    email, password = f"reports{n}@example.com", f"password-{n}-long-enough"
    await create_operator(
        hub.app[CTX], email=email, name=f"Reader {n}", role=role, password=password
    )
    await page.goto(hub.url + "/inbox")  # type: ignore[attr-defined]
    await page.fill("#login-form [name=email]", email)  # type: ignore[attr-defined]
    await page.fill("#login-form [name=password]", password)  # type: ignore[attr-defined]
    await page.click("#login-form button[type=submit]")  # type: ignore[attr-defined]
    await expect(page.locator("#app")).to_be_visible()  # type: ignore[attr-defined]


async def test_a_manager_sees_the_seeded_figures(hub: Hub, browser: object) -> None:
    async def unit(session: AsyncSession) -> World:
        return await seed(Seeder(session))

    await hub.app[CTX].write(unit)
    page = await browser.new_page(viewport={"width": 1366, "height": 900})  # type: ignore[attr-defined]
    await page.add_init_script("localStorage.setItem('hub.inbox.lang', 'en')")
    await log_in(hub, page, "manager", 1)
    link = page.locator("#reports-link")
    await expect(link).to_be_visible()
    await expect(link).to_have_attribute("href", "/inbox/reports")
    await page.goto(f"{hub.url}/inbox/reports?{NOV}")
    await expect(page.locator("body[data-loaded=true]")).to_have_count(1)
    cards = page.locator("#cards")
    await expect(cards).to_contain_text("Leads in6")
    await expect(cards).to_contain_text("4 became deals")
    await expect(cards).to_contain_text("Deals created8")
    await expect(cards).to_contain_text("4 / 3")
    await expect(cards).to_contain_text("57.1\u00a0%")
    await expect(cards).to_contain_text("254\u00a0999.99 RUB + 2\u00a0000.00 USD")
    await expect(cards).to_contain_text("5 min")  # first response median 300 s
    b2b = page.locator(".funnel", has=page.locator("h3", has_text="B2B"))
    rows = b2b.locator(".funnel-row")
    await expect(rows).to_have_count(5)
    await expect(rows.nth(0)).to_contain_text("New")
    await expect(rows.nth(0).locator(".funnel-count")).to_have_text("6")
    await expect(rows.nth(0).locator(".funnel-conv")).to_have_text("→ 50\u00a0%")
    await expect(rows.nth(1).locator(".funnel-count")).to_have_text("3")
    await expect(rows.nth(4).locator(".funnel-count")).to_have_text("2")
    operators = page.locator("#operators tbody tr")
    await expect(operators).to_have_count(2)
    await expect(operators.nth(0)).to_contain_text("Anna")
    await expect(operators.nth(0)).to_contain_text("155\u00a0000.00 RUB")
    await expect(operators.nth(1)).to_contain_text("Boris")
    await expect(operators.nth(1)).to_contain_text("66.7\u00a0%")
    sources = page.locator("#sources tbody tr")
    await expect(sources).to_have_count(7)
    # The channel by its name, not its type's code ("telegram").
    await expect(sources.nth(0)).to_contain_text("Telegramyandexwinter2")
    await expect(page.locator("#lost tbody tr")).to_have_count(3)
    # The calls have a block of their own, not the tracked emails' tail.
    calls = page.locator(".report-block", has=page.locator("#calls-back"))
    await expect(calls.locator("h2")).to_have_text("Calls")
    await expect(calls.locator("#emails")).to_have_count(0)
    if path := screenshot_path("reports-en.png"):
        await page.screenshot(path=path, full_page=True)
    # Russian, as the inbox's language switch left it.
    await page.click("#lang")
    await expect(page.locator("h2").first).to_have_text("Воронка")
    await expect(cards).to_contain_text("57,1\u00a0%")
    if path := screenshot_path("reports-ru.png"):
        await page.screenshot(path=path, full_page=True)
    # Another period through the form: nothing in it.
    await page.fill("#period [name=from]", "2025-01-01")
    await page.fill("#period [name=to]", "2025-01-31")
    await page.click("#period button[type=submit]")
    await expect(page).to_have_url(f"{hub.url}/inbox/reports?from=2025-01-01&to=2025-01-31")
    await expect(cards).to_contain_text("Создано сделок0")


async def test_an_operator_is_told_reports_are_for_managers(hub: Hub, browser: object) -> None:
    page = await browser.new_page()  # type: ignore[attr-defined]
    await page.add_init_script("localStorage.setItem('hub.inbox.lang', 'en')")
    await log_in(hub, page, "operator", 2)
    await expect(page.locator("#reports-link")).to_be_hidden()
    await page.goto(hub.url + "/inbox/reports")
    await expect(page.locator("#not-staff")).to_be_visible()
    await expect(page.locator("#report")).to_be_hidden()
