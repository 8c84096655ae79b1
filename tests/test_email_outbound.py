"""Email out: an operator's reply reaches a real SMTP server (aiosmtpd, over TLS) as a proper
email in its thread, with its files and a DKIM signature that verifies; a note never leaves.

The received bytes are parsed as a mail client would; headers are checked against what the hub
stored and signed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

import aiohttp
import dkim
import pytest
from aiohttp.test_utils import TestClient

from hub.channels.email import tokens
from hub.context import HubContext
from hub.http import CTX
from tests.email_helpers import ADDRESS, CUSTOMER, customer_emails, seed_email_channel
from tests.email_smtp import (
    PASSWORD,
    SmtpServer,
    TlsFiles,
    make_dkim_key,
    start_smtp,
    tls_files,  # noqa: F401 - fixture
    trust,  # noqa: F401 - fixture
)
from tests.helpers import Op, make_operator
from tests.test_api_channel import wait_for
from tests.test_attachments import PNG


@dataclass
class Mailbox:
    client: TestClient  # type: ignore[type-arg]
    ctx: HubContext
    smtp: SmtpServer
    admin: Op
    channel: dict[str, Any]

    async def reply(self, conv_id: int, body: str, **extra: Any) -> dict[str, Any]:
        resp = await self.client.post(
            f"/api/v1/conversations/{conv_id}/messages",
            json={"body": body, **extra},
            headers=self.admin.headers,
        )
        assert resp.status == 201, await resp.text()
        return dict(await resp.json())

    async def message(self, conv_id: int, msg_id: int) -> dict[str, Any]:
        resp = await self.client.get(
            f"/api/v1/conversations/{conv_id}/messages", headers=self.admin.headers
        )
        assert resp.status == 200
        return next(m for m in (await resp.json())["items"] if m["id"] == msg_id)

    async def settled(self, conv_id: int, msg_id: int, status: str) -> dict[str, Any]:
        async def done() -> bool:
            delivery = (await self.message(conv_id, msg_id))["delivery"]
            return bool(delivery and delivery["status"] == status)

        await wait_for(done)
        return await self.message(conv_id, msg_id)


async def open_mailbox(
    client: TestClient,  # type: ignore[type-arg]
    tls: TlsFiles,
    security: str = "tls",
    **channel: Any,
) -> Mailbox:
    smtp = await start_smtp(tls, security)
    ctx = client.app[CTX]
    admin = await make_operator(client, role="admin", name="Мария")
    made = await seed_email_channel(ctx, smtp, **channel)
    return Mailbox(client, ctx, smtp, admin, made)


@pytest.fixture
async def box(client: TestClient, trust: TlsFiles) -> AsyncIterator[Mailbox]:  # type: ignore[type-arg]  # noqa: F811
    mailbox = await open_mailbox(client, trust)
    yield mailbox
    await mailbox.smtp.close()


async def test_a_reply_is_an_email_in_the_customers_thread_and_a_note_never_leaves(
    box: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    first = await customer_emails(box.ctx, box.channel["id"], message_id="first@mail.example.org")
    conv_id = first["conversation"]["id"]
    later = await customer_emails(
        box.ctx,
        box.channel["id"],
        subject="Re: Доставка в Казань",
        body="А в Самару?",
        message_id="second@mail.example.org",
        thread="first@mail.example.org",
    )
    assert later["conversation"]["id"] == conv_id
    await box.reply(conv_id, "Постоянный клиент, дать скидку 5%", private=True)
    reply = await box.reply(conv_id, "Добрый день!\nДоставка — 900 ₽.\n\nС уважением, <Мария>")
    sent = await box.settled(conv_id, reply["id"], "sent")
    got = await box.smtp.next()
    assert box.smtp.nothing_received()  # one email: the reply; the note never reached SMTP
    assert b"5%" not in got.data and "скидку".encode() not in got.data
    assert got.encrypted and got.login == ADDRESS
    assert got.mail_from == ADDRESS and got.rcpt_tos == [CUSTOMER]
    mail = got.message
    assert parseaddr(str(mail["From"])) == ("Отдел продаж", ADDRESS)
    assert str(mail["To"]) == CUSTOMER
    assert str(mail["Subject"]) == "Re: Доставка в Казань"  # the first email's, one "Re:"
    key = box.ctx.settings.resolved_secret_key()
    mid = tokens.message_id(key, reply["id"], conv_id, "company.ru")
    assert str(mail["Message-ID"]) == f"<{mid}>"
    assert tokens.conversation_of_message_id(key, mid) == conv_id
    reply_to = parseaddr(str(mail["Reply-To"]))[1]
    assert (
        reply_to.startswith("sales+c") and tokens.conversation_of_address(key, reply_to) == conv_id
    )
    assert str(mail["In-Reply-To"]) == "<second@mail.example.org>"
    assert str(mail["References"]) == "<first@mail.example.org> <second@mail.example.org>"
    assert mail["Date"] is not None
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and html is not None
    assert "Доставка — 900 ₽." in text.get_content()
    html_text = html.get_content()
    assert "Добрый день!<br>" in html_text and "&lt;Мария&gt;" in html_text
    assert "<Мария>" not in html_text
    # What was sent is stored with the reply, so the customer's answer finds its thread.
    assert sent["email"]["message_id"] == mid
    assert sent["email"]["subject"] == "Re: Доставка в Казань"
    assert sent["email"]["to"] == [CUSTOMER]
    assert sent["delivery"]["status"] == "sent"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert PASSWORD not in logged
    # The channel as admins read it back: its settings, never its password.
    listed = await box.client.get("/api/v1/channels", headers=box.admin.headers)
    text = await listed.text()
    [mailbox] = [c for c in (await listed.json())["items"] if c["type"] == "email"]
    assert mailbox["config"]["smtp"]["login"] == ADDRESS
    assert PASSWORD not in text and "password" not in text


async def test_a_reply_carries_its_files(box: Mailbox) -> None:
    conv_id = (await customer_emails(box.ctx, box.channel["id"]))["conversation"]["id"]
    form = aiohttp.FormData()
    form.add_field("file", PNG, filename="схема печи.png", content_type="image/png")
    resp = await box.client.post(
        f"/api/v1/conversations/{conv_id}/attachments", data=form, headers=box.admin.headers
    )
    assert resp.status == 201, await resp.text()
    file_id = (await resp.json())["id"]
    reply = await box.reply(conv_id, "Схема во вложении", attachment_ids=[file_id])
    await box.settled(conv_id, reply["id"], "sent")
    mail = (await box.smtp.next()).message
    [part] = list(mail.iter_attachments())
    assert part.get_filename() == "схема печи.png"
    assert part.get_content_type() == "image/png"
    assert part.get_content() == PNG
    body = mail.get_body(("plain",))
    assert body is not None and "Схема во вложении" in body.get_content()


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_a_dkim_signature_verifies_and_covers_the_threading_headers(
    client: TestClient,  # type: ignore[type-arg]
    trust: TlsFiles,  # noqa: F811
    tmp_path: Any,
    security: str,
) -> None:
    key = make_dkim_key(tmp_path)
    box = await open_mailbox(client, trust, security, dkim=key, plus_addressing=False)
    try:
        conv_id = (await customer_emails(box.ctx, box.channel["id"]))["conversation"]["id"]
        reply = await box.reply(conv_id, "Подписано 🔏")
        await box.settled(conv_id, reply["id"], "sent")
        got = await box.smtp.next()
    finally:
        await box.smtp.close()
    looked_up: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:
        looked_up.append(name)
        return key.txt_record if name == b"hub._domainkey.company.ru." else b""

    assert got.data.startswith(b"DKIM-Signature:")
    assert dkim.verify(got.data, dnsfunc=dns) is True
    assert looked_up == [b"hub._domainkey.company.ru."]
    signed = got.message["DKIM-Signature"].replace("\r\n", "").replace(" ", "")
    for header in ("from", "to", "subject", "date", "message-id", "in-reply-to", "references"):
        assert header in signed.split("h=")[1].split(";")[0].split(":")
    assert got.message["Reply-To"] is None  # plus addressing off
    # A changed subject on the way breaks it.
    assert dkim.verify(got.data.replace(b"Subject: Re:", b"Subject: Fw:"), dnsfunc=dns) is False
