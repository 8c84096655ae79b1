"""A scheduled email keeps the tracking choice it was scheduled with: switched off, the email
that goes at its time has no pixel and no rewritten links, and its message says so; left on,
it is tracked like one sent at once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient

from tests.email_helpers import customer_emails
from tests.email_smtp import (
    TlsFiles,
    tls_files,  # noqa: F401 - fixture
    trust,  # noqa: F401 - fixture
)
from tests.test_email_outbound import Mailbox, open_mailbox
from tests.test_email_schedule import at, scheduled, tomorrow_at
from tests.test_email_tracking import parts

LINK = "https://pechipro.ru/kp/42"


@pytest.fixture
async def box(client: TestClient, trust: TlsFiles) -> AsyncIterator[Mailbox]:  # type: ignore[type-arg]  # noqa: F811
    mailbox = await open_mailbox(client, trust)
    yield mailbox
    await mailbox.smtp.close()


async def test_a_scheduled_email_goes_tracked_or_not_as_it_was_scheduled(box: Mailbox) -> None:
    said = await customer_emails(box.ctx, box.channel["id"])
    conv_id, contact_id = said["conversation"]["id"], said["conversation"]["contact_id"]
    local, moment = tomorrow_at(9)
    quiet = await scheduled(box, conv_id, local, body=f"Без слежки: {LINK}", tracking=False)
    assert quiet["tracking"] is False
    loud = await scheduled(box, conv_id, local, body=f"Со слежкой: {LINK}")
    assert loud["tracking"] is True
    resp = await box.client.post(
        f"/api/v1/contacts/{contact_id}/scheduled_emails",
        json={
            "channel_id": box.channel["id"],
            "subject": "КП без слежки",
            "body": f"Предложение: {LINK}",
            "send_at": local,
            "tracking": False,
        },
        headers=box.admin.headers,
    )
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["tracking"] is False
    assert await at(box.ctx, moment).run_once() == 3

    html = {}
    for _ in range(3):
        mail = (await box.smtp.next()).message
        html[parts(mail)[0].split(":")[0]] = parts(mail)[1]
    assert set(html) == {"Без слежки", "Со слежкой", "Предложение"}
    for untracked in ("Без слежки", "Предложение"):
        assert "/t/o/" not in html[untracked] and "/t/c/" not in html[untracked]
        assert LINK in html[untracked]
    assert "/t/o/" in html["Со слежкой"] and "/t/c/" in html["Со слежкой"]
    resp = await box.client.get(
        f"/api/v1/scheduled_emails/{quiet['id']}", headers=box.admin.headers
    )
    message = await box.message(conv_id, (await resp.json())["message_id"])
    assert message["meta"]["tracking"] is False
