"""Dynamic number insertion in Chromium: the shop's page marks its phone numbers with
``data-hub-phone``, and the widget script shows each visitor a number of the site's pool, the
same one on reload, another to another visitor, the default once every number is held, and the
page's own when the hub cannot be reached. The reservation holds the visit (UTM, referrer, page).

The shop's site is a server of its own on another port (``site``): the requests are cross-origin
for real.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.crm_sync.number_models import NumberReservation
from hub.http import CTX
from tests.e2e.conftest import Hub, Site
from tests.e2e.pw import expect
from tests.e2e.test_widget import new_page

pytestmark = pytest.mark.timeout(120)

LANDING = "/winter?utm_source=yandex&utm_medium=cpc&utm_campaign=stoves"


def shop_page(hub: Hub, token: str) -> str:
    """A header link with the number as its text, and a footer number inside a tel: link."""
    return (
        '<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Печи</title></head>'
        '<body><header><a id="top" href="tel:88005550000" data-hub-phone>8 800 555-00-00</a>'
        "</header><h1>Печи и камины</h1>"
        '<footer><a id="foot" href="tel:88005550000">Звоните: '
        '<span id="num" data-hub-phone="national">8 800 555-00-00</span></a></footer>'
        f'<script src="{hub.url}/widget.js" data-channel="{token}" async></script></body></html>'
    )


async def shows(page: Any, e164: str, international: str, national: str) -> None:
    await expect(page.locator("#top")).to_have_text(international)
    await expect(page.locator("#top")).to_have_attribute("href", f"tel:{e164}")
    await expect(page.locator("#num")).to_have_text(national)
    await expect(page.locator("#foot")).to_have_attribute("href", f"tel:{e164}")


async def test_visitors_see_pool_numbers_then_the_default(
    browser: Any, hub: Hub, site: Site
) -> None:
    channel = await hub.widget_channel("Печи", allowed_origins=[site.url])
    pool = f"/api/v1/channels/{channel['id']}/number-pool"
    for number in ("+74951230001", "+74951230002"):
        await hub.call("POST", pool + "/numbers", 201, json={"number": number})
    await hub.call("PATCH", pool, json={"default_number": "+74950000000"})
    for path in ("/winter", "/"):
        site.pages[path] = shop_page(hub, channel["website_token"])

    first, first_errors = await new_page(browser)
    await first.goto(site.url + LANDING, referer="https://ya.ru/search?text=печи")
    await shows(first, "+74951230001", "+7 495 123-00-01", "8 (495) 123-00-01")
    # He stays: another page of the site, and a reload, keep his number.
    await first.goto(site.url + "/")
    await first.reload()
    await shows(first, "+74951230001", "+7 495 123-00-01", "8 (495) 123-00-01")

    second, second_errors = await new_page(browser)
    await second.goto(site.url + "/")
    await shows(second, "+74951230002", "+7 495 123-00-02", "8 (495) 123-00-02")

    # Every number is held: the third visitor sees the site's default.
    third, third_errors = await new_page(browser)
    await third.goto(site.url + "/")
    await shows(third, "+74950000000", "+7 495 000-00-00", "8 (495) 000-00-00")

    # The hub out of reach for this number: the page keeps its own, and nothing breaks.
    cut, cut_errors = await new_page(browser)
    await cut.route("**/api/widget/v1/phone-number", lambda route: route.abort())
    async with cut.expect_event("requestfailed", lambda r: "phone-number" in r.url):
        await cut.goto(site.url + "/")
    await expect(cut.locator("#top")).to_have_text("8 800 555-00-00")
    await expect(cut.locator("#foot")).to_have_attribute("href", "tel:88005550000")
    assert first_errors == second_errors == third_errors == cut_errors == []

    async def query(session: AsyncSession) -> list[NumberReservation]:
        return list(await session.scalars(select(NumberReservation).order_by(NumberReservation.id)))

    held = await hub.app[CTX].read(query)
    assert [r.number for r in held] == ["+74951230001", "+74951230002"]
    visit = held[0]
    assert visit.utm == {"utm_source": "yandex", "utm_medium": "cpc", "utm_campaign": "stoves"}
    assert visit.landing_page == site.url + LANDING
    assert visit.referrer == "https://ya.ru/search?text=%D0%BF%D0%B5%D1%87%D0%B8"
    assert visit.page == site.url + "/"
