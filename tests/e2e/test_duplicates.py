"""Possible duplicates in the contact panel: an operator merges a contact of the same name into
the one he looks at, sees both conversations on one card, and undoes it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Hub
from tests.e2e.pw import expect
from tests.e2e.test_inbox import api_channel, customer_says, open_inbox, person, row

pytestmark = pytest.mark.timeout(90)


async def test_merge_a_suggested_duplicate_and_undo(browser: Any, hub: Hub) -> None:
    anna = await person(hub, "Анна", "admin")
    site = await api_channel(hub, "Сайт")
    shop = await api_channel(hub, "Магазин")
    first = await customer_says(hub, site, "Нужна печь", external_id="d-1", name="Пётр Сидоров")
    await customer_says(hub, shop, "Есть доставка?", external_id="d-2", name="Пётр Сидоров")
    contact_id = first["conversation"]["contact_id"]
    page, errors = await open_inbox(browser, hub, anna, lang="ru")
    await page.click("[data-assignee=all]")
    await row(page, "Нужна печь").click()

    dups = page.locator("#c-dups")
    await expect(dups).to_be_visible()
    await expect(dups.locator(".dup-item")).to_have_count(1)
    await expect(dups.locator(".dup-item")).to_contain_text("похожий имя")
    await expect(page.locator("#c-convs li")).to_have_count(1)

    await dups.locator("[data-merge]").click()
    await expect(page.locator("#c-convs li")).to_have_count(2)
    await expect(page.locator("#c-merged")).to_be_visible()
    card = await hub.call("GET", f"/api/v1/contacts/{contact_id}")
    assert len(card["conversations"]) == 2

    await page.click("#c-undo-merge")
    await expect(page.locator("#c-convs li")).to_have_count(1)
    await expect(page.locator("#c-merged")).to_be_hidden()
    card = await hub.call("GET", f"/api/v1/contacts/{contact_id}")
    assert len(card["conversations"]) == 1
    assert errors == []
