"""Callbacks and webhooks never reach private, loopback, link-local or metadata addresses unless
HUB_WEBHOOK_ALLOWED_NETWORKS allows them, and never follow a redirect (DESIGN.md rule 8).

Refused when the URL is set (422 ``destination_not_allowed``, nothing written) and again on the
address the connection goes to, after DNS: rows already in the database (set before the rule, or
a name whose DNS changed since) get nothing either. The receivers are real local servers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.app import DELIVERY, SYNC, create_app
from hub.crm_sync.models import SyncAttempt, WebhookSubscription
from hub.crm_sync.outbox import record_change
from hub.errors import InvalidInput
from hub.http import CTX
from hub.inbox.models import Channel
from hub.outbound.destinations import DestinationPolicy, check_url
from hub.settings import Settings
from tests.helpers import (
    after_passes,
    allow_loopback,
    customer_says,
    make_api_channel,
    make_operator,
)

REFUSED = [
    "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
    "http://10.0.0.1/hook",
    "http://172.16.5.4/hook",
    "http://192.168.1.1/hook",
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://LOCALHOST./hook",
    "http://api.localhost/hook",
    "http://0.0.0.0/hook",
    "http://[::1]/hook",
    "http://[::]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped IPv6
    "http://[::ffff:a9fe:a9fe]/hook",  # 169.254.169.254, mapped
    "http://[64:ff9b::a00:1]/hook",  # 10.0.0.1 through NAT64
    "http://[2002:a9fe:a9fe::1]/hook",  # 169.254.169.254 in 6to4
    "http://[fd00:ec2::254]/hook",  # AWS's IPv6 metadata, unique-local
    "http://[fe80::1]/hook",
    "http://[ff02::1]/hook",
    "http://2130706433/hook",  # 127.0.0.1 in decimal
    "http://0x7f.0.0.1/hook",  # hex
    "http://0177.0.0.1/hook",  # octal
    "http://0x7f000001/hook",
    "http://127.1/hook",
    "http://0/hook",
    "http://100.64.0.1/hook",  # carrier-grade NAT
    "http://100.100.100.200/hook",  # Alibaba Cloud's metadata
    "http://192.0.0.192/hook",  # Oracle Cloud's metadata
    "http://224.0.0.1/hook",  # multicast
    "http://240.0.0.1/hook",
    "http://255.255.255.255/hook",
    "http://198.18.0.1/hook",
    "http://user:pw@10.1.2.3:8443/hook",
]
PUBLIC = [
    "http://8.8.8.8/hook",
    "https://93.184.215.14:8443/hook",
    "https://[2606:4700:4700::1111]/hook",
    "http://[::ffff:8.8.8.8]/hook",
]


async def refused(policy: DestinationPolicy, url: str) -> str | None:
    try:
        await check_url(policy, url, field="url")
    except InvalidInput as exc:
        assert exc.code == "destination_not_allowed"
        assert exc.status == 422
        return exc.message
    return None


@pytest.mark.parametrize("url", REFUSED)
async def test_non_public_destinations_are_refused_in_every_spelling(url: str) -> None:
    message = await refused(DestinationPolicy(), url)
    assert message is not None, url
    assert "HUB_WEBHOOK_ALLOWED_NETWORKS" in message


@pytest.mark.parametrize("url", PUBLIC)
async def test_public_addresses_pass(url: str) -> None:
    assert await refused(DestinationPolicy(), url) is None


async def test_a_name_is_checked_on_what_it_resolves_to() -> None:
    """This machine's own name resolves to one of its addresses, which are not public."""
    name = socket.gethostname()
    infos = await asyncio.get_running_loop().getaddrinfo(name, None, type=socket.SOCK_STREAM)
    addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    if not any(DestinationPolicy().refusal(a) for a in addresses):
        pytest.skip(f"{name} resolves to public addresses only: {addresses}")
    message = await refused(DestinationPolicy(), f"http://{name}:8080/hook")
    assert message is not None and name in message


async def test_allowed_networks_open_only_those_networks() -> None:
    policy = DestinationPolicy.from_spec("127.0.0.0/8, ::1/128,10.20.0.0/16")
    for url in (
        "http://localhost/hook",
        "http://127.0.0.1/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://2130706433/hook",
        "http://10.20.3.4/hook",
    ):
        assert await refused(policy, url) is None, url
    for url in ("http://10.21.0.1/hook", "http://169.254.169.254/", "http://[fd00::1]/"):
        assert await refused(policy, url) is not None, url


def test_the_setting_must_name_networks() -> None:
    with pytest.raises(ValidationError, match="not-a-network"):
        Settings(webhook_allowed_networks="10.0.0.0/8,not-a-network")
    assert Settings(webhook_allowed_networks="").destination_policy == DestinationPolicy()


# --- when the URL is set ----------------------------------------------------------------------


async def test_private_callback_and_webhook_urls_are_refused_and_nothing_is_written(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    h = admin.headers
    for url in (
        "http://localhost:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://10.0.0.1/hook",
        "http://0.0.0.0/hook",
        "http://2130706433/hook",
    ):
        body = {"type": "api", "name": "CRM", "callback_url": url}
        resp = await client.post("/api/v1/channels", json=body, headers=h)
        assert resp.status == 422, await resp.text()
        assert (await resp.json())["error"]["code"] == "destination_not_allowed"
        resp = await client.post("/api/v1/webhooks", json={"name": "CRM", "url": url}, headers=h)
        assert resp.status == 422, await resp.text()
        assert (await resp.json())["error"]["code"] == "destination_not_allowed"
    assert (await (await client.get("/api/v1/channels", headers=h)).json())["items"] == []
    assert (await (await client.get("/api/v1/webhooks", headers=h)).json())["items"] == []

    public = "https://93.184.215.14/hook"
    resp = await client.post("/api/v1/webhooks", json={"name": "CRM", "url": public}, headers=h)
    assert resp.status == 201, await resp.text()
    sub_id = (await resp.json())["id"]
    resp = await client.patch(
        f"/api/v1/webhooks/{sub_id}", json={"url": "http://[::ffff:a9fe:a9fe]/"}, headers=h
    )
    assert resp.status == 422, await resp.text()
    assert (await resp.json())["error"]["code"] == "destination_not_allowed"
    listed = (await (await client.get("/api/v1/webhooks", headers=h)).json())["items"]
    assert [s["url"] for s in listed] == [public]


# --- when the hub connects ----------------------------------------------------------------------


@dataclass
class Recorder:
    """A local HTTP server that records what reaches it; ``redirect_to`` makes it answer 307."""

    url: str = ""
    hits: list[str] = field(default_factory=list)
    redirect_to: str | None = None

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.hits.append(request.path)
        if self.redirect_to:
            raise web.HTTPTemporaryRedirect(self.redirect_to)
        return web.Response(text="ok")


@pytest.fixture
def recorder_factory(aiohttp_server: Any) -> Callable[..., Awaitable[Recorder]]:
    async def start(redirect_to: str | None = None) -> Recorder:
        rec = Recorder(redirect_to=redirect_to)
        app = web.Application()
        app.router.add_post("/{tail:.*}", rec.handle)
        server = await aiohttp_server(app, host="127.0.0.1")
        rec.url = str(server.make_url("/hook"))
        return rec

    return start


async def set_callback(client: TestClient, channel_id: int, url: str) -> None:  # type: ignore[type-arg]
    """A callback URL as it may already be in the database: set before the rule existed, or a
    name whose DNS answer changed since it was checked."""

    async def unit(session: AsyncSession) -> None:
        channel = await session.get(Channel, channel_id)
        assert channel is not None
        channel.config = {**channel.config, "callback_url": url}

    await client.app[CTX].write(unit)


async def delivery_of(client: TestClient, op: Any, conv_id: int, msg_id: int) -> dict[str, Any]:  # type: ignore[type-arg]
    resp = await client.get(f"/api/v1/conversations/{conv_id}/messages", headers=op.headers)
    found = [m for m in (await resp.json())["items"] if m["id"] == msg_id]
    return dict(found[0]["delivery"])


async def test_callbacks_connect_only_to_allowed_addresses(
    client: TestClient,  # type: ignore[type-arg]
    recorder_factory: Callable[..., Awaitable[Recorder]],
) -> None:
    rec = await recorder_factory()
    port = rec.url.split(":")[-1].split("/")[0]
    admin = await make_operator(client, role="admin")
    # localhost is resolved (to 127.0.0.1) and dropped by the resolver; a literal address is
    # not resolved at all and is refused by the socket factory.
    for url in (f"http://localhost:{port}/by-name", f"http://127.0.0.1:{port}/literal"):
        channel = await make_api_channel(client, admin)
        await set_callback(client, channel["id"], url)
        conv_id = (await customer_says(client, channel, "hello"))["conversation"]["id"]
        resp = await client.post(
            f"/api/v1/conversations/{conv_id}/messages", json={"body": "hi"}, headers=admin.headers
        )
        assert resp.status == 201, await resp.text()
        msg_id = (await resp.json())["id"]

        async def settled(conv_id: int = conv_id, msg_id: int = msg_id) -> bool:
            return (await delivery_of(client, admin, conv_id, msg_id))["attempts"] >= 1

        await after_passes(settled, client.app[DELIVERY])
        delivery = await delivery_of(client, admin, conv_id, msg_id)
        assert delivery["status"] == "failed", delivery
        assert delivery["attempts"] == 1  # the address does not change by waiting
        assert "loopback" in delivery["error"] and "not sent" in delivery["error"], delivery
    assert rec.hits == []


async def test_webhooks_connect_only_to_allowed_addresses(
    client: TestClient,  # type: ignore[type-arg]
    recorder_factory: Callable[..., Awaitable[Recorder]],
) -> None:
    rec = await recorder_factory()
    port = rec.url.split(":")[-1].split("/")[0]
    ctx = client.app[CTX]
    sync = client.app[SYNC]
    await sync.stop()  # its passes are driven below, one by one
    urls = (f"http://localhost:{port}/by-name", f"http://127.0.0.1:{port}/literal")

    async def rows(session: AsyncSession) -> None:
        for url in urls:  # as they may be in the database (see set_callback)
            session.add(WebhookSubscription(name=url, url=url, secret="whsec_x", events=[]))
        record_change(session, event="deal.updated", entity="deal", entity_id=1, payload={})

    await ctx.write(rows)

    async def attempts() -> list[SyncAttempt]:
        async def query(session: AsyncSession) -> list[SyncAttempt]:
            return list(await session.scalars(select(SyncAttempt)))

        return await ctx.read(query)

    assert await sync.run_once() == 1  # the change, fanned out to both subscriptions
    assert await sync.run_once() == 2  # both deliveries attempted
    assert len(await attempts()) == 2
    for attempt in await attempts():
        assert attempt.status_code is None
        assert attempt.error and "not sent" in attempt.error and "loopback" in attempt.error
    assert rec.hits == []


async def test_a_redirect_is_never_followed(
    aiohttp_client: Any,
    settings: Settings,
    recorder_factory: Callable[..., Awaitable[Recorder]],
) -> None:
    """Even to an allowed address: a 3xx is a failed attempt, and the target gets nothing."""
    target = await recorder_factory()
    bouncer = await recorder_factory(redirect_to=target.url.replace("/hook", "/stolen"))
    client = await aiohttp_client(create_app(allow_loopback(settings)))
    ctx = client.app[CTX]
    admin = await make_operator(client, role="admin")

    channel = await make_api_channel(client, admin, callback_url=bouncer.url)
    conv_id = (await customer_says(client, channel, "hello"))["conversation"]["id"]
    resp = await client.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"body": "hi"}, headers=admin.headers
    )
    msg_id = (await resp.json())["id"]

    async def tried() -> bool:
        return (await delivery_of(client, admin, conv_id, msg_id))["attempts"] >= 1

    await after_passes(tried, client.app[DELIVERY])
    delivery = await delivery_of(client, admin, conv_id, msg_id)
    assert delivery["status"] == "pending"  # retried like a 5xx
    assert "307" in delivery["error"] and "redirect" in delivery["error"], delivery

    sync = client.app[SYNC]
    await sync.stop()  # its passes are driven below, one by one
    resp = await client.post(
        "/api/v1/webhooks", json={"name": "CRM", "url": bouncer.url}, headers=admin.headers
    )
    assert resp.status == 201, await resp.text()

    async def change(session: AsyncSession) -> None:
        record_change(session, event="deal.updated", entity="deal", entity_id=1, payload={})

    await ctx.write(change)

    async def sync_attempts() -> list[SyncAttempt]:
        async def query(session: AsyncSession) -> list[SyncAttempt]:
            return list(await session.scalars(select(SyncAttempt)))

        return await ctx.read(query)

    assert await sync.run_once() == 1  # the change, fanned out
    assert await sync.run_once() == 1  # its delivery attempted
    [attempt] = await sync_attempts()
    assert attempt.status_code == 307
    assert attempt.error and "redirect" in attempt.error
    # Each attempt reached the bouncer, which answered 307; nothing followed it.
    assert len(bouncer.hits) >= 2
    assert target.hits == []
