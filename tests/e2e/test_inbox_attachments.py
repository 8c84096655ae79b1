"""Attachments and answering one message, in the browser.

An operator attaches an image and a document to a note (uploaded at once, shown as chips; the
API channel sends no files, so a reply with them is refused with the server's reason), the note
shows the image inline and the document as a download, and only operators can fetch the files.
"Reply to this" on a customer's message sends the answer with ``reply_to_id`` and shows the
quote.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import Hub
from tests.e2e.pw import expect
from tests.e2e.test_inbox import api_channel, customer_says, open_inbox, person, row

pytestmark = pytest.mark.timeout(90)

# A 2x2 red PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg=="
)


async def test_note_with_an_image_and_a_document(browser: Any, hub: Hub) -> None:
    anna = await person(hub, "Anna", "admin")
    channel = await api_channel(hub, "Shop")
    said = await customer_says(
        hub, channel, "Send me the price list", external_id="a-1", name="Ivan"
    )
    conv_id = said["conversation"]["id"]
    page, errors = await open_inbox(browser, hub, anna)
    await page.click("[data-assignee=all]")
    await row(page, "Ivan").click()

    await page.set_input_files(
        "#attach-input",
        files=[
            {"name": "stove.png", "mimeType": "image/png", "buffer": PNG},
            {"name": "прайс.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 price"},
        ],
    )
    chips = page.locator("#attach-chips .chip")
    await expect(chips).to_have_count(2)
    await expect(page.locator("#attach-chips")).to_contain_text("прайс.pdf")
    await expect(page.locator("#send")).to_be_enabled()
    composer = page.locator("#body")
    await composer.fill("Here you are")
    await composer.press("Enter")
    await expect(page.locator("#toast")).to_contain_text("cannot send files")
    await expect(chips).to_have_count(2)  # kept for another try

    await page.click("#composer [data-mode=note]")
    await composer.fill("Here you are")
    await composer.press("Enter")
    sent = page.locator("#messages .msg.note")
    await expect(sent.locator(".body")).to_have_text(["Here you are"])
    image = sent.locator(".attachments img")
    await expect(image).to_have_count(1)
    await expect(sent.locator(".attachments a", has_text="прайс.pdf")).to_have_count(1)
    await expect(page.locator("#attach-chips")).to_be_hidden()
    # The image really loads through the session cookie (naturalWidth stays 0 if it cannot).
    for _ in range(100):
        if await image.evaluate("img => img.complete && img.naturalWidth") == 2:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the attached image did not load")

    msgs = await hub.messages(conv_id)
    out = [m for m in msgs if m["kind"] == "note"]
    # Both files, in the order their uploads finished (the message's attachments by id).
    assert sorted(a["filename"] for a in out[0]["attachments"]) == ["stove.png", "прайс.pdf"]
    assert [m for m in msgs if m["kind"] == "outgoing"] == []
    url = out[0]["attachments"][0]["url"]
    async with aiohttp.ClientSession() as anonymous, anonymous.get(hub.url + url) as resp:
        assert resp.status == 401
    # The browser logs the refused reply itself; nothing else went wrong.
    assert [e for e in errors if "422" not in e] == []


async def test_answer_a_specific_message(browser: Any, hub: Hub) -> None:
    anna = await person(hub, "Anna", "admin")
    channel = await api_channel(hub, "Shop")
    first = await customer_says(hub, channel, "Is delivery free?", external_id="r-1", name="Vera")
    await customer_says(hub, channel, "And do you install?", external_id="r-1", name="Vera")
    page, errors = await open_inbox(browser, hub, anna)
    await page.click("[data-assignee=all]")
    await row(page, "Vera").click()

    question = page.locator("#messages .msg.incoming", has_text="Is delivery free?")
    await question.locator(".reply-to").click()
    await expect(page.locator("#reply-bar")).to_be_visible()
    await expect(page.locator("#reply-text")).to_have_text("Is delivery free?")
    await page.locator("#body").fill("Yes, within the city.")
    await page.locator("#body").press("Enter")
    answer = page.locator("#messages .msg.outgoing")
    await expect(answer.locator(".quote")).to_have_text("In reply to: Is delivery free?")
    await expect(page.locator("#reply-bar")).to_be_hidden()

    msgs = await hub.messages(first["conversation"]["id"])
    out = [m for m in msgs if m["kind"] == "outgoing"]
    assert out[0]["reply_to_id"] == first["message"]["id"]
    assert errors == []
