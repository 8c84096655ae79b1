"""The guaranteed answer: a website visitor who left his email and closed the tab gets the
operator's reply by email from the mailbox linked to the site's chat, with the way back to
the chat; his answer to that email lands in the same chat. While he has a tab open, nothing is
sent by email. A real SMTP server (aiosmtpd, tests/email_smtp.py) records what leaves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hub.channels.email import tokens
from hub.channels.email.ingest import MailChannel, MailIngest
from hub.channels.widget.keys import WIDGET
from hub.http import CTX
from tests.email_helpers import ADDRESS, seed_email_channel
from tests.email_smtp import (
    SmtpServer,
    TlsFiles,
    start_smtp,
    tls_files,  # noqa: F401 - fixture
    trust,  # noqa: F401 - fixture
)
from tests.helpers import Op, make_operator
from tests.test_api_channel import wait_for
from tests.test_widget_api import (
    ORIGIN,
    conversations_of,
    is_message_from,
    make_widget_channel,
    open_visitor,
    operator_reply,
    recv_until,
    send_over,
    start_session,
)

VISITOR_EMAIL = "olga@example.org"


@dataclass
class Site:
    client: TestClient  # type: ignore[type-arg]
    smtp: SmtpServer
    admin: Op
    widget: dict[str, Any]
    mailbox: dict[str, Any]


@pytest.fixture
async def site(client: TestClient, trust: TlsFiles) -> AsyncIterator[Site]:  # type: ignore[type-arg]  # noqa: F811
    smtp = await start_smtp(trust, "tls")
    admin = await make_operator(client, role="admin", name="Мария")
    widget = await make_widget_channel(client, admin, name="Магазин")
    mailbox = await seed_email_channel(
        client.app[CTX], smtp, linked_widget_channel_ids=[widget["id"]]
    )
    yield Site(client, smtp, admin, widget, mailbox)
    await smtp.close()


async def _visitor_who_left(site: Site) -> tuple[str, int]:
    """A visitor who wrote, left his email and closed his tab; his conversation's id."""
    client = site.client
    token = (await start_session(client, site.widget))["visitor_token"]
    tab, _ = await open_visitor(client, token)
    await send_over(tab, "c-1", "Есть ли доставка в Тверь?")
    left = await client.post(
        "/api/widget/v1/contact",
        json={"visitor_token": token, "email": VISITOR_EMAIL},
        headers={"Origin": ORIGIN},
    )
    assert left.status == 200, await left.text()
    await tab.close()
    live = client.app[WIDGET].live

    async def gone() -> bool:
        return live.socket_count == 0

    await wait_for(gone)
    [conv] = await conversations_of(client, site.admin, site.widget)
    return token, int(conv["id"])


async def test_a_reply_to_a_visitor_who_left_goes_by_email_and_his_answer_comes_back(
    site: Site,
) -> None:
    client, ctx = site.client, site.client.app[CTX]
    _token, conv_id = await _visitor_who_left(site)
    reply = await operator_reply(client, site.admin, conv_id, "Да, доставка 2 дня, 900 ₽.")
    got = await site.smtp.next()
    assert got.rcpt_tos == [VISITOR_EMAIL] and got.mail_from == ADDRESS
    mail = got.message
    assert parseaddr(str(mail["From"]))[1] == ADDRESS
    assert str(mail["Subject"]) == "Магазин: ответ на ваше сообщение в чате"
    text = mail.get_body(("plain",))
    assert text is not None
    content = text.get_content()
    assert "Да, доставка 2 дня, 900 ₽." in content and f"{ORIGIN}/" in content
    key = ctx.settings.resolved_secret_key()
    reply_to = parseaddr(str(mail["Reply-To"]))[1]
    assert tokens.conversation_of_address(key, reply_to) == conv_id
    assert tokens.conversation_of_message_id(key, str(mail["Message-ID"])) == conv_id

    async def delivered() -> bool:
        listed = await client.get(
            f"/api/v1/conversations/{conv_id}/messages", headers=site.admin.headers
        )
        sent = next(m for m in (await listed.json())["items"] if m["id"] == reply["id"])
        return bool(sent["delivery"]["status"] == "sent" and sent["delivery"]["attempts"] > 1)

    await wait_for(delivered)
    # His answer from his mail client (which kept only the Reply-To): back in the chat.
    answer = EmailMessage()
    answer["From"] = f"Ольга <{VISITOR_EMAIL}>"
    answer["To"] = reply_to
    answer["Subject"] = "Re: " + str(mail["Subject"])
    answer["Message-ID"] = "<olga-1@example.org>"
    answer.set_content("Отлично, оформляю заказ.")
    ingest = MailIngest(ctx)
    mailbox = MailChannel.of(site.mailbox["id"], site.mailbox["config"])
    done = await ingest.ingest(mailbox, answer.as_bytes())
    assert done.outcome == "stored" and done.conversation_id == conv_id
    listed = await client.get(
        f"/api/v1/conversations/{conv_id}/messages", headers=site.admin.headers
    )
    bodies = [m["body"] for m in (await listed.json())["items"]]
    assert bodies[-1] == "Отлично, оформляю заказ."
    # One conversation still: the chat, with the email as its latest item.
    [conv] = await conversations_of(client, site.admin, site.widget)
    assert conv["id"] == conv_id and conv["last_message_preview"].startswith("✉ Re: Магазин")


async def test_nothing_goes_by_email_while_the_visitor_has_a_tab_open(site: Site) -> None:
    client = site.client
    token, conv_id = await _visitor_who_left(site)
    tab, _ = await open_visitor(client, token)
    reply = await operator_reply(client, site.admin, conv_id, "Сейчас посмотрю.")
    frame, _ = await recv_until(tab, is_message_from("operator"))
    assert frame["message"]["id"] == reply["id"]
    # Handed to his tab at commit, and never to the outbox, which alone would email it.
    listed = await client.get(
        f"/api/v1/conversations/{conv_id}/messages", headers=site.admin.headers
    )
    sent = next(m for m in (await listed.json())["items"] if m["id"] == reply["id"])
    assert sent["delivery"] == {"status": "sent", "error": None, "attempts": 1}
    assert sent["email"] is None
    await tab.close()
    assert site.smtp.nothing_received()


async def test_a_visitor_without_an_email_or_a_linked_mailbox_is_not_emailed(
    client: TestClient,  # type: ignore[type-arg]
    trust: TlsFiles,  # noqa: F811
) -> None:
    smtp = await start_smtp(trust, "tls")
    admin = await make_operator(client, role="admin")
    widget = await make_widget_channel(client, admin)
    await seed_email_channel(client.app[CTX], smtp)  # a mailbox, not linked to this site
    token = (await start_session(client, widget))["visitor_token"]
    tab, _ = await open_visitor(client, token)
    await send_over(tab, "c-1", "Hello")
    await client.post(
        "/api/widget/v1/contact",
        json={"visitor_token": token, "email": VISITOR_EMAIL},
        headers={"Origin": ORIGIN},
    )
    await tab.close()
    [conv] = await conversations_of(client, admin, widget)
    reply = await operator_reply(client, admin, conv["id"], "Hi")
    assert reply["delivery"] == {"status": "sent", "error": None, "attempts": 1}
    listed = await client.get(f"/api/v1/conversations/{conv['id']}/messages", headers=admin.headers)
    sent = next(m for m in (await listed.json())["items"] if m["id"] == reply["id"])
    assert sent["delivery"]["status"] == "sent" and sent["delivery"]["attempts"] == 1
    assert smtp.nothing_received()
    await smtp.close()
