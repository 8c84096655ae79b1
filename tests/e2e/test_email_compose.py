"""A new email from the contact card, in the browser: "Написать письмо" beside a chat with a
customer who left his email opens a small form; sending it opens the new email conversation,
and the email reaches a real SMTP server with the subject as typed."""

from __future__ import annotations

from typing import Any

import pytest

from hub.http import CTX
from tests.e2e.conftest import Hub
from tests.e2e.pw import expect
from tests.e2e.test_inbox import api_channel, open_inbox, person, row
from tests.email_helpers import CUSTOMER, seed_email_channel
from tests.email_smtp import (
    TlsFiles,
    start_smtp,
    tls_files,  # noqa: F401 - fixture
    trust,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.timeout(90)


async def test_operator_writes_a_new_email_from_the_contact_card(
    browser: Any,
    hub: Hub,
    trust: TlsFiles,  # noqa: F811
) -> None:
    smtp = await start_smtp(trust, "tls")
    try:
        anna = await person(hub, "Анна", "admin")
        mailbox = await seed_email_channel(hub.app[CTX], smtp)
        chat = await api_channel(hub, "Сайт")
        await hub.call(
            "POST",
            f"/api/v1/channels/{chat['id']}/inbound",
            201,
            json={
                "contact": {"external_id": "k-1", "name": "Иван", "email": CUSTOMER},
                "body": "Пришлите прайс на почту",
            },
            headers={"Authorization": f"Bearer {chat['secret']}"},
        )
        page, errors = await open_inbox(browser, hub, anna, lang="ru")
        await page.click("[data-assignee=all]")
        await row(page, "Иван").click()
        button = page.locator("#c-email-btn")
        await expect(button).to_have_text("Написать письмо")
        await button.click()
        form = page.locator("#c-email")
        await expect(form).to_be_visible()
        await expect(form.locator("[name=channel_id] option")).to_have_text([mailbox["name"]])
        await expect(form.locator("[name=to] option")).to_have_text([CUSTOMER])
        await form.locator("[name=subject]").fill("Прайс на печи <2025>")
        await form.locator("[name=body]").fill("Добрый день!\nПрайс во вложении.")
        await form.locator("button[type=submit]").click()
        await expect(form).to_be_hidden()
        # The page shows the new email conversation with the email in it.
        await expect(page.locator("#messages .msg.outgoing .body")).to_contain_text(
            ["Прайс во вложении."]
        )
        got = await smtp.next()
        assert str(got.message["Subject"]) == "Прайс на печи <2025>"
        assert got.rcpt_tos == [CUSTOMER]
        [conv] = await hub.conversations(mailbox["id"])
        assert page.url.endswith(f"#c{conv['id']}")
        assert errors == []
    finally:
        await smtp.close()
