"""Calls and emails as an operator sees them in Chromium: a call card with its numbers and
length, an email's subject and recipients above its text, and its formatting in a sandboxed
frame where no script of the sender's runs, and whose remote images load only when the
operator asks (an image tells the sender his email was read)."""

from __future__ import annotations

from typing import Any

from hub.channels.base import InboundCall, InboundContact, InboundEmail, InboundMessage
from hub.http import CTX
from hub.inbox.actions import receive_message
from tests.e2e.conftest import Hub
from tests.e2e.pw import expect
from tests.e2e.test_inbox import api_channel, customer_says, open_inbox, person, row, shot
from tests.test_api_channel import wait_for

#: A 1x1 transparent GIF: what a tracking pixel answers.
GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


async def test_a_call_and_an_email_in_the_conversation(browser: Any, hub: Hub) -> None:
    anna = await person(hub, "Anna Smirnova", "admin")
    channel = await api_channel(hub, "Phones and mail")
    page, errors = await open_inbox(browser, hub, anna, lang="ru")
    await page.click("[data-assignee=all]")
    ctx = hub.app[CTX]
    ivan = InboundContact("ivan", "Иван Петров", "+79161234567")
    await receive_message(
        ctx,
        InboundMessage(
            channel["id"],
            ivan,
            "",
            call=InboundCall(
                "inbound",
                "+79161234567",
                "+74951234567",
                "answered",
                135,
                "+74957654321",
                recording_ref="3584709139-3849618a-rec",
            ),
        ),
    )
    await expect(row(page, "Иван Петров")).to_contain_text("📞 +79161234567 2:15 · отвечен")
    await row(page, "Иван Петров").click()
    card = page.locator("#messages .item-call")
    await expect(card).to_contain_text("Входящий звонок · отвечен · 2:15")
    # A caller who hides his number: the list says so, not an empty line.
    await receive_message(
        ctx,
        InboundMessage(
            channel["id"],
            InboundContact("hidden:CA1"),
            "",
            call=InboundCall("inbound", "", "+74951234567", "ringing"),
        ),
    )
    await expect(page.locator("#conv-list")).to_contain_text("📞 скрытый номер · звонит")
    await expect(card).to_contain_text("+79161234567 → +74951234567 (через +74957654321)")
    await expect(card).to_contain_text("Запись хранится у провайдера, ID 3584709139-3849618a-rec")

    await receive_message(
        ctx,
        InboundMessage(
            channel["id"],
            ivan,
            "Добрый день! Получил КП.",
            email=InboundEmail(
                subject="Re: Коммерческое предложение",
                from_address="ivan@example.com",
                to=("sales@shop.example",),
                html='<p>Добрый <b>день</b>!</p><script>document.title="pwned"</script>'
                "<img src=x onerror=\"document.title='pwned'\">"
                '<img src="https://tracker.example/open.gif" alt="logo">',
            ),
        ),
    )
    fetched: list[str] = []

    async def tracker(route: Any) -> None:
        fetched.append(route.request.url)
        await route.fulfill(status=200, content_type="image/gif", body=GIF)

    await page.route("https://tracker.example/**", tracker)
    head = page.locator("#messages .item-email")
    await expect(head).to_contain_text("Re: Коммерческое предложение")
    await expect(head).to_contain_text("Кому: sales@shop.example")
    await page.click("#messages .item-email button")
    frame = page.frame_locator("#messages iframe.item-html")
    await expect(frame.locator("b")).to_have_text("день")
    assert await page.locator("#messages iframe.item-html").get_attribute("sandbox") == ""
    assert "pwned" not in await page.title()
    assert fetched == []  # shown, and its image not asked for
    await page.get_by_role("button", name="Загрузить картинки").click()
    await expect(frame.locator("img[alt=logo]")).to_have_attribute(
        "src", "https://tracker.example/open.gif"
    )
    await expect(frame.locator("b")).to_have_text("день")

    async def image_fetched() -> bool:
        return fetched == ["https://tracker.example/open.gif"]

    await wait_for(image_fetched)
    await shot(page, "inbox-call-email-ru.png")
    assert errors == []


async def test_a_call_takes_notes_only_and_the_next_chat_takes_replies_again(
    browser: Any, hub: Hub
) -> None:
    """A calls channel takes no replies (its type says so): its conversation opens the composer
    on an internal note with the reply switched off and a word why; an operator who opens a
    chat next replies there again, as before the call."""
    anna = await person(hub, "Anna Smirnova", "admin")
    chat = await api_channel(hub, "Site chat")
    await customer_says(hub, chat, "Здравствуйте!", external_id="olga", name="Ольга")
    line = await hub.call(
        "POST", "/api/v1/channels", 201, json={"type": "calls", "name": "Ads", "provider": "sipuni"}
    )
    path = next(x for x in line["setup"] if "/webhooks/calls/" in x).split("/webhooks/calls/")[1]
    url = f"{hub.url}/webhooks/calls/{path}"
    start = {"event": "1", "call_id": "e2e.1", "src_num": "89161234567", "dst_num": "74951234567"}
    async with hub.http.post(url, data={**start, "timestamp": "1741955405"}) as resp:
        assert resp.status == 200, await resp.text()
    page, errors = await open_inbox(browser, hub, anna, lang="ru")
    await page.click("[data-assignee=all]")
    composer = page.locator("#composer")
    reply = page.locator("#mode-reply")

    await row(page, "+79161234567").click()
    await expect(page.locator("#messages .item-call")).to_be_visible()
    await expect(composer).to_have_class("composer note-mode")
    await expect(reply).to_be_disabled()
    await expect(page.locator("#mode-hint")).to_contain_text("В этот канал не ответить (звонок)")
    await page.fill("#body", "Перезвонить после обеда")
    await page.click("#send")
    await expect(page.locator("#messages .msg.private")).to_contain_text("Перезвонить после обеда")
    await page.keyboard.press("Escape")
    await page.locator("body").press("r")  # the reply shortcut: still a note
    await expect(composer).to_have_class("composer note-mode")

    await row(page, "Ольга").click()
    await expect(page.locator("#conv-name")).to_have_text("Ольга")
    await expect(composer).to_have_class("composer reply-mode")
    await expect(reply).to_be_enabled()
    await expect(page.locator("#mode-hint")).to_have_text("Клиент увидит этот ответ")
    assert errors == []
