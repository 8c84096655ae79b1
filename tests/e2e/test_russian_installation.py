"""A Russian installation (``HUB_LANGUAGE=ru``) in Chromium, as a manager uses it.

The contact card speaks people's words («Чат на сайте», «ПечиПро: Посетитель #1», never
"widget: visitor:1", his city «Москва, Россия» from a GeoIP database, in English "Moscow,
Russia"); the contact page lists what is known of the customer (on the site now with his city,
browser and device and the database's credit, his deals with their stages, his tasks, where he
came from, his history); the board's stages are Russian and «+ Сделка» makes a deal for him;
a snooze is shown as a local date and time in the company's zone (the browser here is in
Vladivostok, the company in Moscow), and an error the hub answers is a Russian toast; on a 390 px
phone nothing is wider than the screen and «Выйти» is on it. With ``HUB_SCREENSHOTS_DIR`` the
contact page is saved.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from hub.app import INTAKE
from hub.settings import Settings
from tests.conftest import base_settings
from tests.e2e.conftest import Hub, screenshot_path
from tests.e2e.pw import expect
from tests.e2e.test_inbox import Person, person, row
from tests.geoip_db import MOSCOW_IP, write_city_database

pytestmark = pytest.mark.timeout(120)

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
LAPTOP = {"width": 1366, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def settings(tmp_path: Path, sqlite_template: Path, port: int) -> Settings:
    """A Russian installation, embedded (as tests/e2e/conftest.py's, with HUB_LANGUAGE=ru),
    with a GeoIP database, behind a proxy that names the visitors' addresses."""
    db = tmp_path / "hub.db"
    shutil.copy(sqlite_template, db)
    return base_settings(
        database_url=f"sqlite+aiosqlite:///{db}",
        redis_url=None,
        public_url=f"http://127.0.0.1:{port}",
        language="ru",
        geoip_database=write_city_database(tmp_path / "GeoLite2-City.mmdb"),
        behind_proxy=True,
    )


async def log_in(
    browser: Any, hub: Hub, who: Person, viewport: dict[str, int]
) -> tuple[Any, list[str]]:
    """A Russian operator's page in a browser set to another zone than the company's, and the
    list of its uncaught errors."""
    ctx = await browser.new_context(
        locale="ru-RU", viewport=viewport, reduced_motion="reduce", timezone_id="Asia/Vladivostok"
    )
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(hub.url + "/inbox")
    await page.fill("#login-form [name=email]", who.email)
    await page.fill("#login-form [name=password]", who.password)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#me")).to_contain_text(who.name)
    await page.wait_for_selector("body[data-live='1']", state="attached")
    return page, errors


async def visitor_writes(hub: Hub, channel: dict[str, Any], text: str) -> Any:
    """A visitor from an Android phone in Moscow, on the site with a tab open, writes; returns
    his socket."""
    page = {
        "url": "https://pechi.example/bani?utm_source=yandex&utm_campaign=zima&utm_medium=cpc",
        "title": "Печи для бани",
        "referrer": "https://yandex.ru/",
    }
    async with hub.http.post(
        f"{hub.url}/api/widget/v1/sessions",
        json={"website_token": channel["website_token"], "page": page},
        headers={
            "Origin": "https://pechi.example",
            "User-Agent": ANDROID_CHROME,
            "X-Forwarded-For": MOSCOW_IP,
        },
    ) as resp:
        assert resp.status == 200, await resp.text()
        token = (await resp.json())["visitor_token"]
    ws = await hub.http.ws_connect(
        f"{hub.url}/ws/widget?visitor_token={token}", headers={"Origin": "https://pechi.example"}
    )
    hub.sockets.append(ws)
    assert (await ws.receive_json())["type"] == "ready"
    await ws.send_json({"type": "message", "client_id": "m-1", "body": text})
    while (frame := await ws.receive_json())["type"] != "ack":
        pass
    assert frame["message"]["body"] == text
    return ws


def too_wide_script() -> str:
    """Elements wider than the screen (but those inside a box that scrolls sideways by itself,
    as the board's columns and the reports' tables do), and how far the page scrolls sideways."""
    return """() => {
      const w = window.innerWidth;
      const inScroller = e => {
        for (let p = e.parentElement; p; p = p.parentElement) {
          const o = getComputedStyle(p).overflowX;
          const box = p.getBoundingClientRect();
          if ((o === 'auto' || o === 'scroll') && box.width <= w + 1) return true;
        }
        return false;
      };
      const wide = [...document.querySelectorAll('body *')].filter(e => {
        const r = e.getBoundingClientRect();
        return (r.width > w + 1 || r.right > w + 1) && getComputedStyle(e).display !== 'none'
          && r.height > 0 && !inScroller(e);
      }).map(e => `${e.tagName}#${e.id}.${e.className} ${e.getBoundingClientRect().right}`);
      return {wide, scroll: document.documentElement.scrollWidth - w};
    }"""


async def fits(page: Any) -> None:
    got = await page.evaluate(too_wide_script())
    assert got == {"wide": [], "scroll": 0}, json.dumps(got, ensure_ascii=False)


async def test_contact_card_and_page_speak_russian(browser: Any, hub: Hub) -> None:
    anna = await person(hub, "Анна Смирнова", "manager")
    channel = await hub.widget_channel("ПечиПро")
    await visitor_writes(hub, channel, "Сколько стоит печь для бани?")
    await hub.app[INTAKE].run_once()
    conv_id = await hub.conversation_id(channel["id"])
    contact_id = (await hub.call("GET", f"/api/v1/conversations/{conv_id}"))["contact_id"]

    page, errors = await log_in(browser, hub, anna, LAPTOP)
    await page.click("[data-assignee=all]")
    await row(page, "Посетитель").first.click()
    await expect(page.locator("#c-lead")).to_contain_text("Новая заявка")
    await expect(page.locator("#c-lead-source")).to_contain_text("Чат на сайте")
    await expect(page.locator("#c-lead-source")).not_to_contain_text("widget")
    await expect(page.locator("#c-fields")).to_contain_text("ПечиПро: Посетитель #")
    await expect(page.locator("#c-fields")).not_to_contain_text("visitor:")
    await expect(page.locator("#c-first")).to_contain_text("Москва, Россия")

    # A snooze: told as a date and time in Moscow, the company's zone, never as ISO.
    await page.click("#act-snooze")
    await page.fill("#snooze-form [name=until]", "2031-05-04T09:30")
    await page.click("#snooze-form button[type=submit]")
    await expect(page.locator("#conv-meta")).to_contain_text("04.05.2031, 09:30")
    activity = page.locator("#messages .msg.activity").last
    await expect(activity).to_contain_text("отложил(а) диалог до 04.05.2031, 09:30")
    conv = await hub.call("GET", f"/api/v1/conversations/{conv_id}")
    assert conv["snoozed_until"].startswith("2031-05-04T06:30")  # 09:30 in Moscow
    # In English too: the hub's ISO time is told again as people write it.
    await page.click("header [data-lang-switch]")
    await expect(activity).to_contain_text("snoozed the conversation until 5/4/31, 9:30")
    await expect(activity).not_to_contain_text("2031-05-04T")
    await expect(page.locator("#c-first")).to_contain_text("Moscow, Russia")
    await page.click("header [data-lang-switch]")

    # An error the hub answers (a time already past) is a Russian toast.
    await page.click("#act-snooze")
    await page.fill("#snooze-form [name=until]", "2020-01-01T09:00")
    await page.click("#snooze-form button[type=submit]")
    await expect(page.locator("#toast")).to_have_text(
        "Это время уже прошло: выберите время в будущем"
    )

    # The manager's contact page: a deal on the Russian pipeline, a task, where he came from.
    [lead] = (await hub.call("GET", "/api/v1/leads"))["items"]
    deal = await hub.call("POST", f"/api/v1/leads/{lead['id']}/qualify", 201)
    await hub.call(
        "POST",
        "/api/v1/tasks",
        201,
        json={
            "title": "Перезвонить про доставку",
            "contact_id": contact_id,
            "due_at": "2031-05-05T07:00:00Z",
        },
    )
    await page.goto(f"{hub.url}/inbox/contacts/{contact_id}")
    await page.wait_for_selector(f"body[data-contact-page='{contact_id}']", state="attached")
    online = page.locator("#cp-online")
    await expect(online).to_contain_text("Печи для бани")
    await expect(online).to_contain_text(
        "ПечиПро · Москва, Россия · Chrome 131 · Android · телефон"
    )
    # The free databases' licences ask for a credit where their cities are shown.
    await expect(online.locator("a.geo-credit")).to_have_attribute(
        "href", "https://www.maxmind.com"
    )
    assert deal["title"] == f"Клиент #{contact_id}"
    await expect(page.locator("#cp-deals")).to_contain_text(deal["title"])
    await expect(page.locator("#cp-deals .stage-pill")).to_have_text("Новая")
    await expect(page.locator("#cp-tasks")).to_contain_text("Перезвонить про доставку")
    await expect(page.locator("#cp-tasks")).to_contain_text("05.05.2031, 10:00")
    touches = page.locator("#cp-touches")
    await expect(touches).to_contain_text("Москва, Россия")
    await expect(touches).to_contain_text("yandex")
    await expect(touches).to_contain_text("zima")
    await expect(touches.locator("a", has_text="Печи для бани")).to_have_attribute(
        "href", "https://pechi.example/bani?utm_source=yandex&utm_campaign=zima&utm_medium=cpc"
    )
    await expect(touches).not_to_contain_text("utm_source=")
    await expect(page.locator("#cp-fields")).to_contain_text("ПечиПро: Посетитель #")
    await expect(page.locator("#cp-timeline")).to_contain_text("Сколько стоит печь для бани?")
    path = screenshot_path("contact-page-ru.png")
    if path:
        await page.screenshot(path=path, full_page=True)

    # The board: the installation's Russian stages, and «+ Сделка» for this customer.
    await page.goto(hub.url + "/inbox/deals")
    heads = page.locator("#board .col-head strong")
    await expect(heads).to_have_text(
        [
            "Новая",
            "Квалифицирована",
            "КП отправлено",
            "Переговоры",
            "Договор",
            "Успешно",
            "Проиграна",
        ]
    )
    await expect(page.locator("#new-deal-btn")).to_have_text("+ Сделка")
    await page.click("#new-deal-btn")
    await page.fill("#new-deal-form [name=q]", "печь для бани")
    await expect(page.locator("#new-deal-form [name=contact_id] option")).to_have_text(
        [f"Клиент #{contact_id} · ПечиПро"]
    )
    await page.fill("#new-deal-form [name=title]", "Камин в гостиную")
    await page.fill("#new-deal-form [name=amount]", "150 000")
    await page.select_option("#new-deal-form [name=stage_id]", label="КП отправлено")
    await page.click("#new-deal-form button[type=submit]")
    await expect(page.locator("#d-title")).to_have_text("Камин в гостиную")
    made = await hub.call("GET", f"/api/v1/deals/{int(page.url.rsplit('/', 1)[1])}")
    assert (made["contact_id"], made["amount"], made["stage"]["name"]) == (
        contact_id,
        "150000.00",
        "КП отправлено",
    )

    # A customer the hub has not met: nobody found by his phone, so «+ Новый клиент» makes him
    # with the deal (the phone typed in the search comes along); then the same phone in any
    # spelling finds him, and making him again picks him instead of a second card.
    await page.goto(hub.url + "/inbox/deals")
    await page.click("#new-deal-btn")
    await page.fill("#new-deal-form [name=q]", "8 (903) 111-22-33")
    options = page.locator("#new-deal-form [name=contact_id] option")
    await expect(options).to_have_text(["Никого не нашли: создайте нового клиента"])
    await page.click("#new-contact-btn")
    await expect(page.locator("#new-contact legend")).to_have_text("Новый клиент")
    await expect(page.locator("#new-deal-form [name=nc_phone]")).to_have_value("8 (903) 111-22-33")
    await page.fill("#new-deal-form [name=nc_name]", "Ольга Смирнова")
    await page.click("#new-deal-form button[type=submit]")
    await expect(page.locator("#d-title")).to_have_text("Ольга Смирнова")
    olga = await hub.call("GET", f"/api/v1/deals/{int(page.url.rsplit('/', 1)[1])}")
    card = await hub.call("GET", f"/api/v1/contacts/{olga['contact_id']}")
    assert card["name"] == "Ольга Смирнова" and card["phones"] == ["+79031112233"]
    await page.goto(hub.url + "/inbox/deals")
    await page.click("#new-deal-btn")
    await page.fill("#new-deal-form [name=q]", "+7 903 111 22 33")
    await expect(options).to_have_text(["Ольга Смирнова · +79031112233"])
    await page.fill("#new-deal-form [name=q]", "903111")
    await page.click("#new-contact-btn")
    await page.fill("#new-deal-form [name=nc_name]", "Оля")
    await page.fill("#new-deal-form [name=nc_phone]", "+79031112233")
    await page.click("#new-deal-form button[type=submit]")
    await expect(page.locator("#toast")).to_have_text(
        "Такой клиент уже есть: выберите его в списке"
    )
    await expect(options).to_have_text(["Ольга Смирнова · +79031112233"])
    await expect(page.locator("#new-contact")).to_be_hidden()
    assert errors == []


async def test_a_390px_phone_scrolls_no_page_sideways(browser: Any, hub: Hub) -> None:
    anna = await person(hub, "Анна Смирнова", "admin")
    channel = await hub.widget_channel("ПечиПро")
    await visitor_writes(hub, channel, "Здравствуйте! Есть печи в наличии? " * 3)
    page, errors = await log_in(browser, hub, anna, PHONE)
    logout = page.locator("#logout")
    await expect(logout).to_have_text("Выйти")
    await expect(logout).to_be_in_viewport(ratio=1)
    await page.click("[data-assignee=all]")
    await fits(page)
    await row(page, "Посетитель").first.click()
    await expect(page.locator("#conv")).to_be_visible()
    await fits(page)
    await expect(logout).to_be_in_viewport(ratio=1)
    path = screenshot_path("inbox-phone-ru.png")
    if path:
        await page.screenshot(path=path)
    conv_id = await hub.conversation_id(channel["id"])
    contact_id = (await hub.call("GET", f"/api/v1/conversations/{conv_id}"))["contact_id"]
    deal = await hub.call("POST", "/api/v1/deals", 201, json={"contact_id": contact_id})
    drawn = {  # what shows each page has drawn what it loads
        f"/inbox/contacts/{contact_id}": f"body[data-contact-page='{contact_id}']",
        "/inbox/deals": "#board .column",
        f"/inbox/deals/{deal['id']}": "#d-title:not(:empty)",
        "/inbox/reports": "body[data-loaded='true']",
    }
    for path, ready in drawn.items():
        await page.goto(hub.url + path)
        await page.wait_for_selector(ready, state="attached")
        await fits(page)
    assert errors == []


async def test_a_1280px_laptop_shows_the_whole_russian_header(browser: Any, hub: Hub) -> None:
    """An admin's header in Russian holds every link an admin has; on a 1280 px laptop it did
    not fit one line and pushed «Выйти» off the screen: it fits (and would wrap, not overflow)."""
    anna = await person(hub, "Анна Смирнова", "admin")
    page, errors = await log_in(browser, hub, anna, {"width": 1280, "height": 800})
    logout = page.locator("#logout")
    await expect(logout).to_have_text("Выйти")
    await expect(page.locator("#admin-link")).to_be_visible()
    await expect(logout).to_be_in_viewport(ratio=1)
    await fits(page)
    # One line: the name and role give way below a wide screen; «Выйти» tells them on hover.
    brand, out = await page.locator(".top .brand").bounding_box(), await logout.bounding_box()
    assert brand is not None and out is not None
    assert abs(brand["y"] + brand["height"] / 2 - (out["y"] + out["height"] / 2)) < 4
    await expect(logout).to_have_attribute("title", "Анна Смирнова · администратор")
    assert errors == []
