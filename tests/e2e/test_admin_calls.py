"""Connecting telephony in the admin area, in Chromium: the form asks only the chosen
provider's secrets, in the admin's words, the ones the channel needs marked required; a
provider that signs nothing asks none and says the URL holds the secret; the setup lines are
shown once; the edit form offers the provider's own secrets to change, labelled, never filled."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Hub, screenshot_path
from tests.e2e.pw import expect
from tests.e2e.test_admin_area import log_in

pytestmark = pytest.mark.timeout(120)


async def _secrets(page: Any) -> list[tuple[str | None, bool]]:
    """The secret inputs the connect form shows: their names and whether each is required."""
    inputs = page.locator("#call-secrets input[data-secret]")
    return [
        (await node.get_attribute("name"), await node.evaluate("n => n.required"))
        for node in await inputs.all()
    ]


async def test_the_connect_form_asks_the_chosen_providers_secrets_only(
    hub: Hub, browser: Any
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.add_init_script("localStorage.setItem('hub.inbox.lang', 'ru')")
    await log_in(hub, page)
    await page.goto(hub.url + "/admin#channels")
    await expect(page.locator("body[data-section=channels]")).to_have_count(1)
    await page.click("#connect-toggle")
    connect = page.locator("#connect-form")
    await connect.locator("[name=type]").select_option("calls")
    provider = connect.locator("[name=provider]")

    assert await _secrets(page) == [("auth_token", True)]  # Twilio, the first
    await expect(connect).to_contain_text("Auth Token (консоль Twilio, Account Info)")
    await provider.select_option("zadarma")
    assert await _secrets(page) == [("api_secret", True), ("api_key", False)]
    await expect(connect).to_contain_text("чтобы забирать записи звонков")
    await provider.select_option("mango")
    assert await _secrets(page) == [("api_key", True), ("api_salt", True)]
    await provider.select_option("sipuni")
    assert await _secrets(page) == []
    await expect(page.locator("#call-secrets")).to_be_hidden()
    await expect(connect).to_contain_text("Этот провайдер ничего не подписывает")

    # Zadarma with its secret and without the optional key: connected, the lines shown once.
    await provider.select_option("zadarma")
    await connect.locator("[name=name]").fill("Звонки с рекламы")
    await connect.locator("[name=api_secret]").fill("zadarma-secret-of-the-test")
    await connect.locator("button[type=submit]").click()
    once = page.locator("#once")
    await expect(once).to_contain_text("Вставьте в кабинете провайдера:")
    await expect(once).to_contain_text("/webhooks/calls/")
    if path := screenshot_path("admin-calls-connected-ru.png"):
        await page.screenshot(path=path, full_page=True)
    channels = (await hub.call("GET", "/api/v1/channels"))["items"]
    made = next(c for c in channels if c["name"] == "Звонки с рекламы")
    assert made["config"]["provider"] == "zadarma"
    assert "zadarma-secret-of-the-test" not in str(made)  # never returned

    # Its edit form: the two Zadarma secrets, labelled, empty, none required.
    editor = page.locator("form.channel-form")
    await expect(editor).to_have_count(1)
    secret_inputs = editor.locator("input[data-secret]")
    await expect(secret_inputs).to_have_count(2)
    assert [await i.get_attribute("name") for i in await secret_inputs.all()] == [
        "api_secret",
        "api_key",
    ]
    assert [await i.input_value() for i in await secret_inputs.all()] == ["", ""]
    assert [await i.evaluate("n => n.required") for i in await secret_inputs.all()] == [
        False,
        False,
    ]
    await expect(editor).to_contain_text("Провайдер: Zadarma")
    await expect(editor).to_contain_text("Секрет API (Настройки → API)")
    await page.close()
