"""The website chat widget in a real browser against the real hub.

What a visitor does on a site that embeds ``widget/hub-widget.js``: open the chat, write, get the
operator's answer (never an internal note), reload and keep the history, lose the connection and
lose or double nothing, use it at phone width and by keyboard, while the host page's own script
and styles neither break it nor get broken by it.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from tests.e2e.conftest import Hub, identifier_hash, screenshot_path
from tests.e2e.pw import expect
from tests.helpers import FRAME_CAP_S

pytestmark = pytest.mark.timeout(90)

W = "hub-widget"  # the widget's host element; playwright's CSS engine pierces its open shadow root
GREETING = "Здравствуйте! Подскажем с выбором печи — спрашивайте."
DEMO = {"demo": True, "color": "#c2410c"}  # the channel the demo page at / embeds


async def new_page(browser: Any, *, quiet: bool = True, **context: Any) -> tuple[Any, list[str]]:
    """A page and the list of its uncaught errors (and, when ``quiet``, the widget's warnings)."""
    context.setdefault("reduced_motion", "reduce")  # no slide-in: boxes are measured at once
    ctx = await browser.new_context(locale=context.pop("locale", "ru-RU"), **context)
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    if quiet:
        page.on("console", lambda m: errors.append(m.text) if "[hub widget]" in m.text else None)
    return page, errors


async def serve_page(page: Any, url: str, html: str) -> None:
    """Answer ``url`` with ``html`` in this browser only: a host page on the hub's own origin."""

    async def fulfill(route: Any) -> None:
        await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

    await page.route(url, fulfill)


def host_page(
    token: str, *, lang: str = "ru", head: str = "", body: str = "", attrs: str = ""
) -> str:
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Test page</title>{head}</head><body>{body}"
        f'<script src="/widget.js" data-channel="{token}" {attrs} async></script></body></html>'
    )


async def shadow_focus(page: Any) -> str:
    """What has the focus inside the widget: 'launcher', 'textarea', 'input:<name>' or ''."""
    return str(
        await page.evaluate(
            """() => {
              const host = document.activeElement;
              if (!host || host.tagName !== 'HUB-WIDGET') return '';
              const el = host.shadowRoot.activeElement;
              if (!el) return '';
              if (el.classList.contains('la')) return 'launcher';
              if (el.tagName === 'TEXTAREA') return 'textarea';
              if (el.tagName === 'INPUT') return 'input:' + el.name;
              return el.tagName.toLowerCase();
            }"""
        )
    )


async def send(page: Any, text: str) -> None:
    await page.locator(f"{W} textarea").fill(text)
    await page.locator(f"{W} textarea").press("Enter")


def digits(text: str | None) -> str:
    return re.sub(r"\D", "", text or "")


async def test_demo_page_chat_with_operator(browser: Any, hub: Hub) -> None:
    channel = await hub.widget_channel(**DEMO, greeting={"text": GREETING, "delay_s": 30})
    operator_ws = await hub.go_online(hub.admin)  # type: ignore[arg-type]
    page, errors = await new_page(browser, viewport={"width": 1280, "height": 800})
    await page.goto(hub.url + "/?utm_source=yandex&utm_medium=cpc&utm_campaign=pechi&yclid=777")
    await expect(page).to_have_title(re.compile("ПечиПро"))
    await expect(page.locator("a[href='/inbox']")).to_have_text("Вход для операторов")

    launcher = page.locator(f"{W} .la")
    await expect(launcher).to_be_visible()
    await expect(launcher).to_have_attribute("aria-label", "Открыть чат")

    # The host page's own inline script still runs beside the widget.
    await page.click("#calc-btn")
    assert digits(await page.text_content("#calc-total")) == "56900"

    # Keyboard: the launcher is focusable; Enter opens and moves the focus into the window.
    await launcher.focus()
    await page.keyboard.press("Enter")
    window = page.locator(f"{W} .win")
    await expect(window).to_be_visible()
    assert await shadow_focus(page) == "textarea"
    await expect(page.locator(f"{W} .ti")).to_have_text("ПечиПро")
    await expect(page.locator(f"{W} .su")).to_have_text("Операторы на связи")
    await expect(page.locator(f"{W} .m.gr")).to_have_text(re.compile("Подскажем с выбором"))

    await page.keyboard.type("Здравствуйте! Сколько стоит монтаж камина?")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("И дымоход на 5 метров.")
    await page.keyboard.press("Enter")
    mine = page.locator(f"{W} .m.out")
    await expect(mine).to_have_count(1)
    await expect(mine).not_to_have_class(re.compile(r"\bpe\b"))  # acknowledged by the hub
    await expect(mine.locator(".bu")).to_have_text(
        "Здравствуйте! Сколько стоит монтаж камина?\nИ дымоход на 5 метров."
    )

    conv = await hub.conversation_id(channel["id"])
    await operator_ws.send_json({"type": "typing", "conversation_id": conv})
    typing = page.locator(f"{W} .ty")
    await expect(typing).to_have_text("Анна Смирнова печатает…")

    await hub.reply(conv, "Добрый день! Монтаж камина — от 18 000 ₽, замер бесплатно.")
    replies = page.locator(f"{W} .m.in:not(.gr)")
    await expect(replies).to_have_count(1)
    await expect(replies.first).to_contain_text("Монтаж камина — от 18 000 ₽")
    await expect(replies.first.locator(".who")).to_have_text("Анна Смирнова")
    await expect(typing).to_be_hidden()
    await expect(page.locator(f"{W} .su")).to_contain_text("Анна Смирнова")

    # An internal note never reaches the visitor: the next normal reply arrives, the note not.
    await hub.reply(conv, "Заметка: клиент пришёл с рекламы, дать скидку 5%", private=True)
    await hub.reply(conv, "Подскажите, когда удобно принять замерщика?")
    await expect(replies).to_have_count(2)
    assert "скидку" not in await page.locator(f"{W} .li").inner_text()

    if path := screenshot_path("widget-desktop-ru.png"):
        await page.screenshot(path=path)

    # Reload: the same visitor, the whole history once, still without the note.
    await page.reload()
    await expect(page.locator(f"{W} .m.out")).to_have_count(1)
    await expect(page.locator(f"{W} .m.in:not(.gr)")).to_have_count(2)
    await expect(page.locator(f"{W} .m.gr")).to_have_count(0)  # the greeting is not history
    assert "скидку" not in await page.locator(f"{W} .li").inner_text()
    assert len(await hub.conversations(channel["id"])) == 1

    # Esc closes and gives the focus back to the launcher.
    await expect(page.locator(f"{W} .win")).to_be_visible()  # it stays open across navigation
    await page.locator(f"{W} textarea").focus()
    await page.keyboard.press("Escape")
    await expect(page.locator(f"{W} .win")).to_be_hidden()
    assert await shadow_focus(page) == "launcher"

    # A reply while the window is closed: the unread badge and a preview beside the launcher.
    await hub.reply(conv, "Мы на связи до 21:00.")
    await expect(page.locator(f"{W} .bd")).to_have_text("1")
    await expect(page.locator(f"{W} .te")).to_contain_text("Мы на связи до 21:00.")
    await page.locator(f"{W} .la").click()
    await expect(page.locator(f"{W} .bd")).to_be_hidden()

    await page.click("#calc-btn")
    assert digits(await page.text_content("#calc-total")) == "56900"

    # Navigation keeps the conversation; the hub keeps the first touch and updates the last.
    await page.goto(hub.url + "/?utm_source=google&gclid=abc#catalog")
    await expect(page.locator(f"{W} .m.in:not(.gr)")).to_have_count(3)
    contact_id = (await hub.call("GET", f"/api/v1/conversations/{conv}"))["contact_id"]
    attrs = (await hub.call("GET", f"/api/v1/contacts/{contact_id}"))["attributes"]
    first, last = attrs["first_touch"], attrs["last_touch"]
    assert [first["utm_source"], first["utm_campaign"], first["yclid"]] == [
        "yandex",
        "pechi",
        "777",
    ]
    assert (last["utm_source"], last["gclid"], last["title"]) == (
        "google",
        "abc",
        "ПечиПро — печи и камины в Москве",
    )
    assert errors == []


async def test_phone_width(browser: Any, hub: Hub) -> None:
    channel = await hub.widget_channel(**DEMO)
    await hub.go_online(hub.admin)  # type: ignore[arg-type]
    page, errors = await new_page(
        browser,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    await page.goto(hub.url + "/")
    await page.locator(f"{W} .la").tap()
    window = page.locator(f"{W} .win")
    await expect(window).to_be_visible()
    box = await window.bounding_box()
    assert box == {"x": 0, "y": 0, "width": 390, "height": 844}, box
    await expect(page.locator(f"{W} .la")).to_be_hidden()  # the window covers the screen

    await send(page, "Добрый день, есть печь для бани 12 м³ в наличии?")
    await expect(page.locator(f"{W} .m.out:not(.pe)")).to_have_count(1)
    conv = await hub.conversation_id(channel["id"])
    await hub.reply(conv, "Здравствуйте! Да, «Теплодар Русь 12» есть на складе, доставим завтра.")
    await expect(page.locator(f"{W} .m.in")).to_contain_text("Теплодар Русь 12")
    # The composer and the send button stay on screen.
    send_box = await page.locator(f"{W} .sd").bounding_box()
    assert send_box and send_box["y"] + send_box["height"] <= 844 and send_box["x"] + 40 <= 390
    if path := screenshot_path("widget-phone-ru.png"):
        await page.screenshot(path=path)

    await page.locator(f"{W} .hd button[aria-label='Свернуть чат']").tap()
    await expect(window).to_be_hidden()
    await expect(page.locator(f"{W} .la")).to_be_visible()
    assert errors == []


async def test_english_page(browser: Any, hub: Hub) -> None:
    channel = await hub.widget_channel("Northwind Stoves", color="#0f766e", lang="ru")
    anna = await hub.operator("Anna Smith")
    await hub.go_online(anna)
    page, errors = await new_page(browser, viewport={"width": 1280, "height": 800}, locale="en-GB")
    body = (
        "<header style='padding:18px 40px;border-bottom:1px solid #ddd;font:600 22px sans-serif'>"
        "Northwind Stoves</header>"
        "<main style='padding:40px;font:17px/1.6 sans-serif;max-width:640px'>"
        "<h1>Wood stoves and fireplaces, installed in a day</h1><p>Free survey, five-year warranty "
        "on the installation, and a chat with our engineers in the corner.</p></main>"
    )
    html = host_page(channel["website_token"], lang="en-GB", body=body)
    await serve_page(page, hub.url + "/e2e/en", html)
    await page.goto(hub.url + "/e2e/en")
    launcher = page.locator(f"{W} .la")
    await expect(launcher).to_have_attribute("aria-label", "Open chat")  # <html lang> wins
    await launcher.click()
    await expect(page.locator(f"{W} textarea")).to_have_attribute("placeholder", "Write a message…")
    await send(page, "Hello! Do you install in Surrey?")
    await expect(page.locator(f"{W} .m.out:not(.pe)")).to_have_count(1)
    conv = await hub.conversation_id(channel["id"])
    await hub.reply(conv, "Hi! Yes, we cover all of Surrey. When would a survey suit you?", op=anna)
    await expect(page.locator(f"{W} .m.in")).to_have_count(1)
    await expect(page.locator(f"{W} .su")).to_have_text("Anna Smith · operator")
    color = await page.locator(f"{W} .out .bu").evaluate("e => getComputedStyle(e).backgroundColor")
    assert color == "rgb(15, 118, 110)"
    if path := screenshot_path("widget-desktop-en.png"):
        await page.screenshot(path=path)
    assert errors == []


async def test_hostile_host_css_and_one_global(browser: Any, hub: Hub) -> None:
    channel = await hub.widget_channel("Shop")
    page, errors = await new_page(browser, viewport={"width": 1280, "height": 800})
    head = (
        "<style>* { all: unset; font-size: 40px !important; color: lime !important; }"
        "div, button, textarea { display: block !important; width: 10px !important;"
        " position: static !important; z-index: 1 !important; }"
        "html { font-size: 40px; } hub-widget { display: none; opacity: 0; }"
        "#cover { position: fixed !important; inset: 0 !important; z-index: 99999 !important;"
        " width: auto !important; }</style>"
        "<script>window.__before = Object.getOwnPropertyNames(window);"
        "window.__sheets = document.styleSheets.length;</script>"
    )
    html = host_page(
        channel["website_token"],
        head=head,
        body="<p id='own'>Our own paragraph</p>"
        "<button id='btn' onclick='this.textContent=\"ok\"'>go</button><div id='cover'></div>",
    )
    await serve_page(page, hub.url + "/e2e/hostile", html)
    await page.goto(hub.url + "/e2e/hostile")
    launcher = page.locator(f"{W} .la")
    await expect(launcher).to_be_visible()
    lb = await launcher.bounding_box()
    assert lb and lb["width"] == 60 and lb["height"] == 60
    assert lb["x"] == 1280 - 20 - 60 and lb["y"] == 800 - 20 - 60
    await launcher.click()
    window = page.locator(f"{W} .win")
    await expect(window).to_be_visible()
    wb = await window.bounding_box()
    assert wb and wb["width"] == 380 and wb["height"] == 620
    await send(page, "Проверка стилей")
    bubble = page.locator(f"{W} .m.out .bu")
    await expect(bubble).to_have_count(1)
    style = await bubble.evaluate(
        "e => { const s = getComputedStyle(e); return [s.fontSize, s.color, s.display]; }"
    )
    assert style == ["14.5px", "rgb(255, 255, 255)", "block"]
    # The widget added no style to the page, and one global: window.Hub.
    added = await page.evaluate(
        "() => Object.getOwnPropertyNames(window).filter(k => !window.__before.includes(k))"
    )
    assert sorted(added) == ["Hub", "__before", "__sheets"], added
    assert await page.evaluate("document.styleSheets.length === window.__sheets")
    assert await page.evaluate("typeof Hub.open + typeof Hub.close + typeof Hub.identify") == (
        "functionfunctionfunction"
    )
    # The page's own script and look are its own.
    await page.locator("#btn").dispatch_event("click")  # under the page's own full-page layer
    assert await page.text_content("#btn") == "ok"
    own = await page.locator("#own").evaluate("e => getComputedStyle(e).fontSize")
    assert own == "40px"
    # Text stays text: markup in a reply is shown, not run; a URL becomes a plain link.
    await expect(page.locator(f"{W} .m.out:not(.pe)")).to_have_count(1)
    conv = await hub.conversation_id(channel["id"])
    await hub.reply(
        conv, "<img src=x onerror='window.__xss=1'><b>bold</b> https://example.com/a?b=1."
    )
    reply = page.locator(f"{W} .m.in .bu")
    await expect(reply).to_contain_text("<img src=x onerror='window.__xss=1'><b>bold</b>")
    assert await reply.locator("img, b").count() == 0
    await expect(reply.locator("a")).to_have_attribute("href", "https://example.com/a?b=1")
    assert await page.evaluate("window.__xss === undefined")
    assert errors == []


async def test_dropped_connection_loses_and_doubles_nothing(browser: Any, hub: Hub) -> None:
    """Acks lost in a cut connection and a reload with unsent messages: each message once."""
    channel = await hub.widget_channel(**DEMO)
    page, errors = await new_page(browser, viewport={"width": 1280, "height": 800})
    sockets: list[Any] = []
    drop_acks = {"on": False}
    #: What the hub sent that the page never got.
    lost: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def relay(ws: Any) -> None:
        server = ws.connect_to_server()
        sockets.append(ws)

        def to_page(message: str | bytes) -> None:
            if drop_acks["on"]:  # the ack and the echo of the visitor's own message are lost
                lost.put_nowait(json.loads(message))
                return
            ws.send(message)

        server.on_message(to_page)
        ws.on_message(lambda message: server.send(message))

    async def stored(body: str) -> None:
        """Until the hub acknowledges ``body``, which it does once the message is stored (the
        ack the page never gets)."""
        async with asyncio.timeout(FRAME_CAP_S):
            while True:
                frame = await lost.get()
                if frame.get("type") == "ack" and frame["message"]["body"] == body:
                    return

    await page.route_web_socket(re.compile(r".*/ws/widget\?.*"), relay)
    await page.goto(hub.url + "/")
    await page.locator(f"{W} .la").click()
    await send(page, "Первое")
    await expect(page.locator(f"{W} .m.out:not(.pe)")).to_have_count(1)

    # The hub stores the message but its ack is lost, then the connection drops.
    drop_acks["on"] = True
    await send(page, "Второе")
    await stored("Второе")
    conv = await hub.conversation_id(channel["id"])
    assert (await _bodies(hub, conv)).count("Второе") == 1
    await expect(page.locator(f"{W} .m.out.pe")).to_have_count(1)
    drop_acks["on"] = False
    await sockets[-1].close()
    # It reconnects, re-sends with the same client_id, the hub answers "duplicate": shown once.
    await expect(page.locator(f"{W} .m.out.pe")).to_have_count(0, timeout=15000)
    await expect(page.locator(f"{W} .m.out")).to_have_count(2)

    # A message written just before a reload is sent after it, once.
    drop_acks["on"] = True
    await send(page, "Третье")
    await stored("Третье")
    drop_acks["on"] = False
    await page.reload()
    await expect(page.locator(f"{W} .m.out")).to_have_count(3)
    await expect(page.locator(f"{W} .m.out.pe")).to_have_count(0, timeout=15000)
    await expect(page.locator(f"{W} .m.out")).to_have_count(3)
    bodies = await _bodies(hub, conv)
    sent = ["Первое", "Второе", "Третье"]
    assert [b for b in bodies if b in sent] == sent
    # The outbox empties once the re-sent message is acknowledged (as a duplicate).
    await page.wait_for_function(
        "() => Object.keys(localStorage).filter(k => k.endsWith('.outbox'))"
        ".every(k => JSON.parse(localStorage.getItem(k)).length === 0)",
        timeout=10000,
    )
    await expect(page.locator(f"{W} .m.out")).to_have_count(3)
    assert errors == []


async def test_rest_fallback_when_websockets_are_blocked(browser: Any, hub: Hub) -> None:
    channel = await hub.widget_channel(**DEMO)
    page, errors = await new_page(browser, viewport={"width": 1280, "height": 800})
    attempts: list[int] = []

    async def refuse(ws: Any) -> None:
        attempts.append(1)
        await ws.close(code=1011, reason="blocked by a proxy")

    await page.route_web_socket(re.compile(r".*/ws/widget\?.*"), refuse)
    await page.goto(hub.url + "/")
    await page.locator(f"{W} .la").click()
    await send(page, "Пишу через прокси")
    await expect(page.locator(f"{W} .m.out:not(.pe)")).to_have_count(1, timeout=30000)
    assert len(attempts) >= 3
    conv = await hub.conversation_id(channel["id"])
    await hub.reply(conv, "Ответ дошёл опросом")
    await expect(page.locator(f"{W} .m.in")).to_contain_text("Ответ дошёл опросом", timeout=15000)
    assert [b for b in await _bodies(hub, conv)].count("Пишу через прокси") == 1
    assert errors == []


async def test_offline_contact_form_and_callback(browser: Any, hub: Hub) -> None:
    channel = await hub.widget_channel(**DEMO)  # no operator socket: nobody is online
    page, errors = await new_page(browser, viewport={"width": 1280, "height": 800})
    await page.goto(hub.url + "/")
    await page.locator(f"{W} .la").click()
    notice = page.locator(f"{W} .of")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("Сейчас нет операторов на связи")
    await expect(page.locator(f"{W} .su")).to_have_text("Сейчас нет операторов на связи")

    contact_field = notice.locator("input")
    await contact_field.fill("не почта@")
    await notice.locator("button").click()
    await expect(notice.locator(".er")).to_be_visible()
    await contact_field.fill("ivan@example.com")
    await notice.locator("button").click()
    await expect(notice).to_contain_text("ivan@example.com")
    await expect(notice.locator("form")).to_be_hidden()

    # Messages are kept like any other while nobody is online.
    await send(page, "Перезвоните, пожалуйста, по поводу камина")
    await expect(page.locator(f"{W} .m.out:not(.pe)")).to_have_count(1)

    await page.locator(f"{W} .cbb").click()
    form = page.locator(f"{W} form.fo:visible")
    assert await shadow_focus(page) == "input:phone"
    await form.locator("input[name=phone]").fill("позвоните мне")
    await form.locator("button[type=submit]").click()
    await expect(form.locator(".er:visible")).to_have_text("Проверьте номер телефона")
    await form.locator("input[name=phone]").fill("8 (916) 123-45-67")
    await form.locator("input[name=time]").fill("18:00")  # "today after", picked by focus
    await form.locator("button[type=submit]").click()
    card = page.locator(f"{W} .m.cb")
    await expect(card).to_have_count(1)
    await expect(page.locator(f"{W} textarea")).to_be_visible()

    conv = await hub.conversation_id(channel["id"])
    kinds = json.dumps(await hub.messages(conv), ensure_ascii=False)
    assert "+79161234567" in kinds
    assert errors == []


async def test_greeting_is_local_until_the_visitor_writes(browser: Any, hub: Hub) -> None:
    channel = await hub.widget_channel(
        "Shop", greeting={"text": "Нужна помощь с выбором?", "delay_s": 1}
    )
    page, errors = await new_page(browser, viewport={"width": 1280, "height": 800})
    await serve_page(page, hub.url + "/e2e/greet", host_page(channel["website_token"]))
    await page.goto(hub.url + "/e2e/greet")
    teaser = page.locator(f"{W} .te")
    await expect(teaser).to_contain_text("Нужна помощь с выбором?", timeout=5000)
    await expect(page.locator(f"{W} .bd")).to_have_text("1")
    assert await hub.conversations(channel["id"]) == []  # nothing created by a greeting
    await teaser.click()
    await expect(page.locator(f"{W} .m.gr")).to_have_text(re.compile("Нужна помощь"))
    await expect(page.locator(f"{W} .bd")).to_be_hidden()
    assert await hub.conversations(channel["id"]) == []
    await send(page, "Да, подскажите")
    await expect(page.locator(f"{W} .m.out:not(.pe)")).to_have_count(1)
    assert len(await hub.conversations(channel["id"])) == 1
    assert errors == []


async def test_prechat_form_and_identify(browser: Any, hub: Hub) -> None:
    channel = await hub.widget_channel(
        "Shop",
        prechat={
            "enabled": True,
            "fields": {"name": "required", "email": "optional", "phone": "off"},
        },
    )
    page, errors = await new_page(browser, viewport={"width": 1280, "height": 800})
    html = host_page(channel["website_token"], attrs='data-lang="en"')
    await serve_page(page, hub.url + "/e2e/prechat", html)
    await page.goto(hub.url + "/e2e/prechat")
    await page.locator(f"{W} .la").click()
    form = page.locator(f"{W} form.fo:visible")
    await expect(form.locator("h2")).to_have_text("Please introduce yourself")  # data-lang wins
    await expect(form.locator("input[name=phone]")).to_have_count(0)  # "off"
    await expect(page.locator(f"{W} textarea")).to_be_hidden()
    assert await shadow_focus(page) == "input:name"
    await form.locator("button[type=submit]").click()
    await expect(form.locator(".er:visible")).to_have_text("Please fill in this field")
    await form.locator("input[name=name]").fill("Ivan")
    await form.locator("button[type=submit]").click()
    await expect(page.locator(f"{W} textarea")).to_be_visible()
    assert await shadow_focus(page) == "textarea"
    await send(page, "Hello after the form")
    await expect(page.locator(f"{W} .m.out:not(.pe)")).to_have_count(1)

    # identify(): a right hash is accepted, a wrong one refused, neither throws into the page.
    good = identifier_hash(channel["secret"], "user-42")
    ok = await page.evaluate(
        "h => Hub.identify({identifier: 'user-42', identifier_hash: h, name: 'Ivan'})", good
    )
    assert ok is True
    await expect(page.locator(f"{W} .m.out")).to_have_count(1)  # the same conversation
    bad = await page.evaluate("() => Hub.identify({identifier: 'user-43', identifier_hash: 'bad'})")
    assert bad is False
    await expect(page.locator(f"{W} .m.out")).to_have_count(1)
    assert [e for e in errors if "invalid_identity" not in e] == []  # a warning for the site's devs


async def test_unreachable_hub_never_breaks_the_host_page(browser: Any, hub: Hub) -> None:
    page, errors = await new_page(browser, quiet=False)
    # The host page counts the requests that failed, each after the widget's handlers of it.
    await page.add_init_script(
        "(() => { window.__failed = 0; const fetch0 = window.fetch;"
        " window.fetch = (...a) => { const p = fetch0(...a);"
        " p.catch(() => { window.__failed += 1; }); return p; }; })()"
    )
    html = host_page(
        "no-such-token",
        attrs='data-hub="http://127.0.0.1:9"',
        body="<button id='b' onclick='this.textContent=\"clicked\"'>x</button>",
    )
    await serve_page(page, hub.url + "/e2e/down", html)
    await page.goto(hub.url + "/e2e/down")
    await page.wait_for_function("() => typeof window.Hub === 'object'")
    identified = await page.evaluate(
        "() => { Hub.open(); Hub.close(); return Hub.identify({identifier: 'x'}) }"
    )
    assert identified is False  # no session to be had
    # The widget tries again by a timer; that attempt fails too, and is dealt with quietly.
    failed = await page.evaluate("() => window.__failed")
    await page.wait_for_function(f"() => window.__failed > {failed}")
    await page.click("#b")
    assert await page.text_content("#b") == "clicked"
    assert await page.locator(W).count() == 0  # nothing to show without a hub
    # An unknown website token: one warning, no launcher, no exception (test_widget_visitor
    # shows that nothing follows it).
    await serve_page(page, hub.url + "/e2e/unknown", host_page("no-such-token"))
    async with page.expect_console_message(lambda m: "no widget channel has" in m.text):
        await page.goto(hub.url + "/e2e/unknown")
    assert await page.locator(W).count() == 0
    assert errors == []


async def _bodies(hub: Hub, conv: int) -> list[str]:
    return [str(m.get("body")) for m in await hub.messages(conv)]
