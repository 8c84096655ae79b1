"""Email tracking end to end, in real browsers: the operator replies to an email from the inbox
(tracking switch on), the email reaches a real SMTP server, a second Chromium opens its HTML
part as a mail client would (it loads the pixel, then follows a link), and the operator's page
shows «Иван Петров открыл письмо „…“ · HH:MM», the click's toast and the tracking line; the
contact's page lists both.

The reader's browser sends a desktop Chrome user agent: headless Chromium's own says
"HeadlessChrome", which the hub rightly judges a machine.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from hub.db import utcnow
from hub.http import CTX
from hub.inbox.tracking_models import EmailTracking
from tests.e2e.conftest import Hub
from tests.e2e.pw import expect
from tests.e2e.test_inbox import open_inbox, person, row
from tests.email_helpers import customer_emails, seed_email_channel
from tests.email_smtp import (
    TlsFiles,
    start_smtp,
    tls_files,  # noqa: F401 - fixture
    trust,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.timeout(90)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)


async def test_the_sender_sees_the_customer_open_and_click_his_email(
    browser: Any,
    hub: Hub,
    trust: TlsFiles,  # noqa: F811
) -> None:
    smtp = await start_smtp(trust, "tls")
    ctx = hub.app[CTX]
    try:
        anna = await person(hub, "Анна", "admin")
        mailbox = await seed_email_channel(ctx, smtp)
        await customer_emails(ctx, mailbox["id"], subject="КП на печь")
        page, errors = await open_inbox(browser, hub, anna, lang="ru")
        await page.click("[data-assignee=all]")
        await row(page, "Иван Петров").click()
        switch = page.locator("#track-switch")
        await expect(switch).to_be_visible()
        await expect(switch.locator("input")).to_be_checked()
        await page.fill("#body", f"Добрый день! КП: {hub.url}/healthz")
        await page.click("#send")
        got = await smtp.next()
        html = got.message.get_body(("html",)).get_content()
        assert "/t/o/" in html and "/t/c/" in html
        [conv] = await hub.conversations(mailbox["id"])
        reply = [m for m in await hub.messages(conv["id"]) if m["kind"] == "outgoing"][-1]

        async def an_hour_ago(session: Any) -> None:  # not "too soon after sending"
            await session.execute(
                update(EmailTracking)
                .where(EmailTracking.message_id == reply["id"])
                .values(sent_at=utcnow() - timedelta(hours=1))
            )

        await ctx.write(an_hour_ago)
        reader = await browser.new_context(user_agent=CHROME)
        mail = await reader.new_page()
        async with mail.expect_response(lambda r: "/t/o/" in r.url) as pixel:
            await mail.set_content(html)
        assert (await pixel.value).status == 200
        toast = page.locator("#toast")
        await expect(toast).to_contain_text("Иван Петров открыл письмо „Re: КП на печь“ · ")
        line = page.locator("#messages .msg.outgoing .tracking-human")
        await expect(line).to_contain_text("Открыто 1 раз")
        await mail.click("a")
        await mail.wait_for_url(f"{hub.url}/healthz")
        await expect(toast).to_contain_text("Иван Петров перешёл по ссылке из письма")
        await expect(line).to_contain_text("1 клик")
        await reader.close()
        # The contact's page lists both, newest first.
        await page.goto(f"{hub.url}/inbox/contacts/{conv['contact_id']}")
        hits = page.locator("#cp-tracking-list li")
        await expect(hits).to_have_count(2)
        await expect(hits.first).to_contain_text("клик")
        assert errors == []
    finally:
        await smtp.close()
