"""Files both ways in the real widget, on a customer's site of another origin than the hub's.

The visitor attaches a photo and a document; the operator sees both and answers with a photo and
a document of his own; the visitor sees the photo inline and saves the document; after a reload
all four are still there.
"""

from __future__ import annotations

import re
import struct
import zlib
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import Hub, Site, open_site, screenshot_path
from tests.e2e.pw import expect
from tests.e2e.test_widget import W, new_page

pytestmark = pytest.mark.timeout(90)


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG of one colour, which a browser decodes (its size proves it was shown)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


STOVE = png(64, 48, (194, 65, 12))
CATALOG = png(80, 40, (15, 118, 110))
ESTIMATE = b"%PDF-1.4\n% estimate\n" + b"0" * 300


async def upload(hub: Hub, conv_id: int, data: bytes, name: str, kind: str) -> int:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type=kind)
    made = await hub.call("POST", f"/api/v1/conversations/{conv_id}/attachments", 201, data=form)
    return int(made["id"])


async def natural_width(locator: Any) -> int:
    return int(await locator.evaluate("img => img.complete ? img.naturalWidth : 0"))


async def test_files_both_ways_on_another_origin(browser: Any, hub: Hub, site: Site) -> None:
    channel = await hub.widget_channel("Печной мир", allowed_origins=[site.url])
    await hub.go_online(hub.admin)  # type: ignore[arg-type]
    page, errors = await new_page(browser, viewport={"width": 1280, "height": 800})
    await open_site(page, site, hub, channel["website_token"])
    await page.locator(f"{W} .la").click()
    attach = page.locator(f"{W} .co button.at")
    await expect(attach).to_have_attribute("aria-label", "Прикрепить файл")

    # The visitor attaches a photo and a document at once.
    await page.locator(f"{W} .co input[type=file]").set_input_files(
        [
            {"name": "печь.png", "mimeType": "image/png", "buffer": STOVE},
            {"name": "размеры.pdf", "mimeType": "application/pdf", "buffer": ESTIMATE},
        ]
    )
    mine = page.locator(f"{W} .m.out:not(.pe)")
    await expect(mine).to_have_count(2)
    await expect(mine.locator("img")).to_have_count(1)
    await expect(mine.locator("a.fd")).to_contain_text("размеры.pdf")
    conv = await hub.conversation_id(channel["id"])
    items = await hub.messages(conv)
    files = {m["attachments"][0]["filename"]: m["attachments"][0] for m in items}
    assert set(files) == {"печь.png", "размеры.pdf"}
    assert files["печь.png"]["kind"] == "image"
    async with hub.http.get(
        hub.url + files["печь.png"]["url"],
        headers=hub.admin.headers,  # type: ignore[union-attr]
    ) as resp:
        assert await resp.read() == STOVE

    # The operator answers with a photo and a document; the photo shows inline.
    photo = await upload(hub, conv, CATALOG, "каталог.png", "image/png")
    doc = await upload(hub, conv, ESTIMATE, "смета.pdf", "application/pdf")
    await hub.call(
        "POST",
        f"/api/v1/conversations/{conv}/messages",
        201,
        json={"body": "Вот каталог и смета", "attachment_ids": [photo, doc]},
    )
    reply = page.locator(f"{W} .m.in")
    await expect(reply).to_have_count(1)
    await expect(reply.locator(".bu > span")).to_have_text("Вот каталог и смета")
    image = reply.locator("img")
    await expect(image).to_have_attribute("src", re.compile("^blob:"))
    await expect(image).to_have_attribute("alt", "каталог.png")
    assert await natural_width(image) == 80
    if path := screenshot_path("widget-files-ru.png"):
        await page.screenshot(path=path)
    # The document is saved with its name and its bytes.
    async with page.expect_download() as saving:
        await reply.locator("a.fd").click()
    download = await saving.value
    assert download.suggested_filename == "смета.pdf"
    assert (await download.path()).read_bytes() == ESTIMATE

    # After a reload every file is still in the chat, read again with the visitor's token.
    await page.reload()
    await expect(page.locator(f"{W} .m.out")).to_have_count(2)
    await expect(page.locator(f"{W} .m img")).to_have_count(2)
    for img in await page.locator(f"{W} .m img").all():
        await expect(img).to_have_attribute("src", re.compile("^blob:"))
    widths = sorted([await natural_width(img) for img in await page.locator(f"{W} .m img").all()])
    assert widths == [64, 80]
    assert errors == []
