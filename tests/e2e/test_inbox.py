"""The operator inbox (``/inbox``) in a real browser against the real hub.

An operator logs in through the form, sees a customer's message arrive live in the list and in the
open conversation, replies and writes a note (marked as one), transfers with a handoff note, and
never sees another team's conversations; what customers write is shown as text and runs nothing.
With ``HUB_SCREENSHOTS_DIR`` set the main screens are saved in both languages.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from hub.events import ConversationTyping, Recipients
from hub.http import CTX, REALTIME
from hub.inbox.models import Contact
from hub.inbox.staff import create_operator, create_team
from tests.e2e.conftest import Hub, screenshot_path
from tests.e2e.pw import expect

pytestmark = pytest.mark.timeout(90)

_counter = itertools.count(1)
LAPTOP = {"width": 1366, "height": 800}
TABLET = {"width": 1024, "height": 768}


@dataclass
class Person:
    id: int
    name: str
    email: str
    password: str


async def person(hub: Hub, name: str, role: str, team_ids: list[int] | None = None) -> Person:
    n = next(_counter)
    email, password = f"inbox{n}@example.com", f"password-{n}-long-enough"
    created = await create_operator(
        hub.app[CTX], email=email, name=name, role=role, password=password, team_ids=team_ids
    )
    return Person(int(created.operator["id"]), name, email, password)


async def team(hub: Hub, name: str) -> int:
    return int((await create_team(hub.app[CTX], None, name))["id"])


async def api_channel(hub: Hub, name: str, team_id: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "api", "name": name}
    if team_id is not None:
        body["team_id"] = team_id
    return dict(await hub.call("POST", "/api/v1/channels", 201, json=body))


async def customer_says(
    hub: Hub, channel: dict[str, Any], body: str, *, external_id: str = "c-1", name: str = "Ivan"
) -> dict[str, Any]:
    payload = {"contact": {"external_id": external_id, "name": name}, "body": body}
    return dict(
        await hub.call(
            "POST",
            f"/api/v1/channels/{channel['id']}/inbound",
            201,
            json=payload,
            headers={"Authorization": f"Bearer {channel['secret']}"},
        )
    )


async def open_inbox(
    browser: Any, hub: Hub, who: Person, *, lang: str = "en", viewport: dict[str, int] = LAPTOP
) -> tuple[Any, list[str]]:
    """A page logged in through the form; the list of its uncaught errors."""
    ctx = await browser.new_context(
        locale="ru-RU" if lang == "ru" else "en-US",
        viewport=viewport,
        reduced_motion="reduce",
        timezone_id="Europe/Moscow",
    )
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type == "error" and "401" not in m.text else None,
    )
    await page.goto(hub.url + "/inbox")
    await expect(page.locator("#login-form")).to_be_visible()
    await page.fill("#login-form [name=email]", who.email)
    await page.fill("#login-form [name=password]", who.password)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#app")).to_be_visible()
    await expect(page.locator("#me")).to_contain_text(who.name)
    await ws_ready(page)
    return page, errors


async def ws_ready(page: Any) -> None:
    """Wait until the page's operator socket is open (events from now on arrive live)."""
    await page.wait_for_selector("body[data-live='1']", state="attached")


def row(page: Any, text: str) -> Any:
    return page.locator("#conv-list .conv-row", has_text=text)


async def shot(page: Any, name: str) -> None:
    path = screenshot_path(name)
    if path:
        await page.screenshot(path=path)


async def test_login_live_message_reply_and_note(browser: Any, hub: Hub) -> None:
    anna = await person(hub, "Anna Smirnova", "admin")
    channel = await api_channel(hub, "Shop API")
    page, errors = await open_inbox(browser, hub, anna)
    await expect(page.locator("[data-assignee=all]")).to_be_visible()  # an admin sees All
    await page.click("[data-assignee=unassigned]")
    await expect(page.locator("#list-empty")).to_be_visible()

    # A customer writes: the conversation appears in the list without a reload.
    said = await customer_says(hub, channel, "Hello, is the stove in stock?", name="Ivan Petrov")
    conv_id = said["conversation"]["id"]
    await expect(row(page, "Ivan Petrov")).to_contain_text("Hello, is the stove in stock?")
    await expect(row(page, "Ivan Petrov").locator(".unread")).to_have_text("1")
    await expect(row(page, "Ivan Petrov").locator(".badge")).to_have_text("API")
    await row(page, "Ivan Petrov").click()
    incoming = page.locator("#messages .msg.incoming .body")
    await expect(incoming).to_have_text(["Hello, is the stove in stock?"])

    # His next message arrives in the open conversation and updates the row.
    await customer_says(hub, channel, "And the delivery to Tver?", name="Ivan Petrov")
    await expect(incoming).to_have_text(
        ["Hello, is the stove in stock?", "And the delivery to Tver?"]
    )
    await expect(row(page, "Ivan Petrov")).to_contain_text("And the delivery to Tver?")
    # Read as it arrives in the conversation he has open: no badge for him.
    await expect(row(page, "Ivan Petrov").locator(".unread")).to_have_count(0)

    # A reply: Enter sends, Shift+Enter is a new line.
    composer = page.locator("#body")
    await composer.click()
    await composer.type("Yes, in stock.")
    await composer.press("Shift+Enter")
    await composer.type("Delivery takes 2 days.")
    await composer.press("Enter")
    outgoing = page.locator("#messages .msg.outgoing .body")
    await expect(outgoing).to_have_text(["Yes, in stock.\nDelivery takes 2 days."])
    await expect(composer).to_have_value("")
    await expect(row(page, "Ivan Petrov").locator(".unread")).to_have_count(0)

    # Note mode is unmistakable before sending, and the note is shown as a note.
    await page.click("#composer [data-mode=note]")
    await expect(page.locator("#composer")).to_have_class(re.compile(r"\bnote-mode\b"))
    await expect(page.locator("#send")).to_have_text("Add note")
    await expect(page.locator("#mode-hint")).to_have_text("Only operators see internal notes")
    await composer.fill("VIP customer, offer a discount")
    await composer.press("Enter")
    note = page.locator("#messages .msg.note")
    await expect(note.locator(".body")).to_have_text("VIP customer, offer a discount")
    await expect(note.locator(".note-label")).to_have_text("Internal note")
    bg = await note.evaluate("n => getComputedStyle(n).backgroundColor")
    out_bg = await page.locator("#messages .msg.outgoing").evaluate(
        "n => getComputedStyle(n).backgroundColor"
    )
    assert bg != out_bg
    await shot(page, "inbox-conversation-en.png")

    # The hub stored a reply and a private note; the note has no delivery to the customer.
    msgs = await hub.messages(conv_id)
    kinds = [(m["kind"], m["private"], m["body"]) for m in msgs]
    assert ("note", True, "VIP customer, offer a discount") in kinds
    assert ("outgoing", False, "Yes, in stock.\nDelivery takes 2 days.") in kinds
    assert all(m["delivery"] is None for m in msgs if m["kind"] == "note")

    # Keyboard: r goes back to reply mode and focuses the composer; e resolves.
    await page.locator("body").click(position={"x": 5, "y": 300})
    await page.keyboard.press("Escape")
    await page.locator("#messages").click()
    await page.keyboard.press("r")
    await expect(page.locator("#composer")).to_have_class(re.compile(r"\breply-mode\b"))
    await expect(composer).to_be_focused()
    await page.keyboard.press("Escape")
    await page.keyboard.press("e")
    await expect(page.locator("#conv-meta")).to_contain_text("Resolved")
    await expect(page.locator("#messages .msg.activity")).to_contain_text(["resolved"])
    await expect(row(page, "Ivan Petrov")).to_have_count(0)  # gone from the Open tab

    # The session survives a reload and the open conversation comes back.
    await page.reload()
    await expect(page.locator("#app")).to_be_visible()
    await expect(page.locator("#messages .msg.note .body")).to_have_text(
        "VIP customer, offer a discount"
    )
    assert errors == []


async def test_transfer_with_a_note_leaves_my_list(browser: Any, hub: Hub) -> None:
    sales = await team(hub, "Sales")
    oleg = await person(hub, "Oleg", "operator", [sales])
    maria = await person(hub, "Maria", "operator", [sales])
    channel = await api_channel(hub, "Sales API", sales)
    said = await customer_says(hub, channel, "I want a discount", name="Pyotr")
    conv_id = said["conversation"]["id"]
    page, errors = await open_inbox(browser, hub, oleg)
    await expect(page.locator("[data-assignee=all]")).to_be_hidden()  # an operator has no All
    # Nothing in Mine and a chat waiting: the inbox opens on Unassigned.
    await expect(page.locator("[data-assignee=unassigned]")).to_have_class(re.compile(r"\bon\b"))
    await row(page, "Pyotr").click()
    await page.click("#act-take")
    await expect(page.locator("#conv-meta")).to_contain_text("Assignee: Oleg")
    await page.click("[data-assignee=me]")
    await expect(row(page, "Pyotr")).to_be_visible()

    await page.click("#act-transfer")
    await page.select_option("#transfer-form [name=operator]", str(maria.id))
    await page.fill("#transfer-form [name=note]", "wants a 10% discount, see the note")
    await page.click("#transfer-form button[type=submit]")
    activity = page.locator("#messages .msg.activity")
    await expect(activity.last).to_contain_text(
        "Oleg transferred to Maria: wants a 10% discount, see the note"
    )
    await expect(row(page, "Pyotr")).to_have_count(0)  # no longer in Oleg's Mine list
    await expect(page.locator("#conv-meta")).to_contain_text("Assignee: Maria")
    conv = await hub.call("GET", f"/api/v1/conversations/{conv_id}")
    assert conv["assignee_id"] == maria.id
    assert errors == []


async def test_snooze_reopen_and_transfer_to_a_team(browser: Any, hub: Hub) -> None:
    support = await team(hub, "Support")
    anna = await person(hub, "Anna", "manager")
    channel = await api_channel(hub, "Shop API")
    said = await customer_says(hub, channel, "call me tomorrow", name="Ivan")
    conv_id = said["conversation"]["id"]
    page, errors = await open_inbox(browser, hub, anna)
    await page.click("[data-assignee=all]")
    await row(page, "Ivan").click()
    # The customer types (the widget channel publishes this event): shown until he sends.
    await hub.app[CTX].publish(ConversationTyping(Recipients.for_conversation(None, None), conv_id))
    await expect(page.locator("#typing")).to_have_text("The customer is typing…")
    await customer_says(hub, channel, "at 10, please", name="Ivan")
    await expect(page.locator("#typing")).to_be_hidden()
    await page.click("#act-snooze")
    await page.fill("#snooze-form [name=until]", "2031-05-04T09:30")
    await page.click("#snooze-form button[type=submit]")
    await expect(page.locator("#conv-meta")).to_contain_text("Snoozed")
    await expect(row(page, "Ivan")).to_have_count(0)  # left the Open tab
    await page.click("[data-status=snoozed]")
    await expect(row(page, "Ivan")).to_be_visible()
    conv = await hub.call("GET", f"/api/v1/conversations/{conv_id}")
    assert conv["status"] == "snoozed" and conv["snoozed_until"].startswith(
        "2031-05-04T06:30"
    )  # Moscow 09:30
    await page.click("#act-reopen")
    await expect(page.locator("#conv-meta")).to_contain_text("Open")
    await expect(row(page, "Ivan")).to_have_count(0)
    await page.click("#act-transfer")
    await page.select_option("#transfer-form [name=operator]", "")
    await page.select_option("#transfer-form [name=team]", str(support))
    await page.fill("#transfer-form [name=note]", "for support")
    await page.click("#transfer-form button[type=submit]")
    await expect(page.locator("#messages .msg.activity").last).to_contain_text(
        "team Support: for support"
    )
    conv = await hub.call("GET", f"/api/v1/conversations/{conv_id}")
    assert conv["team_id"] == support and conv["status"] == "open"
    assert errors == []


async def test_long_history_pages_back(browser: Any, hub: Hub) -> None:
    anna = await person(hub, "Anna", "admin")
    channel = await api_channel(hub, "Shop API")
    for n in range(1, 106):
        await customer_says(hub, channel, f"message {n}", name="Chatty")
    page, errors = await open_inbox(browser, hub, anna)
    await page.click("[data-assignee=unassigned]")
    await row(page, "Chatty").click()
    bodies = page.locator("#messages .msg.incoming .body")
    await expect(bodies).to_have_count(100)
    await expect(bodies.first).to_have_text("message 6")
    await expect(bodies.last).to_have_text("message 105")
    await page.click("#load-earlier")
    await expect(bodies).to_have_count(105)
    await expect(bodies.first).to_have_text("message 1")
    await expect(page.locator("#load-earlier")).to_be_hidden()
    assert errors == []


async def test_an_operator_does_not_see_another_teams_conversations(browser: Any, hub: Hub) -> None:
    north, south = await team(hub, "North"), await team(hub, "South")
    nina = await person(hub, "Nina", "operator", [north])
    north_ch = await api_channel(hub, "North API", north)
    south_ch = await api_channel(hub, "South API", south)
    await customer_says(hub, south_ch, "south secret", external_id="s-1", name="Southerner")
    await customer_says(hub, north_ch, "north hello", external_id="n-1", name="Northerner")
    page, errors = await open_inbox(browser, hub, nina)
    await page.click("[data-assignee=unassigned]")
    await expect(row(page, "Northerner")).to_be_visible()
    await expect(row(page, "Southerner")).to_have_count(0)
    # Live, too: the other team's new conversation never reaches her page.
    await customer_says(hub, south_ch, "another south secret", external_id="s-2", name="Sam")
    await customer_says(hub, north_ch, "north again", external_id="n-2", name="Nora")
    await expect(row(page, "Nora")).to_be_visible()
    await expect(row(page, "Sam")).to_have_count(0)
    # j / k walk the list.
    await page.keyboard.press("j")
    await expect(page.locator("#conv-name")).to_have_text("Nora")
    await page.keyboard.press("j")
    await expect(page.locator("#conv-name")).to_have_text("Northerner")
    await page.keyboard.press("k")
    await expect(page.locator("#conv-name")).to_have_text("Nora")
    await page.fill("#search", "secret")
    await expect(page.locator("#list-empty")).to_be_visible()
    assert "secret" not in await page.locator("#conv-list").inner_text()
    assert errors == []


async def test_customer_html_is_text_and_runs_nothing(browser: Any, hub: Hub) -> None:
    anna = await person(hub, "Anna", "admin")
    channel = await api_channel(hub, "Shop API")
    page, errors = await open_inbox(browser, hub, anna)
    await page.click("[data-assignee=unassigned]")
    evil = (
        '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> <b>bold?</b>'
    )
    await customer_says(hub, channel, evil, name='<img src=x onerror="window.__pwned=3">Eve')
    the_row = page.locator("#conv-list .conv-row").first
    await expect(the_row.locator(".row-preview")).to_contain_text("<script>window.__pwned = 1")
    await expect(the_row.locator(".row-name")).to_have_text(
        '<img src=x onerror="window.__pwned=3">Eve'
    )
    await the_row.click()
    await expect(page.locator("#messages .msg.incoming .body")).to_have_text(evil)
    await expect(page.locator("#conv-name")).to_have_text(
        '<img src=x onerror="window.__pwned=3">Eve'
    )
    # A failing image of the same address, made here: by the time its error handler has run,
    # that of any such image the page made from the customer's text has run too. Its 404 is
    # the one console error to expect.
    async with page.expect_console_message(lambda m: "404" in m.text) as probe_404:
        await page.evaluate(
            "() => new Promise((done) => { const probe = new Image(); probe.onerror = done;"
            " probe.src = 'x'; })"
        )
    errors.remove((await probe_404.value).text)
    assert await page.evaluate("() => window.__pwned") is None
    assert await page.locator("#app img, #app script, #app b").count() == 0
    assert errors == []


async def test_reconnects_after_a_lost_connection_and_misses_nothing(
    browser: Any, hub: Hub
) -> None:
    anna = await person(hub, "Anna", "admin")
    channel = await api_channel(hub, "Shop API")
    page, errors = await open_inbox(browser, hub, anna)
    await page.click("[data-assignee=unassigned]")
    await customer_says(hub, channel, "first", name="Ivan")
    await row(page, "Ivan").click()
    await expect(page.locator("#messages .msg.incoming .body")).to_have_text(["first"])
    realtime = hub.app[REALTIME]
    await realtime.close()  # every socket is closed (1001); the page must come back by itself
    await expect(page.locator("#banner")).to_be_visible()
    await expect(page.locator("#banner")).to_have_text("Connection lost, reconnecting…")
    await customer_says(hub, channel, "while you were away", name="Ivan")
    await realtime.start()
    await expect(page.locator("#banner")).to_be_hidden(timeout=10_000)
    await expect(page.locator("#messages .msg.incoming .body")).to_have_text(
        ["first", "while you were away"], timeout=10_000
    )
    await customer_says(hub, channel, "and live again", name="Ivan")
    await expect(page.locator("#messages .msg.incoming .body")).to_have_text(
        ["first", "while you were away", "and live again"]
    )
    assert [e for e in errors if "WebSocket" not in e] == []


async def _seed_touches(hub: Hub, contact_id: int) -> None:
    async def unit(session: AsyncSession) -> None:
        contact = await session.get(Contact, contact_id)
        assert contact is not None
        contact.attributes = {
            "first_touch": {
                "url": "https://pechi.example/catalog?utm_source=yandex&utm_campaign=winter",
                "title": "Печи для бани — каталог",
                "utm_source": "yandex",
                "utm_campaign": "winter",
            },
            "last_touch": {"url": "https://pechi.example/delivery", "title": "Доставка"},
        }

    await hub.app[CTX].write(unit)


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_main_screens(browser: Any, hub: Hub, lang: str) -> None:
    """The login form, the inbox with a conversation and contact, note mode, tablet width and
    the contact page, in each language (saved as docs/screenshots/inbox-*.png on demand)."""
    anna = await person(hub, "Анна Смирнова" if lang == "ru" else "Anna Smirnova", "admin")
    oleg = await person(hub, "Олег" if lang == "ru" else "Oleg", "operator")
    channel = await api_channel(hub, "Сайт ПечиПро" if lang == "ru" else "Shop API")
    texts = {
        "ru": ["Здравствуйте! Печь «Гефест 25» есть в наличии?", "А доставка в Тверь?"],
        "en": ["Hello! Is the Gefest 25 stove in stock?", "And delivery to Tver?"],
    }[lang]
    names = {
        "ru": ["Иван Петров", "Мария К.", "ООО «Баня»"],
        "en": ["Ivan Petrov", "Maria K.", "Banya Ltd"],
    }[lang]
    said = await customer_says(hub, channel, texts[0], name=names[0])
    conv_id = said["conversation"]["id"]
    await _seed_touches(hub, said["conversation"]["contact_id"])
    await customer_says(hub, channel, texts[1], name=names[0])
    await customer_says(
        hub, channel, "…" if lang == "ru" else "Thanks!", external_id="c-2", name=names[1]
    )
    await customer_says(
        hub,
        channel,
        "Счёт на оплату" if lang == "ru" else "Invoice, please",
        external_id="c-3",
        name=names[2],
    )
    reply = "Да, есть. Доставка 2 дня." if lang == "ru" else "Yes, it is. Delivery takes 2 days."
    await hub.reply(conv_id, reply)
    note = "Постоянный клиент — скидка 5%" if lang == "ru" else "Returning customer: 5% off"
    await hub.reply(conv_id, note, private=True)
    await hub.call(
        "POST",
        f"/api/v1/conversations/{conv_id}/assign",
        json={
            "operator_id": oleg.id,
            "note": "звонить после 18:00" if lang == "ru" else "call after 6 pm",
        },
    )

    ctx = await browser.new_context(
        locale="ru-RU" if lang == "ru" else "en-US", viewport=LAPTOP, reduced_motion="reduce"
    )
    page = await ctx.new_page()
    await page.goto(hub.url + "/inbox")
    await expect(page.locator("#login-form")).to_be_visible()
    await expect(page.locator("#login-form button[type=submit]")).to_have_text(
        "Войти" if lang == "ru" else "Log in"
    )
    await shot(page, f"inbox-login-{lang}.png")
    await page.fill("#login-form [name=email]", anna.email)
    await page.fill("#login-form [name=password]", anna.password)
    await page.click("#login-form button[type=submit]")
    await page.click("[data-assignee=all]")
    await expect(page.locator("#conv-list .conv-row")).to_have_count(3)
    await row(page, names[0]).click()
    await expect(page.locator("#messages .msg.note .note-label")).to_have_text(
        "Внутренняя заметка" if lang == "ru" else "Internal note"
    )
    # The hub writes activities in English; the Russian page tells them again from their meta.
    await expect(page.locator("#messages .msg.activity .body")).to_contain_text(
        ["назначил(а) диалог: Олег — звонить после 18:00"]
        if lang == "ru"
        else ["assigned to Oleg: call after 6 pm"]
    )
    await expect(page.locator("#c-first")).to_contain_text("yandex")
    await shot(page, f"inbox-conversation-{lang}.png")
    await page.click("#composer [data-mode=note]")
    await page.fill("#body", "Проверить остаток на складе" if lang == "ru" else "Check the stock")
    await shot(page, f"inbox-note-mode-{lang}.png")
    await page.click("#act-transfer")
    await shot(page, f"inbox-transfer-{lang}.png")
    await page.set_viewport_size(TABLET)
    await page.keyboard.press("Escape")
    await expect(page.locator("#contact-pane")).to_be_hidden()  # no room beside the messages
    await shot(page, f"inbox-tablet-{lang}.png")
    await page.click("#act-contact")
    await expect(page.locator("#contact-pane")).to_be_visible()
    await shot(page, f"inbox-tablet-contact-{lang}.png")
    await page.click("#c-close")
    await expect(page.locator("#contact-pane")).to_be_hidden()
    await page.set_viewport_size(LAPTOP)
    await page.goto(f"{hub.url}/inbox/contacts/{said['conversation']['contact_id']}")
    await expect(page.locator("#cp-timeline .msg")).to_have_count(5)
    await shot(page, f"inbox-contact-{lang}.png")
