"""Rating after a resolve, in the real widget on a site of another origin and in the inbox.

The operator's conversation is resolved; the visitor is asked at once, gives 4 stars and a
comment, and is thanked; a reload does not ask again. The operator sees the rating arrive in
the conversation, on the contact panel and page, and the manager in the operators' report.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import Hub, Site, open_site, screenshot_path
from tests.e2e.pw import expect
from tests.e2e.test_inbox import open_inbox, person, row
from tests.e2e.test_widget import W, new_page, send

pytestmark = pytest.mark.timeout(120)


async def test_the_visitor_rates_a_resolved_chat(browser: Any, hub: Hub, site: Site) -> None:
    channel = await hub.widget_channel("Печной мир", allowed_origins=[site.url])
    maria = await person(hub, "Мария Петрова", "manager")
    inbox, inbox_errors = await open_inbox(browser, hub, maria, lang="ru")

    page, errors = await new_page(browser, viewport={"width": 1280, "height": 800})
    await open_site(page, site, hub, channel["website_token"])
    await page.locator(f"{W} .la").click()
    await send(page, "Подскажите печь для бани 12 м³")
    await expect(page.locator(f"{W} .m.out:not(.pe)")).to_have_count(1)
    card = page.locator(f"{W} .rt")
    await expect(card).to_be_hidden()
    conv = await hub.conversation_id(channel["id"])
    await hub.call("POST", f"/api/v1/conversations/{conv}/assign", json={"operator_id": maria.id})
    await hub.reply(conv, "Возьмите «Теплодар Русь 12», он есть на складе.")
    await expect(page.locator(f"{W} .m.in")).to_have_count(1)

    # Anna resolves Maria's conversation: the visitor is asked at once.
    await row(inbox, "Теплодар").click()
    await hub.call("POST", f"/api/v1/conversations/{conv}/status", json={"status": "resolved"})
    await expect(card).to_be_visible()
    await expect(card).to_contain_text("Оцените, пожалуйста, как мы вам помогли")
    stars = card.locator(".st button")
    await expect(stars).to_have_count(5)
    await expect(card.locator("input")).to_be_hidden()  # a comment once a score is chosen
    await stars.nth(3).click()
    await expect(stars.nth(3)).to_have_attribute("aria-pressed", "true")
    await expect(card.locator(".st button.on")).to_have_count(4)
    await card.locator("input").fill("Печь подобрали быстро")
    if path := screenshot_path("widget-rating-ru.png"):
        await page.screenshot(path=path)
    await card.locator("button.btn").click()
    await expect(card).to_contain_text("Спасибо за оценку!")
    await expect(card.locator(".st")).to_be_hidden()

    # A reload does not ask again.
    await page.reload()
    await expect(page.locator(f"{W} .m.in")).to_have_count(1)
    await expect(page.locator(f"{W} .rt")).to_be_hidden()

    # The inbox: the rating in the open conversation, live, and on the contact panel.
    activity = inbox.locator("#messages .msg.activity", has_text="Клиент оценил")
    await expect(activity).to_have_text(
        re.compile(r"Клиент оценил диалог: 4 из 5: Печь подобрали быстро")
    )
    await expect(inbox.locator("#c-ratings")).to_have_text("Средняя оценка 4.0 ★ (1)")
    contact_id = (await hub.call("GET", f"/api/v1/conversations/{conv}"))["contact_id"]
    await inbox.goto(f"{hub.url}/inbox/contacts/{contact_id}")
    item = inbox.locator("#cp-ratings li.rating-item")
    await expect(item).to_have_count(1)
    await expect(item).to_contain_text("★★★★☆ Печь подобрали быстро")
    await expect(item).to_contain_text("для Мария Петрова")

    # The operators' report: Maria's conversation, Maria's rating.
    await inbox.goto(f"{hub.url}/inbox/reports")
    await expect(inbox.locator("body[data-loaded=true]")).to_have_count(1)
    maria_row = inbox.locator("#operators tbody tr", has_text="Мария Петрова")
    await expect(maria_row).to_contain_text("4.0 ★ (1)")
    await expect(inbox.locator("#operators thead")).to_contain_text("Оценка клиентов")
    assert errors == []
    assert inbox_errors == []
