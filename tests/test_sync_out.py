"""Sync out: signed webhooks reach a local receiver exactly once per idempotency key, in order
per entity, across a receiver that is down and a hub restart; the admin API and delivery log."""

from __future__ import annotations

import base64
import json
import logging
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook, WebhookVerificationError

from hub.app import SYNC, create_app
from hub.context import HubContext
from hub.crm_sync.models import SyncAttempt, SyncDelivery, SyncRecord
from hub.crm_sync.outbox import record_change
from hub.crm_sync.subscriptions import create_subscription
from hub.crm_sync.worker import GAP_GRACE_S, fan_out, pending_work
from hub.db import utcnow
from hub.http import CTX
from hub.inbox.auth import Principal
from hub.outbound.signing import signed_headers
from hub.settings import Settings
from tests.helpers import after_passes, allow_loopback, make_operator

ADMIN = Principal(0, "Admin", "admin", frozenset())


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Fast rounds and short backoffs, so retries happen within a test; the receivers are
    local servers, allowed explicitly."""
    return allow_loopback(settings).model_copy(
        update={"sync_poll_interval_s": 0.05, "sync_max_backoff_s": 0.2, "sync_timeout_s": 2.0}
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Receiver:
    """A subscriber on 127.0.0.1: down until ``up()``; answers from ``answers`` then 200."""

    port: int
    secret: str = ""
    answers: list[int] = field(default_factory=list)
    got: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    #: Every request as it arrived: headers and raw body.
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((dict(request.headers), body))
        try:
            data = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.bad_signatures += 1
            return web.Response(status=401)
        status = self.answers.pop(0) if self.answers else 200
        if status == 200:
            assert data["id"] == request.headers["webhook-id"]
            self.got.append(data)
        return web.Response(status=status, text="nope" if status != 200 else "ok")

    async def up(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def down(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver(free_port())
    try:
        yield r
    finally:
        await r.down()


async def change(ctx: HubContext, entity: str, entity_id: int, n: int, event: str = "") -> None:
    async def unit(session: AsyncSession) -> None:
        record_change(
            session,
            event=event or f"{entity}.updated",
            entity=entity,
            entity_id=entity_id,
            payload={"n": n, "title": f"Сделка {entity_id}"},
        )

    await ctx.write(unit)


async def count(ctx: HubContext, model: Any, *where: Any) -> int:
    async def query(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    return await ctx.read(query)


async def started(settings: Settings) -> tuple[web.Application, web.AppRunner]:
    app = create_app(settings)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()  # runs the lifecycle: writer, bus, workers
    return app, runner


async def test_down_then_up_across_a_restart_arrives_once_in_order(
    settings: Settings, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app, runner = await started(settings)
    ctx = app[CTX]
    sub = await create_subscription(ctx, ADMIN, name="CRM", url=receiver.url, events=[])
    receiver.secret = sub.secret
    for n in range(3):
        await change(ctx, "deal", 1, n)
        await change(ctx, "deal", 2, n)
    await change(ctx, "contact", 7, 0)
    # The receiver is down: attempts fail (connection refused) and are logged.
    await after_passes(lambda: _has_attempts(ctx, 3), app[SYNC])
    assert await count(ctx, SyncDelivery, SyncDelivery.status == "delivered") == 0
    await runner.cleanup()

    app2, runner2 = await started(settings)
    try:
        ctx2 = app2[CTX]
        await change(ctx2, "deal", 1, 3)
        await receiver.up()
        await after_passes(lambda: _all_delivered(ctx2, 8), app2[SYNC])
    finally:
        await runner2.cleanup()
    keys = [d["id"] for d in receiver.got]
    assert len(keys) == 8 and len(set(keys)) == 8, keys
    assert receiver.bad_signatures == 0
    for entity, entity_id, expected in (("deal", 1, [0, 1, 2, 3]), ("deal", 2, [0, 1, 2])):
        seen = [
            d["data"]["n"]
            for d in receiver.got
            if d["entity"] == entity and d["entity_id"] == entity_id
        ]
        assert seen == expected, (entity_id, seen)
    first = receiver.got[0]
    assert set(first) == {"id", "event", "entity", "entity_id", "created_at", "data"}
    assert first["data"]["title"].startswith("Сделка")
    assert sub.secret not in caplog.text


async def _has_attempts(ctx: HubContext, n: int) -> bool:
    return await count(ctx, SyncAttempt, SyncAttempt.status_code.is_(None)) >= n


async def _all_delivered(ctx: HubContext, n: int) -> bool:
    return await count(ctx, SyncDelivery, SyncDelivery.status == "delivered") >= n


async def test_two_hub_processes_deliver_each_record_once(
    settings: Settings, receiver: Receiver
) -> None:
    app, runner = await started(settings)
    app2, runner2 = await started(settings)
    try:
        ctx = app[CTX]
        sub = await create_subscription(ctx, ADMIN, name="CRM", url=receiver.url, events=[])
        receiver.secret = sub.secret
        await receiver.up()
        for n in range(10):
            await change(ctx if n % 2 else app2[CTX], "deal", n % 3, n)
        await after_passes(lambda: _all_delivered(ctx, 10), app[SYNC], app2[SYNC])
        # A pass that starts now has nothing left to send, and one under way when the last
        # was delivered has ended: a double delivery would be in the receiver's list by now.
        assert await app[SYNC].next_pass() == 0
        assert await app2[SYNC].next_pass() == 0
    finally:
        await runner.cleanup()
        await runner2.cleanup()
    keys = [d["id"] for d in receiver.got]
    assert len(keys) == 10 and len(set(keys)) == 10
    for deal in range(3):
        seen = [d["data"]["n"] for d in receiver.got if d["entity_id"] == deal]
        assert seen == sorted(seen) and seen == [n for n in range(10) if n % 3 == deal]


async def admin_client(client: TestClient) -> dict[str, str]:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    return admin.headers


async def test_500_then_200_shows_every_attempt_in_the_log(
    client: TestClient,  # type: ignore[type-arg]
    receiver: Receiver,
) -> None:
    h = await admin_client(client)
    resp = await client.post(
        "/api/v1/webhooks",
        json={"name": "CRM", "url": receiver.url, "events": ["deal.*"]},
        headers=h,
    )
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    receiver.secret = created["secret"]
    receiver.answers = [500, 500]
    await receiver.up()
    ctx = client.app[CTX]
    await change(ctx, "contact", 3, 0)  # not a deal event: filtered out
    await change(ctx, "deal", 5, 0, event="deal.created")
    await after_passes(lambda: _all_delivered(ctx, 1), client.app[SYNC])
    resp = await client.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=h)
    assert resp.status == 200
    items = (await resp.json())["items"]
    assert len(items) == 1
    item = items[0]
    assert item["status"] == "delivered" and item["attempts"] == 3
    assert item["event"] == "deal.created" and item["entity_id"] == 5
    assert [a["status_code"] for a in item["log"]] == [500, 500, 200]
    assert item["log"][0]["error"].startswith("HTTP 500")
    assert all(a["duration_ms"] >= 0 and a["at"] for a in item["log"])
    assert [d["entity"] for d in receiver.got] == ["deal"]


def verifies(secret: str, body: bytes, headers: Any) -> bool:
    try:
        Webhook(secret).verify(body, dict(headers))
    except WebhookVerificationError:
        return False
    return True


async def test_deliveries_are_standard_webhooks_and_a_replay_fails(
    client: TestClient,  # type: ignore[type-arg]
    receiver: Receiver,
) -> None:
    h = await admin_client(client)
    resp = await client.post(
        "/api/v1/webhooks", json={"name": "CRM", "url": receiver.url}, headers=h
    )
    created = await resp.json()
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:], validate=True)) == 32
    receiver.secret = secret
    receiver.answers = [500]
    await receiver.up()
    ctx = client.app[CTX]
    await change(ctx, "deal", 4, 0)
    await after_passes(lambda: _all_delivered(ctx, 1), client.app[SYNC])

    assert receiver.bad_signatures == 0 and len(receiver.requests) == 2
    (first_headers, first_body), (headers, body) = receiver.requests
    assert first_body == body  # the same bytes on every attempt…
    record_id = json.loads(body)["id"].split("-")[0]
    # …under the same webhook-id, the one the delivery log calls idempotency_key.
    assert first_headers["webhook-id"] == headers["webhook-id"] == f"{record_id}-{created['id']}"
    log = (
        await (await client.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=h)).json()
    )["items"]
    assert log[0]["idempotency_key"] == headers["webhook-id"]
    assert headers["X-Hub-Event"] == "deal.updated"
    for old in ("X-Hub-Signature", "X-Hub-Timestamp"):
        assert old not in headers
    assert Webhook(secret).verify(body, headers)["entity_id"] == 4

    # The timestamp is signed: the captured request with a fresh one does not verify…
    replayed = {**headers, "webhook-timestamp": str(int(time.time()) + 1)}
    with pytest.raises(WebhookVerificationError, match="signature"):
        Webhook(secret).verify(body, replayed)
    # …and the genuine signature of a delivery ten minutes old is refused as too old.
    stale = signed_headers(secret, headers["webhook-id"], body, at=time.time() - 600)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(body, stale)


async def test_secret_shown_once_and_admins_only(client: TestClient) -> None:  # type: ignore[type-arg]
    h = await admin_client(client)
    operator = await make_operator(client, role="manager")
    body = {"name": "CRM", "url": "https://crm.example.com/hook"}
    resp = await client.post("/api/v1/webhooks", json=body, headers=h)
    created = await resp.json()
    secret = created["secret"]
    assert len(secret) > 30
    resp = await client.get("/api/v1/webhooks", headers=h)
    text = await resp.text()
    assert resp.status == 200 and secret not in text and "secret" not in text
    listed = (await resp.json())["items"]
    assert [w["name"] for w in listed] == ["CRM"] and listed[0]["pending"] == 0
    resp = await client.patch(
        f"/api/v1/webhooks/{created['id']}", json={"name": "CRM 2", "active": False}, headers=h
    )
    patched = await resp.json()
    assert patched["name"] == "CRM 2" and patched["active"] is False and "secret" not in patched
    for method, path in (
        ("GET", "/api/v1/webhooks"),
        ("POST", "/api/v1/webhooks"),
        ("PATCH", f"/api/v1/webhooks/{created['id']}"),
        ("DELETE", f"/api/v1/webhooks/{created['id']}"),
        ("GET", f"/api/v1/webhooks/{created['id']}/deliveries"),
        ("POST", "/api/v1/webhooks/deliveries/1/retry"),
    ):
        resp = await client.request(method, path, json=body, headers=operator.headers)
        assert resp.status == 403, (method, path)
        assert (await resp.json())["error"]["code"] == "admin_required"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "x", "url": "ftp://example.com"}, "invalid_url"),
        ({"name": "x", "url": "not a url"}, "invalid_url"),
        ({"name": " ", "url": "https://example.com"}, "invalid_name"),
        ({"name": "x", "url": "https://example.com", "events": ["Deal Updated"]}, "invalid_event"),
        ({"name": "x", "url": "https://example.com", "secret": "mine"}, "validation_error"),
    ],
)
async def test_bad_subscriptions_are_refused(
    client: TestClient,  # type: ignore[type-arg]
    body: dict[str, Any],
    code: str,
) -> None:
    h = await admin_client(client)
    resp = await client.post("/api/v1/webhooks", json=body, headers=h)
    assert resp.status == 422 and (await resp.json())["error"]["code"] == code
    resp = await client.get("/api/v1/webhooks", headers=h)
    assert (await resp.json())["items"] == []


async def test_failed_after_max_attempts_then_retried_by_the_admin(
    client: TestClient,  # type: ignore[type-arg]
    receiver: Receiver,
) -> None:
    ctx = client.app[CTX]
    ctx.settings.sync_max_attempts = 2
    h = await admin_client(client)
    resp = await client.post(
        "/api/v1/webhooks", json={"name": "CRM", "url": receiver.url}, headers=h
    )
    created = await resp.json()
    receiver.secret = created["secret"]
    receiver.answers = [503, 503]
    await receiver.up()
    await change(ctx, "deal", 9, 0)
    await after_passes(lambda: _count_status(ctx, "failed", 1), client.app[SYNC])
    resp = await client.get(f"/api/v1/webhooks/{created['id']}/deliveries?status=failed", headers=h)
    failed = (await resp.json())["items"][0]
    assert failed["attempts"] == 2 and failed["last_error"].startswith("HTTP 503")
    assert receiver.got == []
    resp = await client.post("/api/v1/webhooks/deliveries/999999/retry", headers=h)
    assert resp.status == 404
    resp = await client.post(f"/api/v1/webhooks/deliveries/{failed['id']}/retry", headers=h)
    assert resp.status == 200 and (await resp.json())["status"] == "pending"
    await after_passes(lambda: _all_delivered(ctx, 1), client.app[SYNC])
    assert [d["entity_id"] for d in receiver.got] == [9]
    resp = await client.post(f"/api/v1/webhooks/deliveries/{failed['id']}/retry", headers=h)
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "not_failed"
    resp = await client.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=h)
    log = (await resp.json())["items"][0]["log"]
    assert [a["status_code"] for a in log] == [503, 503, 200]


async def _count_status(ctx: HubContext, status: str, n: int) -> bool:
    return await count(ctx, SyncDelivery, SyncDelivery.status == status) >= n


async def test_disabled_or_deleted_subscription_stops_receiving(
    client: TestClient,  # type: ignore[type-arg]
    receiver: Receiver,
) -> None:
    ctx = client.app[CTX]
    h = await admin_client(client)
    subs = []
    for name in ("A", "B", "C"):
        resp = await client.post(
            "/api/v1/webhooks", json={"name": name, "url": receiver.url}, headers=h
        )
        subs.append(await resp.json())
    # One receiver, three subscriptions with their own secrets: verify with each in turn.
    secrets = [s["secret"] for s in subs]
    received: list[tuple[int, int]] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        which = [i for i, secret in enumerate(secrets) if verifies(secret, body, request.headers)]
        assert len(which) == 1
        received.append((which[0], json.loads(body)["data"]["n"]))
        return web.Response(text="ok")

    receiver.handle = handle  # type: ignore[method-assign]
    await receiver.up()
    await change(ctx, "deal", 1, 0)
    await after_passes(lambda: _all_delivered(ctx, 3), client.app[SYNC])
    assert sorted(received) == [(0, 0), (1, 0), (2, 0)]
    resp = await client.patch(
        f"/api/v1/webhooks/{subs[0]['id']}", json={"active": False}, headers=h
    )
    assert resp.status == 200
    resp = await client.delete(f"/api/v1/webhooks/{subs[1]['id']}", headers=h)
    assert resp.status == 200
    resp = await client.get(f"/api/v1/webhooks/{subs[1]['id']}/deliveries", headers=h)
    assert resp.status == 404
    await change(ctx, "deal", 1, 1)
    # A's and C's deliveries of the first change (B's went with it), and C's of this one.
    await after_passes(lambda: _all_delivered(ctx, 3), client.app[SYNC])
    assert await client.app[SYNC].next_pass() == 0  # nothing else is left to send
    assert sorted(received) == [(0, 0), (1, 0), (2, 0), (2, 1)]
    assert await count(ctx, SyncDelivery, SyncDelivery.subscription_id == subs[1]["id"]) == 0


def test_webhook_secrets_are_masked_in_log_lines() -> None:
    from hub.logs import redact

    line = "posting with whsec_" + "a1B2" * 10 + " failed"
    assert "a1B2" not in redact(line) and "[redacted]" in redact(line)
    # A Standard Webhooks secret is standard base64: + / = are part of it.
    secret = "whsec_" + "+/a1" * 4 + "B2/+" * 8 + "=="
    assert redact(f"with {secret} failed") == "with [redacted] failed"


async def test_fan_out_waits_for_a_hole_in_the_record_ids_then_passes_an_old_one(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """A record id given out to a transaction that has not committed yet leaves a hole: the
    fan-out stops before it (nothing is skipped), and passes it once the record after it is
    older than the grace (a rolled-back change never fills it)."""
    ctx = client.app[CTX]
    await client.app[SYNC].stop()  # this test drives the fan-out by hand
    await create_subscription(ctx, ADMIN, name="CRM", url="http://127.0.0.1:9/", events=[])
    now = utcnow()

    def record(record_id: int, age_s: float = 0) -> SyncRecord:
        return SyncRecord(
            id=record_id,
            event="deal.updated",
            entity="deal",
            entity_id=1,
            ordering_key="deal:1",
            payload={"n": record_id},
            created_at=now - timedelta(seconds=age_s),
        )

    async def add(*records: SyncRecord) -> None:
        async def unit(session: AsyncSession) -> None:
            session.add_all(records)

        await ctx.write(unit)

    async def delivered_records() -> list[int]:
        async def query(session: AsyncSession) -> list[int]:
            rows = await session.scalars(select(SyncDelivery.record_id).order_by(SyncDelivery.id))
            return list(rows)

        return await ctx.read(query)

    await add(record(1), record(3))
    assert await ctx.write(fan_out) == 1
    assert await delivered_records() == [1]
    assert await ctx.write(fan_out) == 0  # still waiting for 2
    await add(record(2))
    assert await ctx.write(fan_out) == 2
    assert await delivered_records() == [1, 2, 3]
    await add(record(5, age_s=GAP_GRACE_S + 5))  # 4 never came, and 5 is old: pass the hole
    assert await ctx.write(fan_out) == 1
    assert await delivered_records() == [1, 2, 3, 5]


async def test_an_idle_round_writes_nothing_and_new_work_is_seen(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """The worker looks (one read) before it claims: an idle round runs no write unit, and a
    new record or a due delivery is seen by that look."""
    ctx = client.app[CTX]
    await client.app[SYNC].stop()  # this test drives the rounds by hand
    assert await ctx.read(pending_work) == (False, False)
    before = ctx.writer.batches
    assert await client.app[SYNC].run_once() == 0
    assert ctx.writer.batches == before
    await create_subscription(ctx, ADMIN, name="CRM", url="http://127.0.0.1:9/", events=[])

    async def unit(session: AsyncSession) -> None:
        record_change(session, event="deal.updated", entity="deal", entity_id=1, payload={"n": 1})

    await ctx.write(unit)
    assert await ctx.read(pending_work) == (True, False)
    assert await ctx.write(fan_out) == 1
    assert await ctx.read(pending_work) == (False, True)
