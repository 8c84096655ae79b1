"""The visitor's side of the widget on a page of another origin, in Chromium against the real hub:
he sees the operator typing (told by the operator's inbox page, never for a note), a site that is
not allowed stops after the first refusal with one clear console message, and "call me back"
speaks his language, shows in the inbox as a callback card and makes a task due when he asked.

The shop's site is a server of its own on another port (``site``), so the widget's requests to
the hub are cross-origin for real: preflights, CORS headers and all.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.app import INTAKE
from tests.e2e.conftest import Hub, Site, open_site
from tests.e2e.pw import expect
from tests.e2e.test_inbox import (
    api_channel,
    customer_says,
    open_inbox,
    person,
    row,
    shot,
    ws_ready,
)
from tests.e2e.test_widget import W, new_page, send

pytestmark = pytest.mark.timeout(120)

LAPTOP = {"width": 1280, "height": 800}
MSK = ZoneInfo("Europe/Moscow")


def typing_frames(sent: list[str]) -> list[dict[str, Any]]:
    frames = [json.loads(p) for p in sent if isinstance(p, str) and '"typing"' in p]
    return [f for f in frames if f.get("type") == "typing"]


async def test_the_visitor_sees_the_operator_typing_a_reply_never_a_note(
    browser: Any, hub: Hub, site: Site
) -> None:
    channel = await hub.widget_channel("Печи", allowed_origins=[site.url])
    anna = await person(hub, "Анна Смирнова", "admin")
    visitor, errors = await new_page(browser, viewport=LAPTOP)
    # The visitor's clock stands still: the typing line goes only when a frame or a reply says.
    await visitor.clock.install()
    await open_site(visitor, site, hub, channel["website_token"])
    await visitor.locator(f"{W} .la").click()
    await visitor.clock.pause_at(await visitor.evaluate("Date.now() + 1000"))
    await send(visitor, "Сколько стоит монтаж камина?")
    await expect(visitor.locator(f"{W} .m.out:not(.pe)")).to_have_count(1)

    inbox, inbox_errors = await open_inbox(browser, hub, anna, lang="ru")
    sent: list[str] = []
    inbox.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    await inbox.reload()  # the socket again, now watched
    await ws_ready(inbox)
    await inbox.click("[data-assignee=all]")
    composer = inbox.locator("#body")

    # A channel whose customers see no typing (the API channel) is never told.
    api = await api_channel(hub, "Shop API")
    await customer_says(hub, api, "Hello from the API", name="Ivan Petrov")
    await row(inbox, "Ivan Petrov").click()
    await expect(inbox.locator("#messages .msg.incoming")).to_have_count(1)
    await composer.fill("Yes, in stock")

    await row(inbox, "Сколько стоит монтаж").click()
    await expect(inbox.locator("#messages .msg.incoming")).to_contain_text(["Сколько стоит"])
    typing = visitor.locator(f"{W} .ty")
    await composer.fill("Добрый день!")
    await expect(typing).to_have_text("Анна Смирнова печатает…")
    # Cleared: a stop, and the line goes at once (the visitor's clock stands still).
    await composer.fill("")
    await expect(typing).to_be_hidden()

    # An internal note is never announced.
    await inbox.click("#composer [data-mode=note]")
    await composer.fill("Клиент с рекламы")
    await composer.press("Enter")
    await expect(inbox.locator("#messages .msg.note")).to_have_count(1)
    await inbox.click("#composer [data-mode=reply]")
    await composer.fill("Монтаж камина — от 18 000 ₽.")
    await expect(typing).to_be_visible()
    await composer.press("Enter")
    reply = visitor.locator(f"{W} .m.in")
    await expect(reply).to_contain_text("от 18 000 ₽")
    await expect(typing).to_be_hidden()

    # Frames stop coming: the line goes a few seconds after the last one.
    await composer.fill("Замер")
    await expect(typing).to_be_visible()
    await visitor.clock.run_for(5100)
    await expect(typing).to_be_hidden()
    conv = await hub.conversation_id(channel["id"])
    assert [(f["conversation_id"], f.get("active", True)) for f in typing_frames(sent)] == [
        (conv, True),
        (conv, False),  # cleared
        (conv, True),
        (conv, False),  # sent
        (conv, True),
    ]
    assert "Клиент с рекламы" not in await visitor.locator(f"{W} .li").inner_text()
    assert errors == [] and inbox_errors == []


@pytest.mark.parametrize("refusal", ["origin", "token"])
async def test_a_site_that_is_not_allowed_stops_after_the_first_refusal(
    browser: Any, hub: Hub, site: Site, refusal: str
) -> None:
    """One session call, one clear console message, no CORS error, no retry and no socket, even
    after the longest backoff has passed many times over; nothing on the page."""
    channel = await hub.widget_channel("Печи", allowed_origins=["https://shop.example"])
    token = channel["website_token"] if refusal == "origin" else "no-such-token"
    page, _ = await new_page(browser, quiet=False)
    console: list[str] = []
    hub_requests: list[str] = []
    sockets: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.on(
        "request",
        lambda r: (
            hub_requests.append(f"{r.method} {r.url[len(hub.url) :]}")
            if r.url.startswith(hub.url)
            else None
        ),
    )
    page.on("websocket", lambda ws: sockets.append(ws.url))
    await page.clock.install()
    said = (
        f"[hub widget] this site ({site.url}) is not allowed for this channel; "
        "add it to allowed_origins"
        if refusal == "origin"
        else '[hub widget] no widget channel has the website token "no-such-token"; '
        "check data-channel"
    )
    async with page.expect_console_message(lambda m: m.text == said):
        await open_site(page, site, hub, token)
    # Ten minutes of the page's time: every backoff (30 s at most) would have fired by now.
    await page.clock.run_for(10 * 60 * 1000)
    site.pages["/after"] = "ok"
    async with page.expect_request(site.url + "/after"):  # after anything the widget sent
        await page.evaluate("u => fetch(u)", site.url + "/after")
    assert hub_requests == ["GET /widget.js", "POST /api/widget/v1/sessions"]
    assert sockets == []
    assert [m for m in console if "[hub widget]" in m] == [said]
    assert [m for m in console if "CORS" in m or "Access-Control" in m] == []
    assert await page.locator(W).count() == 0
    assert await page.evaluate("typeof Hub.open") == "function"  # the one global still answers
    await page.evaluate("Hub.open(); Hub.close()")
    assert await page.locator(W).count() == 0


CALLBACK_TEXTS = {
    "ru": {
        "title": "Обратный звонок",
        "when": "Когда позвонить",
        "options": ["Как можно скорее", "Сегодня после", "Завтра утром", "Выбрать время"],
        "go": "Жду звонка",
        "bad_time": "Проверьте время",
        "asked": "Перезвоните мне: +79161234567",
        "will": "Позвоним",
        "card": "Просьба перезвонить",
        "card_asked": "Просит:",
        "card_due": "Позвонить:",
    },
    "en": {
        "title": "Call me back",
        "when": "When to call",
        "options": ["As soon as possible", "Today after", "Tomorrow morning", "Pick a time"],
        "go": "Request a call",
        "bad_time": "Please check the time",
        "asked": "Please call me back: +79161234567",
        "will": "We will call",
        "card": "Callback request",
        "card_asked": "Asked for:",
        "card_due": "Call at:",
    },
}


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_call_me_back_in_his_language_a_card_in_the_inbox_and_a_task_due_then(
    browser: Any, hub: Hub, site: Site, lang: str
) -> None:
    words = CALLBACK_TEXTS[lang]
    channel = await hub.widget_channel("Печи", allowed_origins=[site.url])
    visitor, errors = await new_page(
        browser,
        viewport=LAPTOP,
        locale="ru-RU" if lang == "ru" else "en-GB",
        timezone_id="Europe/Moscow",
    )
    await open_site(visitor, site, hub, channel["website_token"], lang=lang)
    await visitor.locator(f"{W} .la").click()
    await visitor.locator(f"{W} .cbb").click()
    form = visitor.locator(f"{W} form.fo:visible")
    await expect(form.locator("h2")).to_have_text(words["title"])
    await expect(form.locator("legend")).to_have_text(words["when"])
    await expect(form.locator(".rd")).to_have_text(words["options"])
    await expect(form.locator("button[type=submit]")).to_have_text(words["go"])
    assert await form.locator("input[name=wk]:checked").get_attribute("value") == "asap"

    await form.locator("input[name=phone]").fill("8 (916) 123-45-67")
    if lang == "ru":
        await shot(visitor, "widget-callback-ru.png")
    # A time that has passed: refused by the hub, said under the field, nothing sent.
    now = datetime.now(UTC).astimezone(MSK)
    await form.locator("input[name=at]").fill((now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    assert await form.locator("input[name=wk]:checked").get_attribute("value") == "at"
    await form.locator("button[type=submit]").click()
    await expect(form.locator(".er:visible")).to_have_text(words["bad_time"])
    assert await hub.conversations(channel["id"]) == []

    wanted = (now + timedelta(days=3)).replace(hour=15, minute=30, second=0, microsecond=0)
    await form.locator("input[name=at]").fill(wanted.strftime("%Y-%m-%dT%H:%M"))
    await form.locator("button[type=submit]").click()
    bubble = visitor.locator(f"{W} .m.cb .bu")
    await expect(bubble).to_contain_text(words["asked"])
    await expect(bubble).to_contain_text(words["will"])
    await expect(bubble).to_contain_text(re.compile(r"15:30|3:30\s?PM", re.I))

    # The operator sees a callback card in his own language, and the task is due then.
    anna = await person(hub, "Анна Смирнова", "admin")
    inbox, inbox_errors = await open_inbox(browser, hub, anna, lang=lang)
    await inbox.click("[data-assignee=all]")
    await inbox.locator("#conv-list .conv-row").first.click()
    card = inbox.locator("#messages .item-callback")
    await expect(card.locator(".item-title")).to_have_text(words["card"])
    await expect(card.locator(".item-title svg.item-icon")).to_have_count(1)
    await expect(card.locator("a.item-phone")).to_have_attribute("href", "tel:+79161234567")
    await expect(card).to_contain_text(
        words["card_asked"] + " " + wanted.strftime("%Y-%m-%d 15:30")
    )
    await expect(card.locator(".item-due")).to_contain_text(words["card_due"])
    await expect(card.locator(".item-due")).to_contain_text(re.compile(r"15:30|03:30\s?PM", re.I))
    await expect(inbox.locator("#messages .msg.incoming .body")).to_be_hidden()
    if lang == "ru":
        await shot(inbox, "inbox-callback-ru.png")

    await hub.app[INTAKE].run_once()
    tasks = (await hub.call("GET", "/api/v1/tasks?status=open"))["items"]
    assert [(t["kind"], t["due_at"]) for t in tasks] == [
        ("callback", wanted.astimezone(UTC).isoformat().replace("+00:00", "Z"))
    ]
    assert errors == [] and inbox_errors == []
