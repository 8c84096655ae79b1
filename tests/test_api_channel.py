"""The API channel end to end: creation, inbound messages, and replies POSTed to a real local
callback server, signed, retried, and never carrying an internal note or a system activity."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from standardwebhooks import Webhook, WebhookVerificationError

from hub.app import DELIVERY
from hub.http import CTX
from hub.inbox import delivery
from hub.inbox.models import Contact, Conversation, Message
from hub.outbound.signing import signed_headers
from hub.settings import Settings
from tests.helpers import (
    FRAME_CAP_S,
    Op,
    after_passes,
    allow_loopback,
    auth,
    customer_says,
    make_api_channel,
    make_operator,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The callback receivers of these tests are local servers: allowed explicitly. The
    delivery worker looks for due retries often, so retries happen within a test."""
    return allow_loopback(settings).model_copy(update={"delivery_poll_interval_s": 0.05})


@dataclass
class Received:
    headers: dict[str, str]
    raw: bytes

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.raw))


@dataclass
class CallbackServer:
    """A real HTTP server on 127.0.0.1 that records every request it gets."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    #: Statuses to answer, in order; 200 once they run out.
    statuses: list[int] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.received.append(Received(dict(request.headers), raw))
        status = self.statuses.pop(0) if self.statuses else 200
        self.answered.append(status)
        return web.Response(status=status, text="ok" if status < 300 else "nope")

    @property
    def delivered(self) -> list[Received]:
        """Requests that were answered 2xx."""
        return [r for r, s in zip(self.received, self.answered, strict=True) if s < 300]


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "backoff_seconds", lambda attempt, cap: 0.05)


@pytest.fixture
async def callback(aiohttp_server: Any) -> CallbackServer:
    server = CallbackServer()
    app = web.Application()
    app.router.add_post("/hook", server.handle)
    running = await aiohttp_server(app, host="127.0.0.1")
    server.url = str(running.make_url("/hook"))
    return server


async def wait_for(check: Callable[[], Awaitable[bool]], within: float = FRAME_CAP_S) -> None:
    """Until ``check()`` holds, looking every 50 ms: for what no worker's pass signals (a fake
    provider's side); a worker's effects are waited for with ``after_passes``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        assert loop.time() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def count(client: TestClient, model: Any) -> int:  # type: ignore[type-arg]
    async with client.app[CTX].sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def counts(client: TestClient) -> tuple[int, int, int]:  # type: ignore[type-arg]
    return (
        await count(client, Message),
        await count(client, Conversation),
        await count(client, Contact),
    )


async def expect_error(resp: ClientResponse, status: int, code: str) -> None:
    assert resp.status == status, await resp.text()
    data = await resp.json()
    assert set(data) == {"error"} and data["error"]["code"] == code, data
    assert isinstance(data["error"]["message"], str) and data["error"]["message"]


async def reply(
    client: TestClient,
    who: Op,
    conv_id: int,
    body: str,
    *,
    private: bool = False,  # type: ignore[type-arg]
) -> dict[str, Any]:
    resp = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"body": body, "private": private},
        headers=who.headers,
    )
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def message_by_id(
    client: TestClient,
    who: Op,
    conv_id: int,
    msg_id: int,  # type: ignore[type-arg]
) -> dict[str, Any]:
    resp = await client.get(
        f"/api/v1/conversations/{conv_id}/messages?limit=100", headers=who.headers
    )
    assert resp.status == 200, await resp.text()
    found = [m for m in (await resp.json())["items"] if m["id"] == msg_id]
    assert len(found) == 1
    return dict(found[0])


async def wait_delivery(
    client: TestClient,  # type: ignore[type-arg]
    who: Op,
    conv_id: int,
    msg_id: int,
    status: str,
    within: float = FRAME_CAP_S,
) -> dict[str, Any]:
    """Wait until the message's delivery status is ``status``; return the message."""
    found: dict[str, Any] = {}

    async def reached() -> bool:
        msg = await message_by_id(client, who, conv_id, msg_id)
        found.update(msg)
        return bool(msg["delivery"] and msg["delivery"]["status"] == status)

    await after_passes(reached, client.app[DELIVERY], within=within)
    return found


# --- creation --------------------------------------------------------------------------------


async def test_channel_secret_is_shown_once(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    resp = await client.post(
        "/api/v1/channels",
        json={"type": "api", "name": "CRM", "callback_url": "https://crm.example.com/hook"},
        headers=admin.headers,
    )
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    secret = created["secret"]
    assert isinstance(created["id"], int)
    assert isinstance(secret, str) and len(secret) >= 32
    assert created["config"] == {"callback_url": "https://crm.example.com/hook"}
    # Its callbacks verify with the same key in the Standard Webhooks form.
    assert created["webhook_secret"] == "whsec_" + base64.b64encode(secret.encode()).decode()

    listing = await client.get("/api/v1/channels", headers=admin.headers)
    assert listing.status == 200
    raw = await listing.text()
    assert secret not in raw
    assert "secret" not in raw
    items = json.loads(raw)["items"]
    assert [c["id"] for c in items] == [created["id"]]
    assert items[0]["name"] == "CRM" and items[0]["type"] == "api"

    # Two channels get two different secrets.
    other = await make_api_channel(client, admin)
    assert other["secret"] != secret


async def test_channel_creation_rules(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    op = await make_operator(client)
    await expect_error(
        await client.post(
            "/api/v1/channels", json={"type": "api", "name": "X"}, headers=op.headers
        ),
        403,
        "admin_required",
    )
    for url in ("ftp://example.com/hook", "not a url", "http://"):
        resp = await client.post(
            "/api/v1/channels",
            json={"type": "api", "name": "X", "callback_url": url},
            headers=admin.headers,
        )
        await expect_error(resp, 422, "invalid_callback_url")
    resp = await client.post(
        "/api/v1/channels",
        json={"type": "api", "name": "X", "colour": "red"},
        headers=admin.headers,
    )
    await expect_error(resp, 422, "unknown_setting")
    items = (await (await client.get("/api/v1/channels", headers=admin.headers)).json())["items"]
    assert items == []


# --- inbound ---------------------------------------------------------------------------------


async def test_inbound_with_wrong_secret_stores_nothing(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    other = await make_api_channel(client, admin)
    before = await counts(client)
    payload = {"contact": {"external_id": "x", "name": "Eve"}, "body": "let me in"}
    url = f"/api/v1/channels/{channel['id']}/inbound"
    for headers in (
        auth("wrong-secret"),
        auth(other["secret"]),  # another channel's secret
        auth(channel["secret"] + "x"),
        {"Authorization": channel["secret"]},
        {},
    ):
        resp = await client.post(url, json=payload, headers=headers)
        assert resp.status == 401, await resp.text()
        assert (await resp.json())["error"]["code"] in ("invalid_channel_secret", "missing_token")
    # An unknown channel id answers as a wrong secret does, telling nothing.
    resp = await client.post(
        "/api/v1/channels/99999/inbound", json=payload, headers=auth(channel["secret"])
    )
    await expect_error(resp, 401, "invalid_channel_secret")
    assert await counts(client) == before
    assert (await (await client.get("/api/v1/conversations", headers=admin.headers)).json())[
        "items"
    ] == []


async def test_repeated_external_message_id_stores_once(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    first = await customer_says(client, channel, "order #1", message_id="ext-1")
    assert first["duplicate"] is False
    before = await counts(client)
    again = await customer_says(client, channel, "order #1", message_id="ext-1")
    assert again["duplicate"] is True
    assert again["message"]["id"] == first["message"]["id"]
    assert await counts(client) == before

    # Concurrent redeliveries still store the message once.
    results = await asyncio.gather(
        *(customer_says(client, channel, "burst", message_id="ext-2") for _ in range(5))
    )
    assert len({r["message"]["id"] for r in results}) == 1
    assert sum(1 for r in results if not r["duplicate"]) == 1
    assert await count(client, Message) == before[0] + 1

    # The provider id is unique per channel, not globally.
    second = await make_api_channel(client, admin)
    elsewhere = await customer_says(client, second, "order #1", message_id="ext-1")
    assert elsewhere["duplicate"] is False
    assert await count(client, Message) == before[0] + 2

    msgs = await client.get(
        f"/api/v1/conversations/{first['conversation']['id']}/messages", headers=admin.headers
    )
    assert [m["body"] for m in (await msgs.json())["items"]] == ["order #1", "burst"]


async def test_contact_phone_and_email_are_normalised(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    out = await customer_says(
        client,
        channel,
        "hi",
        external_id="crm-42",
        name="  Ivan  ",
        phone="8 (916) 123-45-67",
        email="Ivan.Petrov@Example.COM",
    )
    # The same person writing again with the other spelling adds no duplicate.
    await customer_says(
        client,
        channel,
        "hi again",
        external_id="crm-42",
        phone="+7 916 1234567",
        email="ivan.petrov@example.com",
    )
    contact_id = out["conversation"]["contact_id"]
    resp = await client.get(f"/api/v1/contacts/{contact_id}", headers=admin.headers)
    assert resp.status == 200, await resp.text()
    contact = await resp.json()
    assert contact["name"] == "Ivan"
    assert contact["phones"] == ["+79161234567"]
    assert contact["emails"] == ["ivan.petrov@example.com"]
    assert [(i["channel_id"], i["external_id"]) for i in contact["identities"]] == [
        (channel["id"], "crm-42")
    ]
    assert [c["id"] for c in contact["conversations"]] == [out["conversation"]["id"]]
    assert await count(client, Contact) == 1


# --- outbound --------------------------------------------------------------------------------


async def test_reply_is_posted_signed_to_callback(
    fast_retries: None,
    callback: CallbackServer,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin", name="Anna")
    channel = await make_api_channel(client, admin, callback_url=callback.url)
    inbound = await customer_says(client, channel, "where is my order?", external_id="cust-77")
    conv_id = inbound["conversation"]["id"]
    assert callback.received == []  # a customer's own message is not echoed back

    sent = await reply(client, admin, conv_id, "Привет! It ships today.")
    assert sent["delivery"]["status"] == "pending"
    await wait_delivery(client, admin, conv_id, sent["id"], "sent")

    assert len(callback.received) == 1
    got = callback.received[0]
    # Standard Webhooks: the library verifies the real request with the secret shown at creation.
    payload = Webhook(channel["webhook_secret"]).verify(got.raw, got.headers)
    assert payload == got.payload
    assert got.headers["webhook-id"] == f"message-{sent['id']}"
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60
    assert got.headers["Content-Type"].startswith("application/json")
    # The raw recipe: HMAC-SHA256 keyed with the channel secret's bytes, over id.timestamp.body.
    signed = f"{got.headers['webhook-id']}.{got.headers['webhook-timestamp']}.".encode() + got.raw
    mac = hmac.new(channel["secret"].encode(), signed, hashlib.sha256).digest()
    assert got.headers["webhook-signature"] == "v1," + base64.b64encode(mac).decode()
    assert payload["event"] == "message.created"
    assert payload["message"]["id"] == sent["id"]
    assert payload["message"]["conversation_id"] == conv_id
    assert payload["message"]["body"] == "Привет! It ships today."
    assert payload["message"]["sender"]["name"] == "Anna"
    assert payload["contact"]["external_id"] == "cust-77"
    # The secret itself never travels.
    assert channel["secret"].encode() not in got.raw
    assert channel["secret"] not in json.dumps(got.headers)

    final = await message_by_id(client, admin, conv_id, sent["id"])
    assert final["delivery"] == {"status": "sent", "error": None, "attempts": 1}


async def test_a_replayed_callback_fails_verification(
    fast_retries: None,
    callback: CallbackServer,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin, callback_url=callback.url)
    conv_id = (await customer_says(client, channel, "hello"))["conversation"]["id"]
    sent = await reply(client, admin, conv_id, "the invoice is attached")
    await wait_delivery(client, admin, conv_id, sent["id"], "sent")
    got = callback.received[0]
    hook = Webhook(channel["webhook_secret"])
    assert hook.verify(got.raw, got.headers)["message"]["id"] == sent["id"]
    # The timestamp is signed: the captured callback with a fresh one does not verify…
    replayed = {**got.headers, "webhook-timestamp": str(int(time.time()) + 1)}
    with pytest.raises(WebhookVerificationError, match="signature"):
        hook.verify(got.raw, replayed)
    # …and the genuine signature of a callback ten minutes old is refused as too old.
    stale = signed_headers(
        channel["secret"], got.headers["webhook-id"], got.raw, at=time.time() - 600
    )
    with pytest.raises(WebhookVerificationError, match="too old"):
        hook.verify(got.raw, stale)


async def test_callback_errors_are_retried_until_delivered(
    fast_retries: None,
    callback: CallbackServer,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin, callback_url=callback.url)
    conv_id = (await customer_says(client, channel, "hello"))["conversation"]["id"]
    callback.statuses = [500, 500, 200]
    # The claim's lease (3 x delivery_timeout_s) made long, so a busy machine cannot blur
    # "as soon as the first is through" with "when the lease runs out".
    client.app[CTX].settings.delivery_timeout_s = FRAME_CAP_S
    first = await reply(client, admin, conv_id, "first reply")
    second = await reply(client, admin, conv_id, "second reply")
    # The second reply waits for the first, but no longer: well under the claim lease that
    # it would sit out if its claim were kept.
    await wait_delivery(client, admin, conv_id, second["id"], "sent")
    assert (await message_by_id(client, admin, conv_id, first["id"]))["delivery"][
        "status"
    ] == "sent"

    assert callback.answered == [500, 500, 200, 200]
    # Every attempt was the first reply until it got through; then the second, in order.
    assert [r.payload["message"]["id"] for r in callback.received] == [
        first["id"],
        first["id"],
        first["id"],
        second["id"],
    ]
    # Retries carry the same webhook-id, each attempt signed with its own timestamp.
    assert {r.headers["webhook-id"] for r in callback.received[:3]} == {f"message-{first['id']}"}
    for r in callback.received:
        Webhook(channel["webhook_secret"]).verify(r.raw, r.headers)
    msg = await message_by_id(client, admin, conv_id, first["id"])
    assert msg["delivery"] == {"status": "sent", "error": None, "attempts": 3}


async def test_callback_400_fails_and_retry_requeues(
    fast_retries: None,
    callback: CallbackServer,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin, callback_url=callback.url)
    conv_id = (await customer_says(client, channel, "hello"))["conversation"]["id"]
    callback.statuses = [400]
    sent = await reply(client, admin, conv_id, "will bounce")
    await wait_delivery(client, admin, conv_id, sent["id"], "failed")
    msg = await message_by_id(client, admin, conv_id, sent["id"])
    assert msg["delivery"]["attempts"] == 1
    assert "400" in msg["delivery"]["error"]
    assert await client.app[DELIVERY].next_pass() == 0  # a 4xx is not retried by itself
    assert len(callback.received) == 1

    # Only a failed reply may be retried.
    note = await reply(client, admin, conv_id, "a note", private=True)
    await expect_error(
        await client.post(f"/api/v1/messages/{note['id']}/retry", headers=admin.headers),
        409,
        "not_failed",
    )
    await expect_error(
        await client.post("/api/v1/messages/999999/retry", headers=admin.headers),
        404,
        "message_not_found",
    )

    resp = await client.post(f"/api/v1/messages/{sent['id']}/retry", headers=admin.headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["delivery"]["status"] == "pending"
    await wait_delivery(client, admin, conv_id, sent["id"], "sent")
    assert callback.answered == [400, 200]
    assert [r.payload["message"]["id"] for r in callback.received] == [sent["id"], sent["id"]]
    await expect_error(
        await client.post(f"/api/v1/messages/{sent['id']}/retry", headers=admin.headers),
        409,
        "not_failed",
    )


async def test_unreachable_callback_is_retried(
    fast_retries: None,
    client: TestClient,
    unused_tcp_port: int,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(
        client, admin, callback_url=f"http://127.0.0.1:{unused_tcp_port}/hook"
    )
    conv_id = (await customer_says(client, channel, "hello"))["conversation"]["id"]
    sent = await reply(client, admin, conv_id, "nobody listens")

    async def tried_twice() -> bool:
        msg = await message_by_id(client, admin, conv_id, sent["id"])
        return bool(msg["delivery"]["attempts"] >= 2)

    await after_passes(tried_twice, client.app[DELIVERY])
    msg = await message_by_id(client, admin, conv_id, sent["id"])
    assert msg["delivery"]["status"] == "pending"
    assert "unreachable" in msg["delivery"]["error"]


async def test_channel_without_callback_sends_nothing(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    conv_id = (await customer_says(client, channel, "hello"))["conversation"]["id"]
    sent = await reply(client, admin, conv_id, "stays here")
    assert sent["delivery"] is None


async def test_internal_notes_and_activities_are_never_delivered(
    fast_retries: None,
    callback: CallbackServer,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    anna = await make_operator(client, role="admin", name="Anna")
    oleg = await make_operator(client, name="Oleg")
    channel = await make_api_channel(client, anna, callback_url=callback.url)
    conv_id = (await customer_says(client, channel, "I want a refund"))["conversation"]["id"]

    note_text = "SECRET-NOTE: this customer abuses refunds"
    note = await reply(client, anna, conv_id, note_text, private=True)
    assert note["delivery"] is None
    first = await reply(client, anna, conv_id, "We are looking into it")
    resp = await client.post(
        f"/api/v1/conversations/{conv_id}/assign",
        json={"operator_id": oleg.id, "note": "HANDOFF-NOTE: check the refund policy"},
        headers=anna.headers,
    )
    assert resp.status == 200, await resp.text()
    resp = await client.post(
        f"/api/v1/conversations/{conv_id}/status", json={"status": "pending"}, headers=anna.headers
    )
    assert resp.status == 200, await resp.text()
    second_note = await reply(client, oleg, conv_id, "SECRET-NOTE 2: refund denied", private=True)
    second = await reply(client, oleg, conv_id, "Your refund is on its way")
    await wait_delivery(client, anna, conv_id, second["id"], "sent")
    assert (await message_by_id(client, anna, conv_id, first["id"]))["delivery"]["status"] == "sent"
    # A pass that starts now finds nothing more to send, and none under way is left.
    assert await client.app[DELIVERY].next_pass() == 0

    assert [r.payload["message"]["id"] for r in callback.received] == [first["id"], second["id"]]
    assert [r.payload["message"]["body"] for r in callback.received] == [
        "We are looking into it",
        "Your refund is on its way",
    ]
    everything = b"".join(r.raw for r in callback.received)
    for secret_text in ("SECRET-NOTE", "HANDOFF-NOTE", "assigned", "pending"):
        assert secret_text.encode() not in everything, secret_text
    delivered_ids = {r.payload["message"]["id"] for r in callback.received}
    assert note["id"] not in delivered_ids and second_note["id"] not in delivered_ids

    # The notes and activities are in the conversation, for operators only, and undelivered.
    items = (
        await (
            await client.get(f"/api/v1/conversations/{conv_id}/messages", headers=anna.headers)
        ).json()
    )["items"]
    private = [m for m in items if m["private"]]
    assert [m["kind"] for m in private] == ["note", "activity", "activity", "note"]
    assert all(m["delivery"] is None for m in private)


async def test_an_idle_delivery_round_writes_nothing(client: TestClient) -> None:  # type: ignore[type-arg]
    """The delivery worker looks (one read) before it claims, so an idle poll does not ride
    in the write lane; a reply waiting for delivery is seen by that look."""
    ctx = client.app[CTX]
    worker = client.app[DELIVERY]
    before = ctx.writer.batches
    assert await worker.run_once() == 0
    assert ctx.writer.batches == before
    assert not await ctx.read(delivery.anything_due)
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin, callback_url="http://127.0.0.1:9/hook")
    said = await customer_says(client, channel, "Hello")
    conv_id = said["conversation"]["id"]
    await worker.stop()  # the running loop would take the reply before the look below
    resp = await client.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"body": "Hi"}, headers=admin.headers
    )
    assert resp.status == 201, await resp.text()
    assert await ctx.read(delivery.anything_due)
