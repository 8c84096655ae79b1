"""Email out when the mail server says no: a 5xx fails the reply with the server's answer and
suppresses the address (the next send is refused at once); a 4xx is retried and then sent; a
bounce that comes back to the mailbox (``record_bounce``) fails the reply it names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from hub.channels.email import tokens
from hub.channels.email.bounces import record_bounce
from hub.channels.email.suppression import EmailSuppression
from tests.email_helpers import CUSTOMER, customer_emails
from tests.email_smtp import (
    TlsFiles,
    tls_files,  # noqa: F401 - fixture
    trust,  # noqa: F401 - fixture
)
from tests.test_api_channel import wait_for
from tests.test_email_outbound import Mailbox, open_mailbox


@pytest.fixture
async def box(client: TestClient, trust: TlsFiles) -> AsyncIterator[Mailbox]:  # type: ignore[type-arg]  # noqa: F811
    mailbox = await open_mailbox(client, trust, "starttls")
    yield mailbox
    await mailbox.smtp.close()


async def suppressions(box: Mailbox) -> list[EmailSuppression]:
    return await box.ctx.read(
        lambda s: _all(s, select(EmailSuppression).order_by(EmailSuppression.id))
    )


async def _all(session: Any, query: Any) -> list[Any]:
    return list((await session.scalars(query)).all())


async def test_a_refused_address_fails_the_reply_and_is_never_sent_to_again(box: Mailbox) -> None:
    conv_id = (await customer_emails(box.ctx, box.channel["id"]))["conversation"]["id"]
    box.smtp.recorder.rcpt_answers.append("550 5.1.1 <ivan.petrov@example.org>: user unknown")
    reply = await box.reply(conv_id, "Добрый день!")
    failed = await box.settled(conv_id, reply["id"], "failed")
    assert failed["delivery"]["error"] == (
        f"localhost:{box.smtp.port} refused the recipient: "
        "550 5.1.1 <ivan.petrov@example.org>: user unknown"
    )
    assert failed["delivery"]["attempts"] == 1  # permanent: not retried
    [entry] = await suppressions(box)
    assert (entry.address, entry.source) == (CUSTOMER, "smtp")
    assert "550 5.1.1" in entry.reason
    assert box.smtp.recorder.rcpt_seen == [CUSTOMER]

    again = await box.reply(conv_id, "Вы получили письмо?")
    refused = await box.settled(conv_id, again["id"], "failed")
    assert refused["delivery"]["error"].startswith(
        f"{CUSTOMER} is on the suppression list: its mail server refused it for good (localhost"
    )
    assert box.smtp.recorder.rcpt_seen == [CUSTOMER]  # the server was not asked again
    assert box.smtp.nothing_received()


async def test_a_temporary_refusal_is_retried_and_then_sent(box: Mailbox) -> None:
    conv_id = (await customer_emails(box.ctx, box.channel["id"]))["conversation"]["id"]
    box.smtp.recorder.rcpt_answers += ["451 4.7.1 greylisted, try again later"] * 2
    reply = await box.reply(conv_id, "Добрый день!")

    async def deferred() -> bool:
        delivery = (await box.message(conv_id, reply["id"]))["delivery"]
        return bool(delivery["attempts"] >= 1)

    await wait_for(deferred)
    waiting = (await box.message(conv_id, reply["id"]))["delivery"]
    # Sent only on the third attempt: until then it waits for its retry, with the reason.
    assert waiting["status"] == "pending" and waiting["attempts"] in (1, 2)
    assert waiting["error"] == f"localhost:{box.smtp.port} deferred the recipient: 451 4.7.1 " + (
        "greylisted, try again later"
    )
    sent = await box.settled(conv_id, reply["id"], "sent")  # retried by the outbox, backing off
    assert sent["delivery"]["attempts"] == 3 and sent["delivery"]["error"] is None
    got = await box.smtp.next()
    assert got.rcpt_tos == [CUSTOMER]
    assert box.smtp.recorder.rcpt_seen == [CUSTOMER] * 3
    assert box.smtp.nothing_received() and await suppressions(box) == []


async def test_a_bounce_in_the_mailbox_fails_its_reply_and_suppresses_the_address(
    box: Mailbox,
) -> None:
    conv_id = (await customer_emails(box.ctx, box.channel["id"]))["conversation"]["id"]
    reply = await box.reply(conv_id, "Добрый день!")
    sent = await box.settled(conv_id, reply["id"], "sent")
    header = sent["email"]["message_id"]

    # A delay notice and a bounce of an id the hub never made change nothing.
    assert (await record_bounce(box.ctx, header, CUSTOMER, "4.4.1", "delayed")).message_id is None
    forged = tokens.message_id("another key", reply["id"], conv_id, "company.ru")
    result = await record_bounce(box.ctx, f"<{forged}>", CUSTOMER, "5.1.1", "user unknown")
    assert (result.message_id, result.suppressed) == (None, False)
    assert await suppressions(box) == []
    assert (await box.message(conv_id, reply["id"]))["delivery"]["status"] == "sent"

    result = await record_bounce(
        box.ctx, f"<{header.upper()}>", CUSTOMER.upper(), "5.1.1", "smtp; 550 no such user"
    )
    assert (result.message_id, result.suppressed) == (reply["id"], True)
    bounced = await box.message(conv_id, reply["id"])
    assert bounced["delivery"]["status"] == "failed"
    assert bounced["delivery"]["error"] == (
        f"bounced: {CUSTOMER.upper()} could not be delivered to (5.1.1 smtp; 550 no such user)"
    )
    [entry] = await suppressions(box)
    assert (entry.address, entry.source, entry.count) == (CUSTOMER, "dsn", 1)

    # A reply refused before it was sent has no stored email: its signed id finds it.
    again = await box.reply(conv_id, "Второе письмо")
    assert (await box.settled(conv_id, again["id"], "failed"))["delivery"]["error"].startswith(
        f"{CUSTOMER} is on the suppression list"
    )
    signed = tokens.message_id(
        box.ctx.settings.resolved_secret_key(), again["id"], conv_id, "company.ru"
    )
    result = await record_bounce(box.ctx, signed, CUSTOMER, "5.2.1", "mailbox disabled")
    assert (result.message_id, result.suppressed) == (again["id"], False)
    assert (await box.message(conv_id, again["id"]))["delivery"]["error"].startswith("bounced:")
    # No email of it went to anyone, so the bounce names no address of its to suppress.
    [entry] = await suppressions(box)
    assert entry.count == 1 and "5.1.1" in entry.reason
