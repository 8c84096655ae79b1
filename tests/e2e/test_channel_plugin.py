"""The SMS channel of ``tests/plugin_channel.py``, registered from outside the core, as an
operator sees it in Chromium: a text through its webhook shows in the inbox with the channel's
own badge, and the reply typed there reaches its adapter."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from hub.channels import registry
from hub.settings import Settings
from tests.e2e.conftest import Hub
from tests.e2e.pw import expect
from tests.e2e.test_inbox import open_inbox, person, row
from tests.helpers import FRAME_CAP_S
from tests.plugin_channel import SENT


@pytest.fixture
def settings(settings: Settings) -> Iterator[Settings]:
    yield settings.model_copy(update={"channel_modules": "tests.plugin_channel"})
    registry.unregister("sms")


async def test_a_text_shows_with_its_badge_and_the_reply_reaches_the_gateway(
    browser: Any, hub: Hub
) -> None:
    anna = await person(hub, "Anna Smirnova", "admin")
    channel = await hub.call(
        "POST",
        "/api/v1/channels",
        201,
        json={"type": "sms", "name": "Texts", "sender": "+74951234567"},
    )
    page, errors = await open_inbox(browser, hub, anna)
    await page.click("[data-assignee=all]")
    async with hub.http.post(
        f"{hub.url}/webhooks/sms/{channel['id']}",
        json={"id": "gw-1", "from": "+7 916 123-45-67", "text": "Есть доставка в Тверь?"},
        headers={"Authorization": f"Bearer {channel['secret']}"},
    ) as resp:
        assert resp.status == 201, await resp.text()
    conv = row(page, "Есть доставка в Тверь?")
    badge = conv.locator(".badge")
    await expect(badge).to_have_text("SMS")
    await expect(badge).to_have_attribute("title", "SMS gateway")
    await conv.click()
    composer = page.locator("#body")
    await composer.click()
    await composer.type("Да, за 2 дня.")
    await composer.press("Enter")
    _, out = await asyncio.wait_for(hub.app[SENT].next(), FRAME_CAP_S)
    assert (out.body, out.contact_external_id) == ("Да, за 2 дня.", "+79161234567")
    assert errors == []
