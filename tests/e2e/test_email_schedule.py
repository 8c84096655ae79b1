"""Scheduling a reply from the composer, in the browser: «Отправить позже» with a date and time
(the company's zone preselected) shows the email as pending in the conversation; «Отменить
отправку» takes it away; one scheduled again and edited («Изменить») goes when the sender's
clock reaches its time and shows up live as the conversation's reply, on its way to a real SMTP
server."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.channels.email.scheduled_sender import ScheduledSender
from hub.http import CTX
from tests.e2e.conftest import Hub
from tests.e2e.pw import expect
from tests.e2e.test_inbox import open_inbox, person, row, shot
from tests.email_helpers import CUSTOMER, customer_emails, seed_email_channel
from tests.email_smtp import (
    TlsFiles,
    start_smtp,
    tls_files,  # noqa: F401 - fixture
    trust,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.timeout(90)


async def test_operator_schedules_cancels_and_schedules_a_reply_that_goes_live(
    browser: Any,
    hub: Hub,
    trust: TlsFiles,  # noqa: F811
) -> None:
    smtp = await start_smtp(trust, "tls")
    try:
        anna = await person(hub, "Анна", "admin")
        ctx = hub.app[CTX]
        mailbox = await seed_email_channel(ctx, smtp)
        said = await customer_emails(ctx, mailbox["id"])
        conv_id = said["conversation"]["id"]
        page, errors = await open_inbox(browser, hub, anna, lang="ru")
        await page.click("[data-assignee=all]")
        await row(page, "Иван Петров").click()
        later = page.locator("#later-btn")
        await expect(later).to_have_text("Отправить позже")
        tomorrow = (datetime.now(ZoneInfo("Europe/Moscow")) + timedelta(days=1)).date()
        pending = page.locator("#scheduled-here li")

        async def schedule(text: str) -> None:
            await page.fill("#body", text)
            await later.click()
            await expect(page.locator("#later-zone")).to_have_value("Europe/Moscow")
            await page.fill("#later-at", f"{tomorrow.isoformat()}T10:00")
            await page.click("#later-do")
            await expect(pending).to_have_count(1)
            await expect(pending).to_contain_text(text)
            await expect(page.locator("#body")).to_have_value("")

        await schedule("Напоминаю о предложении")
        await expect(pending.locator(".when")).to_contain_text("10:00 (Europe/Moscow)")
        await pending.locator("[data-scheduled-cancel]").click()
        await expect(pending).to_have_count(0)
        cancelled = await hub.call("GET", "/api/v1/scheduled_emails?status=cancelled", 200)
        assert [i["body"] for i in cancelled["items"]] == ["Напоминаю о предложении"]

        await schedule("Доброе утро! Цена до пятницы.")
        # Edited before it goes: the text and the hour.
        await pending.locator("[data-scheduled-edit]").click()
        editor = pending.locator("form")
        await editor.locator("[name=body]").fill("Доброе утро! Цена действует до пятницы.")
        await editor.locator("[name=send_at]").fill(f"{tomorrow.isoformat()}T09:30")
        await editor.locator("button[type=submit]").click()
        await expect(pending.locator(".when")).to_contain_text("09:30 (Europe/Moscow)")
        await expect(pending.locator(".text")).to_have_text(
            "Доброе утро! Цена действует до пятницы."
        )
        await shot(page, "inbox-scheduled-ru.png")
        [item] = (await hub.call("GET", "/api/v1/scheduled_emails", 200))["items"]
        due = datetime.fromisoformat(item["send_at"])
        assert await ScheduledSender(ctx, clock=lambda: due).run_once() == 1
        # It goes live: the pending item leaves, the reply appears in the conversation.
        await expect(pending).to_have_count(0)
        await expect(page.locator("#messages .msg.outgoing .body")).to_contain_text(
            ["Доброе утро! Цена действует до пятницы."]
        )
        got = await smtp.next()
        assert got.rcpt_tos == [CUSTOMER]
        assert str(got.message["Subject"]) == "Re: Доставка в Казань"
        assert page.url.endswith(f"#c{conv_id}")
        assert errors == []
    finally:
        await smtp.close()
