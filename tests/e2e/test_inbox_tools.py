"""Canned responses and contact editing in the browser, in the Russian UI.

A manager adds a canned response in its dialog; in a conversation "/" and the short code offer it,
Enter inserts it and a second Enter sends it. The contact card is edited beside the
conversation: a phone typed the Russian local way is shown as E.164, and a wrong one keeps the
form open with the server's error and changes nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.e2e.conftest import Hub
from tests.e2e.pw import expect
from tests.e2e.test_inbox import api_channel, customer_says, open_inbox, person, row

pytestmark = pytest.mark.timeout(90)


async def test_canned_response_by_short_code(browser: Any, hub: Hub) -> None:
    olga = await person(hub, "Ольга Ким", "manager")
    channel = await api_channel(hub, "Сайт")
    await customer_says(hub, channel, "Сколько стоит печь?", external_id="k-1", name="Пётр")
    page, errors = await open_inbox(browser, hub, olga, lang="ru")

    await page.click("#canned-btn")
    await expect(page.locator("#canned-dialog")).to_be_visible()
    await expect(page.locator("#canned-list")).to_contain_text("Шаблонов пока нет")
    await page.fill("#canned-form [name=short_code]", "цена")
    await page.fill("#canned-form [name=content]", "Печь стоит от 45 000 ₽, доставка 2 дня.")
    await page.click("#canned-form button[type=submit]")
    await expect(page.locator("#canned-list li")).to_have_count(1)
    await expect(page.locator("#canned-list")).to_contain_text("/цена")
    await page.click("#canned-close")

    await page.click("[data-assignee=all]")
    await row(page, "Пётр").click()
    composer = page.locator("#body")
    await composer.click()
    await composer.type("Добрый день! /це")
    picker = page.locator("#canned-picker")
    await expect(picker).to_be_visible()
    await expect(picker.locator("li")).to_have_count(1)
    await expect(picker.locator("li.active")).to_contain_text("/цена")
    await composer.press("Enter")
    await expect(picker).to_be_hidden()
    await expect(composer).to_have_value("Добрый день! Печь стоит от 45 000 ₽, доставка 2 дня.")
    await composer.press("Enter")
    await expect(page.locator("#messages .msg.outgoing .body")).to_have_text(
        ["Добрый день! Печь стоит от 45 000 ₽, доставка 2 дня."]
    )
    assert errors == []


async def test_operator_edits_the_contact_card(browser: Any, hub: Hub) -> None:
    anna = await person(hub, "Анна", "admin")
    channel = await api_channel(hub, "Сайт")
    said = await customer_says(hub, channel, "Перезвоните мне", external_id="k-2", name="Иван")
    page, errors = await open_inbox(browser, hub, anna, lang="ru")
    await page.click("[data-assignee=all]")
    await row(page, "Иван").click()
    await expect(page.locator("#contact-pane")).to_be_visible()

    await page.click("#c-edit-btn")
    form = page.locator("#c-edit")
    await expect(form).to_be_visible()
    await form.locator("[name=name]").fill("Иван Петров")
    await form.locator("[name=phones]").fill("8 (916) 123-45-67\nне телефон")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#c-edit-error")).to_be_visible()
    await expect(form).to_be_visible()
    card = await hub.call("GET", f"/api/v1/contacts/{said['conversation']['contact_id']}", 200)
    assert card["name"] == "Иван" and card["phones"] == []

    await form.locator("[name=phones]").fill("8 (916) 123-45-67")
    await form.locator("[name=company]").fill("ООО «Печи»")
    await form.locator("button[type=submit]").click()
    await expect(form).to_be_hidden()
    await expect(page.locator("#c-name")).to_have_text("Иван Петров")
    await expect(page.locator("#c-fields")).to_contain_text("+79161234567")
    await expect(page.locator("#c-fields")).to_contain_text("ООО «Печи»")
    card = await hub.call("GET", f"/api/v1/contacts/{said['conversation']['contact_id']}", 200)
    assert card["phones"] == ["+79161234567"]
    assert card["attributes"]["company"] == "ООО «Печи»"
    # The browser logs the refused PATCH itself; nothing else went wrong.
    assert [e for e in errors if "422" not in e] == []


async def until(page: Any, expression: str, timeout_s: float = 30.0) -> None:
    """Poll ``expression`` in the page (the page's CSP forbids wait_for_function's eval)."""
    for _ in range(int(timeout_s / 0.05)):
        if await page.evaluate(expression):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still false after {timeout_s} s: {expression}")


RECORDERS = """
window.__notes = [];
window.__beeps = 0;
window.__hidden = false;
Object.defineProperty(document, 'hidden', { get: function () { return window.__hidden; } });
class FakeNotification {
  constructor(title, options) { window.__notes.push({ title: title, body: options.body }); }
}
FakeNotification.permission = 'default';
FakeNotification.requestPermission = function () {
  FakeNotification.permission = 'granted';
  return Promise.resolve('granted');
};
window.Notification = FakeNotification;
class FakeAudio {
  constructor() { this.currentTime = 0; this.destination = {}; }
  createOscillator() {
    return { frequency: {}, connect() {}, start() { window.__beeps += 1; }, stop() {} };
  }
  createGain() {
    return { gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} }, connect() {} };
  }
}
window.AudioContext = FakeAudio;
"""


async def test_new_conversation_sounds_and_notifies_when_allowed(browser: Any, hub: Hub) -> None:
    """A new conversation beeps; a desktop notification shows only once the operator allowed it
    and only while the page is in the background."""
    anna = await person(hub, "Anna", "admin")
    channel = await api_channel(hub, "Shop")
    ctx = await browser.new_context(locale="en-US")
    await ctx.add_init_script(RECORDERS)
    page = await ctx.new_page()
    await page.goto(hub.url + "/inbox")
    await page.fill("#login-form [name=email]", anna.email)
    await page.fill("#login-form [name=password]", anna.password)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_selector("body[data-live='1']", state="attached")
    await page.click("[data-assignee=all]")

    await customer_says(hub, channel, "First question", external_id="n-1", name="Vera")
    await until(page, "window.__beeps === 1")
    assert await page.evaluate("window.__notes") == []  # not allowed yet

    await expect(page.locator("#notify-btn")).to_be_visible()
    await page.click("#notify-btn")
    await expect(page.locator("#notify-btn")).to_be_hidden()
    await page.evaluate("window.__hidden = true")
    await customer_says(hub, channel, "Second question", external_id="n-2", name="Oleg")
    await until(page, "window.__notes.length === 1")
    notes = await page.evaluate("window.__notes")
    assert notes == [{"title": "New conversation: Oleg", "body": "Second question"}]

    # A message in a known conversation is not a new conversation: no sound, no notification.
    await customer_says(hub, channel, "Any news?", external_id="n-2", name="Oleg")
    await expect(row(page, "Oleg")).to_contain_text("Any news?")
    assert await page.evaluate("[window.__beeps, window.__notes.length]") == [2, 1]
    await ctx.close()
