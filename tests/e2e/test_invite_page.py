"""An invitation in Chromium, in a Russian installation: the admin invites a person in the
admin area, the email reaches a real SMTP server (aiosmtpd over TLS) from the mailbox chosen
for the hub's mail, and its link opens the page where the person sets his password (a
mismatch and a short one are refused there) and lands in the inbox logged in; the link then
says it was used, and a link nobody made says it is not valid."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from hub.http import CTX
from hub.settings import Settings
from tests.e2e.conftest import Hub, screenshot_path
from tests.e2e.pw import expect
from tests.e2e.test_admin_area import log_in
from tests.email_helpers import seed_email_channel
from tests.email_smtp import (
    SmtpServer,
    TlsFiles,
    start_smtp,
    tls_files,  # noqa: F401 - fixture
    trust,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"language": "ru"})


@pytest_asyncio.fixture(loop_scope="session")
async def smtp(trust: TlsFiles) -> AsyncIterator[SmtpServer]:  # noqa: F811
    server = await start_smtp(trust)
    yield server
    await server.close()


async def test_an_invited_person_sets_his_password_and_is_logged_in(
    hub: Hub, browser: Any, smtp: SmtpServer
) -> None:
    await seed_email_channel(hub.app[CTX], smtp, system_mail=True)
    admin = await browser.new_page(viewport={"width": 1280, "height": 900})
    await admin.add_init_script("localStorage.setItem('hub.inbox.lang', 'ru')")
    await log_in(hub, admin)
    await admin.goto(hub.url + "/admin")
    await expect(admin.locator("body[data-loaded=true]")).to_have_count(1)
    await expect(admin.locator("#system-mail")).to_contain_text("sales@company.ru")
    await admin.click("#invite-toggle")
    form = admin.locator("#invite-form")
    await form.locator("[name=email]").fill("olga@example.org")
    await form.locator("[name=name]").fill("Ольга")
    await form.locator("button[type=submit]").click()
    await expect(admin.locator("#toast")).to_contain_text("Отправлено на olga@example.org")
    olga = admin.locator(".card.operator", has=admin.locator("h3", has_text="Ольга"))
    await expect(olga.locator(".pill.invited")).to_have_text("Приглашён")

    got = await smtp.next()
    assert got.rcpt_tos == ["olga@example.org"]
    part = got.message.get_body(("plain",))
    assert part is not None
    text = str(part.get_content())
    assert str(got.message["Subject"]) == "Приглашение в рабочий чат компании"
    found = re.search(r"(http://\S+/inbox/invite/\S+)", text)
    assert found and found[1].startswith(hub.url), text
    link = found[1]

    # The person, in a browser of his own (no session), follows the link.
    person = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await person.new_page()
    await page.goto(link)
    await expect(page.locator("#invite-title")).to_have_text("Добро пожаловать, Ольга!")
    await expect(page.locator("#invite-who")).to_contain_text("olga@example.org")
    await page.fill("#invite-form [name=password]", "короткий")
    await page.fill("#invite-form [name=again]", "короткий")
    await page.click("#invite-form button[type=submit]")
    await expect(page.locator("#invite-error")).to_have_text(
        "Пароль должен быть не короче 10 символов"
    )
    await page.fill("#invite-form [name=password]", "пароль-Ольги-2026")
    await page.fill("#invite-form [name=again]", "пароль-Ольги-2027")
    await page.click("#invite-form button[type=submit]")
    await expect(page.locator("#invite-error")).to_have_text("Пароли не совпадают")
    if path := screenshot_path("invite-page-ru.png"):
        await page.screenshot(path=path, full_page=True)
    await page.fill("#invite-form [name=again]", "пароль-Ольги-2026")
    await page.click("#invite-form button[type=submit]")
    await page.wait_for_url(hub.url + "/inbox")
    await expect(page.locator("#app")).to_be_visible()
    await expect(page.locator("#me")).to_contain_text("Ольга")

    # The link works once; one nobody made is not valid.
    await page.goto(link)
    await expect(page.locator("#invite-dead")).to_be_visible()
    await expect(page.locator("#invite-dead-why")).to_contain_text("уже задали пароль")
    await page.goto(hub.url + "/inbox/invite/hubl_nothing-like-it")
    await expect(page.locator("#invite-dead-why")).to_contain_text("Ссылка недействительна")
    await expect(page.locator("#invite-form")).to_be_hidden()
    await person.close()
    listed = await hub.call("GET", "/api/v1/operators")
    made = next(o for o in listed["items"] if o["email"] == "olga@example.org")
    assert made["invited"] is False
