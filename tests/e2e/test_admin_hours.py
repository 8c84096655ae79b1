"""The admin area's working hours in Chromium: an admin picks a time zone and sets each weekday
open or closed with its hours; a mistake is shown in his words and nothing is saved; once he
confirms, the widget says the new hours at once: its session, its ``ready`` frame, and the real
widget on a site ("we answer tomorrow from 10:00"), with no restart.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.crm_sync.report_period import DAYS
from hub.db import utcnow
from tests.e2e.conftest import Hub, Site, open_site, screenshot_path
from tests.e2e.pw import expect
from tests.e2e.test_admin_area import log_in
from tests.e2e.test_widget import W, new_page

pytestmark = pytest.mark.timeout(120)
ZONE = "Asia/Vladivostok"


async def widget_hours(hub: Hub, channel: dict[str, Any], origin: str) -> tuple[Any, Any]:
    """What a new visitor's session and socket say of the hours."""
    async with hub.http.post(
        f"{hub.url}/api/widget/v1/sessions",
        json={"website_token": channel["website_token"]},
        headers={"Origin": origin},
    ) as resp:
        assert resp.status == 200, await resp.text()
        session = await resp.json()
    ws = await hub.http.ws_connect(
        f"{hub.url}/ws/widget?visitor_token={session['visitor_token']}",
        headers={"Origin": origin},
    )
    try:
        ready = await ws.receive_json()
    finally:
        await ws.close()
    assert ready["type"] == "ready", ready
    return session["working_hours"], ready["working_hours"]


async def test_an_admin_changes_the_hours_and_the_widget_says_them(
    hub: Hub, browser: Any, site: Site
) -> None:
    channel = await hub.widget_channel("Печной мир", allowed_origins=[site.url])
    assert await widget_hours(hub, channel, site.url) == (None, None)  # none set yet
    tomorrow = DAYS[(utcnow().astimezone(ZoneInfo(ZONE)) + timedelta(days=1)).weekday()]

    page = await browser.new_page(viewport={"width": 1280, "height": 1000})
    await page.add_init_script("localStorage.setItem('hub.inbox.lang', 'ru')")
    dialogs: list[str] = []

    async def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    await log_in(hub, page)
    await page.goto(hub.url + "/admin#hours")
    await expect(page.locator("body[data-section=hours]")).to_have_count(1)
    form = page.locator("#hours-form")
    scheduled = form.locator("input[name=scheduled]")
    await expect(scheduled).not_to_be_checked()
    await scheduled.check()
    await form.locator("select[name=timezone]").select_option(ZONE)
    for day in DAYS:  # only tomorrow is a working day
        await form.locator(f"tr[data-day={day}] input[name=open]").set_checked(day == tomorrow)
    times = form.locator(f"tr[data-day={tomorrow}] input[type=time]")

    # A day that ends before it begins: said in Russian, nothing asked, nothing saved.
    await times.first.fill("12:00")
    await times.last.fill("10:00")
    await form.locator("button[type=submit]").click()
    error = page.locator("#hours-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("часы должны заканчиваться позже, чем начинаются")
    assert dialogs == []
    assert (await hub.call("GET", "/api/v1/settings/working-hours"))["source"] == "environment"

    await times.first.fill("10:00")
    await times.last.fill("12:00")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#hours-source")).to_contain_text("Сохранены в настройках")
    assert len(dialogs) == 1 and "Сохранить рабочие часы?" in dialogs[0]
    await expect(page.locator("#hours-error")).to_be_hidden()
    saved = await hub.call("GET", "/api/v1/settings/working-hours")
    assert saved["timezone"] == ZONE and saved["spec"] == f"{tomorrow} 10:00-12:00"
    await expect(page.locator("#hours-form select[name=timezone]")).to_have_value(ZONE)
    if path := screenshot_path("admin-hours-saved-ru.png"):
        await page.screenshot(path=path, full_page=True)

    told = {"open_now": False, "opens": {"day": "tomorrow", "time": "10:00"}}
    assert await widget_hours(hub, channel, site.url) == (told, told)

    # The real widget on the shop's site: nobody online, so it says when the company answers.
    visitor, errors = await new_page(browser, viewport={"width": 1280, "height": 800})
    await open_site(visitor, site, hub, channel["website_token"])
    await visitor.locator(f"{W} .la").click()
    notice = visitor.locator(f"{W} .of")
    await expect(notice).to_contain_text("Ответим завтра с 10:00")
    assert errors == []

    # Back to no working hours: the widget stops saying when it opens.
    await scheduled.uncheck()
    await page.locator("#hours-form button[type=submit]").click()
    await expect(page.locator("#hours-form input[name=scheduled]")).not_to_be_checked()
    await expect(page.locator("#hours .pill")).to_have_count(0)
    assert await widget_hours(hub, channel, site.url) == (None, None)
    assert len(dialogs) == 2


async def test_the_section_the_address_names_is_shown_when_its_script_arrives_last(
    hub: Hub, browser: Any
) -> None:
    """admin.js runs before the sections' scripts: it must not read the session and pick the
    section before they have registered theirs. Here admin-hours.js is held until admin.js has
    run; the admin asked for the hours and is shown them, not the operators."""
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await log_in(hub, page)
    asked: list[str] = []
    page.on(  # the admin page's own reads: the inbox the log-in opened may still be reading
        "request",
        lambda request: (
            asked.append(request.url)
            if request.headers.get("referer", "").endswith("/admin")
            else None
        ),
    )
    before_script: list[str] = []

    async def last(route: Any) -> None:
        await page.wait_for_function("() => window.HubAdmin !== undefined")
        before_script.extend(url for url in asked if "/api/" in url)
        await route.continue_()

    await page.route("**/inbox/static/admin-hours.js", last)
    await page.goto(hub.url + "/admin#hours")
    await expect(page.locator("body[data-section=hours]")).to_have_count(1)
    await expect(page.locator("#hours-form")).to_be_visible()
    assert before_script == []  # nothing was read before every section's script had run
    await page.close()
