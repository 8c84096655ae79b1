"""Call tracking in the admin area, in Chromium and in Russian: an admin labels an advert's
number with its source (any local spelling, stored in E.164), puts numbers in a website chat's
pool with the site's default number, sees the pool's use and who holds a number, and removes
what he no longer rents; the hub's API reads back what he did, and a mistake is said in his
words with nothing stored."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Hub, screenshot_path
from tests.e2e.pw import expect
from tests.e2e.test_admin_area import PHONE, log_in, no_sideways_overflow

pytestmark = pytest.mark.timeout(120)


async def test_an_admin_keeps_the_advert_numbers_and_the_sites_pool(hub: Hub, browser: Any) -> None:
    site = await hub.widget_channel("ПечиПро")
    page = await browser.new_page(viewport={"width": 1280, "height": 1000})
    await page.add_init_script("localStorage.setItem('hub.inbox.lang', 'ru')")
    page.on("dialog", lambda dialog: dialog.accept())
    await log_in(hub, page)
    await page.goto(hub.url + "/admin#tracking")
    await expect(page.locator("body[data-section=tracking]")).to_have_count(1)
    await expect(page.locator(".admin-nav a[data-section=tracking]")).to_have_text("Коллтрекинг")
    numbers = page.locator("#tracking-numbers")
    await expect(numbers).to_contain_text("Номеров пока нет")

    # An advert's number, written the local way.
    form = page.locator("#tracking-number-form")
    await form.locator("[name=number]").fill("8 (495) 123-00-01")
    await form.locator("[name=source]").fill("yandex")
    await form.locator("[name=campaign]").fill("весна")
    await form.locator("button[type=submit]").click()
    advert = numbers.locator("li[data-number='+74951230001']")
    await expect(advert).to_contain_text("yandex · весна")
    [stored] = (await hub.call("GET", "/api/v1/tracking-numbers"))["items"]
    assert (stored["number"], stored["source"], stored["campaign"]) == (
        "+74951230001",
        "yandex",
        "весна",
    )
    # Not a phone number: said, nothing stored.
    await form.locator("[name=number]").fill("позвоните")
    await form.locator("[name=source]").fill("billboard")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#toast")).to_have_text("Номер телефона не распознан")
    assert len((await hub.call("GET", "/api/v1/tracking-numbers"))["items"]) == 1

    # The site's pool: two numbers and the default.
    pool = page.locator(f"[data-pool='{site['id']}']")
    await expect(pool).to_contain_text("ПечиПро")
    for number, label in (("8 (495) 123-00-11", "Билайн 1"), ("+7 495 123-00-12", "")):
        add = pool.locator("form[data-pool-add]")
        await add.locator("[name=number]").fill(number)
        await add.locator("[name=label]").fill(label)
        await add.locator("button[type=submit]").click()
        await expect(pool.locator("li[data-number]")).to_have_count(1 if label else 2)
    await expect(pool.locator("li[data-number='+74951230011']")).to_contain_text("Билайн 1")
    await expect(pool.locator("li[data-number='+74951230011']")).to_contain_text("свободен")
    default = pool.locator("form[data-pool-default]")
    await default.locator("[name=default_number]").fill("8 (495) 000-00-00")
    await default.locator("button[type=submit]").click()
    await expect(pool.locator("form[data-pool-default] [name=default_number]")).to_have_value(
        "+74950000000"
    )
    await expect(pool.locator("[data-usage]")).to_contain_text("Занято 0 из 2")
    if path := screenshot_path("admin-tracking-ru.png"):
        await page.screenshot(path=path, full_page=True)
    await page.set_viewport_size(PHONE)  # on a phone, nothing wider than the screen
    await no_sideways_overflow(page)
    await page.set_viewport_size({"width": 1280, "height": 1000})
    read = await hub.call("GET", f"/api/v1/channels/{site['id']}/number-pool")
    assert read["default_number"] == "+74950000000"
    assert [n["number"] for n in read["numbers"]] == ["+74951230011", "+74951230012"]

    # Taken out of the pool, and the advert's number removed.
    await pool.locator("li[data-number='+74951230012'] button").click()
    await expect(pool.locator("li[data-number]")).to_have_count(1)
    await numbers.locator("li[data-number='+74951230001'] button").click()
    await expect(numbers).to_contain_text("Номеров пока нет")
    assert (await hub.call("GET", "/api/v1/tracking-numbers"))["items"] == []
    await page.close()
