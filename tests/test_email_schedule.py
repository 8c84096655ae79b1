"""Scheduled emails: an operator writes a reply or a new email to go at a time (the company's
zone unless he names one); it waits, editable and cancellable, and at its time becomes the
conversation's reply in the outbox, sent once to the real test SMTP server, whatever the number
of workers or restarts.

The due time is the worker's clock (``ScheduledSender(clock=…)``), set past the time instead of
waiting for it; each pass is driven by ``run_once()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hub.channels import registry
from hub.channels.email.scheduled_models import ScheduledEmail
from hub.channels.email.scheduled_sender import LEASE, ScheduledSender
from hub.channels.email.suppression import suppress
from hub.context import HubContext
from hub.inbox.models import Message, MessageKind
from hub.settings import Settings
from tests.email_helpers import CUSTOMER, customer_emails
from tests.email_smtp import (
    TlsFiles,
    tls_files,  # noqa: F401 - fixture
    trust,  # noqa: F401 - fixture
)
from tests.helpers import Op, make_operator, make_team
from tests.test_email_compose import api_contact
from tests.test_email_outbound import Mailbox, open_mailbox
from tests.test_operator_socket import connect, recv_until

MOSCOW = ZoneInfo("Europe/Moscow")  # HUB_TIMEZONE's default


@pytest.fixture
async def box(client: TestClient, trust: TlsFiles) -> AsyncIterator[Mailbox]:  # type: ignore[type-arg]  # noqa: F811
    mailbox = await open_mailbox(client, trust)
    yield mailbox
    await mailbox.smtp.close()


def tomorrow_at(hour: int, minute: int = 0, tz: ZoneInfo = MOSCOW) -> tuple[str, datetime]:
    """A wall-clock time of tomorrow in ``tz``, as a form sends it, and its UTC moment."""
    day = (datetime.now(tz) + timedelta(days=1)).date()
    local = datetime.combine(day, time(hour, minute), tzinfo=tz)
    return local.strftime("%Y-%m-%dT%H:%M"), local.astimezone(UTC)


def z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def at(ctx: HubContext, moment: datetime) -> ScheduledSender:
    """A sender whose clock says ``moment``."""
    return ScheduledSender(ctx, clock=lambda: moment)


async def email_conversation(box: Mailbox, message_id: str = "first@mail.example.org") -> int:
    said = await customer_emails(box.ctx, box.channel["id"], message_id=message_id)
    return int(said["conversation"]["id"])


async def schedule(
    box: Mailbox, conv_id: int, send_at: str, op: Op | None = None, **more: Any
) -> aiohttp.ClientResponse:
    payload = {"body": "Доброе утро! Напоминаю о предложении.", "send_at": send_at, **more}
    return await box.client.post(
        f"/api/v1/conversations/{conv_id}/scheduled_emails",
        json=payload,
        headers=(op or box.admin).headers,
    )


async def scheduled(box: Mailbox, conv_id: int, send_at: str, **more: Any) -> dict[str, Any]:
    resp = await schedule(box, conv_id, send_at, **more)
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def outgoing(ctx: HubContext) -> int:
    async def query(session: Any) -> int:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.kind == MessageKind.OUTGOING.value)
            )
        )

    return await ctx.read(query)


async def test_a_scheduled_reply_goes_once_at_its_time_in_its_thread(box: Mailbox) -> None:
    conv_id = await email_conversation(box)
    ws, _ = await connect(box.client, box.admin.token)
    local, moment = tomorrow_at(9, 30)
    item = await scheduled(box, conv_id, local)
    assert item["kind"] == "reply" and item["status"] == "scheduled"
    assert item["send_at"] == z(moment) and item["local_send_at"] == local
    assert item["time_zone"] == "Europe/Moscow" and item["conversation_id"] == conv_id
    assert item["operator"] == {"id": box.admin.id, "name": box.admin.name}
    await recv_until(ws, lambda f: f["event"] == "scheduled_email.created")
    listed = await box.client.get(
        f"/api/v1/conversations/{conv_id}/scheduled_emails", headers=box.admin.headers
    )
    assert [i["id"] for i in (await listed.json())["items"]] == [item["id"]]
    mine = await box.client.get("/api/v1/scheduled_emails?operator=me", headers=box.admin.headers)
    body = await mine.json()
    assert [i["id"] for i in body["items"]] == [item["id"]]
    assert body["time_zone"] == "Europe/Moscow"

    assert await at(box.ctx, moment - timedelta(seconds=1)).run_once() == 0
    assert await outgoing(box.ctx) == 0
    sender = at(box.ctx, moment + timedelta(seconds=1))
    assert await sender.run_once() == 1
    frames = await recv_until(
        ws, lambda f: f["event"] == "scheduled_email.updated" and f["data"]["scheduled_email"]
    )
    went = frames[-1]["data"]["scheduled_email"]
    assert went["status"] == "sent" and went["message_id"] is not None
    created = [f for f in frames if f["event"] == "message.created"]
    assert [f["data"]["message"]["id"] for f in created] == [went["message_id"]]
    assert created[0]["data"]["message"]["sender"]["id"] == box.admin.id
    sent = await box.settled(conv_id, went["message_id"], "sent")
    assert sent["body"] == "Доброе утро! Напоминаю о предложении."
    mail = (await box.smtp.next()).message
    assert str(mail["Subject"]) == "Re: Доставка в Казань"
    assert str(mail["In-Reply-To"]) == "<first@mail.example.org>"
    assert str(mail["To"]) == CUSTOMER

    # Once: the next passes find nothing, and the sent email can no longer change.
    assert await sender.run_once() == 0
    assert await at(box.ctx, moment + timedelta(days=3)).run_once() == 0
    assert await outgoing(box.ctx) == 1
    for method, path, payload in (
        ("PATCH", f"/api/v1/scheduled_emails/{item['id']}", {"body": "Другое"}),
        ("POST", f"/api/v1/scheduled_emails/{item['id']}/cancel", None),
    ):
        resp = await box.client.request(method, path, json=payload, headers=box.admin.headers)
        assert resp.status == 409
        assert (await resp.json())["error"]["code"] == "scheduled_email_sent"
    await ws.close()


async def test_times_zones_edits_and_cancel_until_it_goes(box: Mailbox) -> None:
    conv_id = await email_conversation(box)
    vladivostok = ZoneInfo("Asia/Vladivostok")
    local, moment = tomorrow_at(8, 0, vladivostok)
    item = await scheduled(box, conv_id, local, time_zone="Asia/Vladivostok")
    assert item["send_at"] == z(moment) and item["local_send_at"] == local
    offset = await scheduled(box, conv_id, z(moment + timedelta(hours=1)))
    assert offset["send_at"] == z(moment + timedelta(hours=1))
    assert offset["local_send_at"] == (moment + timedelta(hours=1)).astimezone(MOSCOW).strftime(
        "%Y-%m-%dT%H:%M"
    )

    past = (datetime.now(MOSCOW) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    far = (datetime.now(MOSCOW) + timedelta(days=400)).strftime("%Y-%m-%dT%H:%M")
    api, _ = await api_contact(box)
    api_conv = await box.client.get(
        f"/api/v1/conversations?channel={api['id']}", headers=box.admin.headers
    )
    [other] = (await api_conv.json())["items"]
    for target, send_at, more, code in (
        (conv_id, past, {}, "send_at_in_past"),
        (conv_id, far, {}, "send_at_too_far"),
        (conv_id, "2026-13-45T10:00", {}, "invalid_send_at"),
        (conv_id, local, {"time_zone": "Mars/Olympus"}, "invalid_timezone"),
        (conv_id, local, {"body": "  "}, "empty_body"),
        (conv_id, local, {"reply_to_id": 999_999}, "invalid_reply_to"),
        (other["id"], local, {}, "not_email_channel"),
    ):
        resp = await schedule(box, target, send_at, **more)
        assert resp.status == 422, (send_at, more, await resp.text())
        assert (await resp.json())["error"]["code"] == code

    path = f"/api/v1/scheduled_emails/{item['id']}"
    later_local, later = tomorrow_at(11, 15)
    resp = await box.client.patch(
        path,
        json={"body": "Исправленный текст", "send_at": later_local, "time_zone": "Europe/Moscow"},
        headers=box.admin.headers,
    )
    assert resp.status == 200, await resp.text()
    edited = await resp.json()
    assert edited["body"] == "Исправленный текст" and edited["send_at"] == z(later)
    # A zone alone keeps the clock reading: 11:15 in Vladivostok now.
    resp = await box.client.patch(
        path, json={"time_zone": "Asia/Vladivostok"}, headers=box.admin.headers
    )
    moved = await resp.json()
    assert moved["local_send_at"] == later_local
    same_clock = datetime.fromisoformat(later_local).replace(tzinfo=vladivostok)
    assert moved["send_at"] == z(same_clock.astimezone(UTC))
    for change, code in (
        ({"subject": "Тема"}, "subject_not_editable"),
        ({"send_at": past}, "send_at_in_past"),
    ):
        resp = await box.client.patch(path, json=change, headers=box.admin.headers)
        assert resp.status == 422 and (await resp.json())["error"]["code"] == code
    assert (await (await box.client.get(path, headers=box.admin.headers)).json()) == moved

    resp = await box.client.post(f"{path}/cancel", headers=box.admin.headers)
    assert resp.status == 200 and (await resp.json())["status"] == "cancelled"
    resp = await box.client.patch(path, json={"body": "Ещё"}, headers=box.admin.headers)
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "scheduled_email_cancelled"
    # Only the other one goes, whenever the worker looks.
    assert await at(box.ctx, later + timedelta(days=2)).run_once() == 1
    assert await outgoing(box.ctx) == 1
    resp = await box.client.get("/api/v1/scheduled_emails?status=later", headers=box.admin.headers)
    assert resp.status == 400
    every = await box.client.get("/api/v1/scheduled_emails?status=all", headers=box.admin.headers)
    assert {(i["id"], i["status"]) for i in (await every.json())["items"]} == {
        (item["id"], "cancelled"),
        (offset["id"], "sent"),
    }


async def test_only_its_author_and_staff_see_and_change_it(box: Mailbox) -> None:
    team = await make_team(box.client)
    author = await make_operator(box.client, team_ids=[team])
    colleague = await make_operator(box.client, team_ids=[team])
    elsewhere = await make_team(box.client)
    outsider = await make_operator(box.client, team_ids=[elsewhere])
    manager = await make_operator(box.client, role="manager")
    conv_id = await email_conversation(box)
    resp = await box.client.post(
        f"/api/v1/conversations/{conv_id}/assign",
        json={"operator_id": author.id, "team_id": team},
        headers=box.admin.headers,
    )
    assert resp.status == 200, await resp.text()
    local, _ = tomorrow_at(10)
    resp = await schedule(box, conv_id, local, op=author)
    assert resp.status == 201, await resp.text()
    item = await resp.json()
    path = f"/api/v1/scheduled_emails/{item['id']}"

    # The colleague sees the conversation, not the author's scheduled email.
    for method, url, payload in (
        ("GET", path, None),
        ("PATCH", path, {"body": "Чужое"}),
        ("POST", f"{path}/cancel", None),
    ):
        resp = await box.client.request(method, url, json=payload, headers=colleague.headers)
        assert resp.status == 404, (method, url)
        assert (await resp.json())["error"]["code"] == "scheduled_email_not_found"
    for url in ("/api/v1/scheduled_emails", f"/api/v1/conversations/{conv_id}/scheduled_emails"):
        resp = await box.client.get(url, headers=colleague.headers)
        assert (await resp.json())["items"] == []
    resp = await schedule(box, conv_id, local, op=outsider)
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "conversation_not_found"

    # Staff see everyone's, and may change them.
    resp = await box.client.get("/api/v1/scheduled_emails", headers=manager.headers)
    assert [i["id"] for i in (await resp.json())["items"]] == [item["id"]]
    resp = await box.client.get("/api/v1/scheduled_emails?operator=me", headers=manager.headers)
    assert (await resp.json())["items"] == []
    resp = await box.client.patch(path, json={"body": "Поправил"}, headers=manager.headers)
    assert resp.status == 200 and (await resp.json())["operator"]["id"] == author.id
    resp = await box.client.get(path, headers=author.headers)
    assert (await resp.json())["body"] == "Поправил"

    # Handed to another team before its time: it no longer goes in the author's name.
    resp = await box.client.post(
        f"/api/v1/conversations/{conv_id}/assign",
        json={"operator_id": outsider.id, "team_id": elsewhere},
        headers=box.admin.headers,
    )
    assert resp.status == 200, await resp.text()
    assert await at(box.ctx, datetime.now(UTC) + timedelta(days=3)).run_once() == 1
    failed = await (await box.client.get(path, headers=author.headers)).json()
    assert failed["status"] == "failed" and "no longer answer" in failed["error"]
    assert await outgoing(box.ctx) == 0


async def test_a_scheduled_new_email_opens_its_thread_and_a_suppressed_one_fails(
    box: Mailbox,
) -> None:
    _, contact_id = await api_contact(box)
    ws, _ = await connect(box.client, box.admin.token)
    local, moment = tomorrow_at(9)
    url = f"/api/v1/contacts/{contact_id}/scheduled_emails"
    payload = {
        "channel_id": box.channel["id"],
        "subject": "КП на печь",
        "body": "Добрый день! Высылаю предложение.",
        "send_at": local,
    }
    resp = await box.client.post(url, json=payload, headers=box.admin.headers)
    assert resp.status == 201, await resp.text()
    item = await resp.json()
    assert item["kind"] == "new_email" and item["to"] == CUSTOMER
    assert item["conversation_id"] is None and item["subject"] == "КП на печь"
    second = await box.client.post(
        url, json={**payload, "subject": "Второе"}, headers=box.admin.headers
    )
    assert second.status == 201

    assert await at(box.ctx, moment).run_once() == 2
    frames = await recv_until(
        ws,
        lambda f: (
            f["event"] == "scheduled_email.updated"
            and f["data"]["scheduled_email"]["id"] == item["id"]
        ),
    )
    went = frames[-1]["data"]["scheduled_email"]
    assert went["status"] == "sent" and went["conversation_id"] is not None
    assert any(
        f["event"] == "conversation.created"
        and f["data"]["conversation"]["id"] == went["conversation_id"]
        for f in frames
    )
    await box.settled(went["conversation_id"], went["message_id"], "sent")
    subjects = {str((await box.smtp.next()).message["Subject"]) for _ in range(2)}
    assert subjects == {"КП на печь", "Второе"}

    # The address bounced for good before the next one's time: it fails, and says why.
    resp = await box.client.post(
        url, json={**payload, "send_at": tomorrow_at(12)[0]}, headers=box.admin.headers
    )
    third = await resp.json()
    await suppress(box.ctx, CUSTOMER, "550 5.1.1 user unknown", "smtp")
    assert await at(box.ctx, moment + timedelta(days=1)).run_once() == 1
    resp = await box.client.get(
        f"/api/v1/scheduled_emails/{third['id']}", headers=box.admin.headers
    )
    failed = await resp.json()
    assert failed["status"] == "failed" and failed["message_id"] is None
    assert "suppression list" in failed["error"]
    assert await outgoing(box.ctx) == 2
    await ws.close()


async def test_two_workers_racing_send_each_email_once(box: Mailbox, settings: Settings) -> None:
    conv_id = await email_conversation(box)
    local, moment = tomorrow_at(9)
    ids = [(await scheduled(box, conv_id, local, body=f"Письмо {n}"))["id"] for n in range(5)]
    # Another process: its own engine, writer and bus on the same database.
    other = HubContext.build(settings)
    other.channel_capabilities = registry.capabilities()
    await other.start()
    try:
        one, two = at(box.ctx, moment), at(other, moment)
        done = await asyncio.gather(*(w.run_once() for w in (one, two, one, two)))
    finally:
        await other.close()
    assert sum(done) == len(ids)

    async def rows(session: Any) -> list[tuple[str, int | None]]:
        got = await session.execute(
            select(ScheduledEmail.status, ScheduledEmail.message_id).order_by(ScheduledEmail.id)
        )
        return [tuple(r) for r in got.all()]

    stored = await box.ctx.read(rows)
    assert [status for status, _ in stored] == ["sent"] * 5
    assert len({message for _, message in stored}) == 5
    assert await outgoing(box.ctx) == 5
    bodies = []
    for _ in range(5):
        bodies.append((await box.smtp.next()).message.get_body(("plain",)).get_content().strip())
    assert sorted(bodies) == [f"Письмо {n}" for n in range(5)]


async def test_a_claim_that_died_is_taken_over_after_its_lease_and_sent_once(
    box: Mailbox, settings: Settings
) -> None:
    conv_id = await email_conversation(box)
    local, moment = tomorrow_at(9)
    item = await scheduled(box, conv_id, local)
    first = at(box.ctx, moment)
    owner, claimed = await first.claim(moment)  # then this process "dies" before sending
    assert claimed == [item["id"]]
    resp = await box.client.patch(
        f"/api/v1/scheduled_emails/{item['id']}", json={"body": "Поздно"}, headers=box.admin.headers
    )
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "scheduled_email_sending"

    restarted = HubContext.build(settings)
    restarted.channel_capabilities = registry.capabilities()
    await restarted.start()
    try:
        assert await at(restarted, moment + LEASE / 2).run_once() == 0  # still leased
        assert await at(restarted, moment + LEASE * 2).run_once() == 1
    finally:
        await restarted.close()
    await first.send_claimed(item["id"], owner)  # the dead claim's late send: nothing
    assert await outgoing(box.ctx) == 1
    resp = await box.client.get(f"/api/v1/scheduled_emails/{item['id']}", headers=box.admin.headers)
    went = await resp.json()
    assert went["status"] == "sent"
    await box.settled(conv_id, went["message_id"], "sent")
    assert str((await box.smtp.next()).message["To"]) == CUSTOMER


async def test_a_refused_send_is_retried_by_the_outbox(box: Mailbox) -> None:
    conv_id = await email_conversation(box)
    local, moment = tomorrow_at(9)
    item = await scheduled(box, conv_id, local)
    box.smtp.recorder.rcpt_answers = ["451 4.3.0 mailbox busy, try later"]
    assert await at(box.ctx, moment).run_once() == 1
    resp = await box.client.get(f"/api/v1/scheduled_emails/{item['id']}", headers=box.admin.headers)
    message_id = (await resp.json())["message_id"]
    sent = await box.settled(conv_id, message_id, "sent")
    assert sent["delivery"]["attempts"] == 2
    assert box.smtp.recorder.rcpt_seen == [CUSTOMER, CUSTOMER]
    assert str((await box.smtp.next()).message["To"]) == CUSTOMER
