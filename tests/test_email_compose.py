"""An operator starts a new email to a contact (``POST /api/v1/contacts/{id}/emails``): a new
conversation on the email channel, sent through the outbox with its subject as written, whose
answer threads back to it; what may not be sent is refused with nothing written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hub.channels.email.suppression import suppress
from hub.inbox.models import Conversation, Message
from tests.email_helpers import CUSTOMER, customer_emails
from tests.email_smtp import (
    TlsFiles,
    tls_files,  # noqa: F401 - fixture
    trust,  # noqa: F401 - fixture
)
from tests.helpers import customer_says, make_api_channel, make_operator, make_team
from tests.test_attachments import PNG
from tests.test_email_outbound import Mailbox, open_mailbox


@pytest.fixture
async def box(client: TestClient, trust: TlsFiles) -> AsyncIterator[Mailbox]:  # type: ignore[type-arg]  # noqa: F811
    mailbox = await open_mailbox(client, trust)
    yield mailbox
    await mailbox.smtp.close()


async def api_contact(box: Mailbox, email: str | None = CUSTOMER) -> tuple[dict[str, Any], int]:
    """A customer known from the API channel, with his email: (that channel, his contact id)."""
    api = await make_api_channel(box.client, box.admin)
    said = await customer_says(box.client, api, "Пришлите прайс на почту", email=email)
    return api, int(said["conversation"]["contact_id"])


async def write(
    box: Mailbox, contact_id: int, headers: dict[str, str] | None = None, **body: Any
) -> aiohttp.ClientResponse:
    payload = {
        "channel_id": box.channel["id"],
        "subject": "Прайс на печи",
        "body": "Прайс во вложении.",
        **body,
    }
    return await box.client.post(
        f"/api/v1/contacts/{contact_id}/emails", json=payload, headers=headers or box.admin.headers
    )


async def counts(box: Mailbox) -> tuple[int, int]:
    async def query(session: Any) -> tuple[int, int]:
        convs = await session.scalar(select(func.count()).select_from(Conversation))
        msgs = await session.scalar(select(func.count()).select_from(Message))
        return int(convs), int(msgs)

    return await box.ctx.read(query)


async def test_a_new_email_opens_its_thread_and_the_answer_comes_back_to_it(box: Mailbox) -> None:
    _, contact_id = await api_contact(box)
    form = aiohttp.FormData()
    form.add_field("file", PNG, filename="прайс.png", content_type="image/png")
    api_conv = await box.client.get("/api/v1/conversations", headers=box.admin.headers)
    [listed] = (await api_conv.json())["items"]
    resp = await box.client.post(
        f"/api/v1/conversations/{listed['id']}/attachments", data=form, headers=box.admin.headers
    )
    file_id = (await resp.json())["id"]

    resp = await write(box, contact_id, attachment_ids=[file_id])
    assert resp.status == 201, await resp.text()
    made = await resp.json()
    conv, message = made["conversation"], made["message"]
    assert conv["channel"]["type"] == "email" and conv["contact"]["id"] == contact_id
    assert conv["assignee_id"] == box.admin.id and conv["id"] != listed["id"]
    assert message["delivery"]["status"] == "pending"
    assert message["email"]["subject"] == "Прайс на печи"
    assert [a["filename"] for a in message["attachments"]] == ["прайс.png"]
    sent = await box.settled(conv["id"], message["id"], "sent")
    mail = (await box.smtp.next()).message
    assert str(mail["Subject"]) == "Прайс на печи"  # as written: a new thread, no "Re:"
    assert str(mail["To"]) == CUSTOMER
    assert mail["In-Reply-To"] is None and mail["References"] is None
    assert str(mail["Message-ID"]) == f"<{sent['email']['message_id']}>"
    assert [p.get_filename() for p in mail.iter_attachments()] == ["прайс.png"]

    # His answer quotes the email's Message-ID: it lands in this conversation, and the next
    # reply answers it in the thread.
    answer = await customer_emails(
        box.ctx,
        box.channel["id"],
        subject="Re: Прайс на печи",
        body="Спасибо, а скидка есть?",
        message_id="answer@mail.example.org",
        thread=sent["email"]["message_id"],
    )
    assert answer["conversation"]["id"] == conv["id"]
    reply = await box.reply(conv["id"], "Есть, 5%.")
    await box.settled(conv["id"], reply["id"], "sent")
    mail = (await box.smtp.next()).message
    assert str(mail["Subject"]) == "Re: Прайс на печи"
    assert str(mail["In-Reply-To"]) == "<answer@mail.example.org>"
    assert str(mail["References"]) == f"<{sent['email']['message_id']}> <answer@mail.example.org>"


async def test_what_cannot_be_sent_is_refused_and_nothing_is_written(
    box: Mailbox,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    api, contact_id = await api_contact(box)
    _, no_email = await api_contact(box, email=None)
    before = await counts(box)
    cases: list[tuple[dict[str, Any], int, int, str]] = [
        ({"channel_id": api["id"]}, contact_id, 422, "not_email_channel"),
        ({}, no_email, 422, "contact_has_no_email"),
        ({"to": "someone.else@example.org"}, contact_id, 422, "invalid_to"),
        ({"subject": "   "}, contact_id, 422, "invalid_subject"),
        ({"body": " "}, contact_id, 422, "empty_body"),
        ({"attachment_ids": [999]}, contact_id, 422, "invalid_attachments"),
        ({}, 99999, 404, "contact_not_found"),
    ]
    for change, target, status, code in cases:
        resp = await write(box, target, **change)
        assert resp.status == status, (change, await resp.text())
        assert (await resp.json())["error"]["code"] == code
    # An operator of another team sees neither the contact nor the mailbox.
    team = await make_team(client)
    outsider = await make_operator(client, team_ids=[team])
    resp = await write(box, contact_id, headers=outsider.headers)
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "contact_not_found"
    await suppress(box.ctx, CUSTOMER, "550 5.1.1 user unknown", "smtp")
    resp = await write(box, contact_id)
    error = (await resp.json())["error"]
    assert resp.status == 422 and error["code"] == "address_suppressed"
    assert error["message"] == (
        f"{CUSTOMER} is on the suppression list: its mail server refused it for good "
        "(550 5.1.1 user unknown)"
    )
    assert await counts(box) == before
    assert box.smtp.nothing_received()
