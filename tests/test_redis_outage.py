"""A Redis outage under load, with two real hub processes: no operator misses an event unawares.

Served backend only: the run's PostgreSQL database (emptied first) and a redis-server of the
test's own (``tests.redis_faults``; never the shared one), which the test kills or shuts down
while customers write to both processes, and starts again: empty, from an older save file, or
from a save of everything. Every message is stored and acknowledged meanwhile, but the events
of those written while Redis was away never reach it. The hub's promise, checked here:

* every operator socket got every ``message.created`` event, or got ``resync`` and, refetching
  over REST after it as the inbox does, saw the message there (a resync may come before the
  writer's acknowledgement: the event was appended after the commit, before the answer left);
* a resume from before the outage answers ``resync``, never ``resumed`` with events missing;
* live fan-out works again within ``LIVE_AGAIN_S`` of Redis answering;
* a socket opened while Redis is away is closed with 1013 (try again later), not left dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType

from hub.app import create_app
from tests.conftest import ServedServices, base_settings, require_served, truncate_all
from tests.helpers import auth, customer_says, make_api_channel, make_operator
from tests.redis_faults import RedisServer
from tests.test_two_processes import Hub, login, running_pair, served_hub_env

#: What the hub promises: fan-out is live again this soon after Redis answers.
LIVE_AGAIN_S = 5.0
#: How long the test waits for anything at most (a busy machine is slow, not broken).
CAP_S = 30.0
OUTAGE_S = 3.0
SOCKETS_PER_HUB = 3
WRITERS_PER_HUB = 2


@dataclass
class Socket:
    """An operator socket and every frame it got, with when (the loop's clock)."""

    name: str
    ws: aiohttp.ClientWebSocketResponse
    #: What the inbox does on ``resync``: fetch the messages again over REST.
    refetch: Callable[[], Awaitable[set[int]]]
    frames: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None
    #: The refetches started by each ``resync``, in order.
    refetches: list[asyncio.Task[set[int]]] = field(default_factory=list)
    refetch_after: list[float] = field(default_factory=list)

    async def read(self) -> None:
        loop = asyncio.get_running_loop()
        async for msg in self.ws:
            if msg.type != WSMsgType.TEXT:
                break
            frame = json.loads(msg.data)
            self.frames.append((loop.time(), frame))
            if frame.get("type") == "resync":
                self.refetches.append(asyncio.create_task(self.refetch()))
                self.refetch_after.append(loop.time())
            self.arrived.set()

    async def covered(self, message: Written) -> bool:
        """Whether a refetch after a resync saw ``message``, which was posted before that
        resync came (one posted later must come live: a refetch that happened to see it
        would hide its lost event)."""
        seen = await asyncio.gather(*self.refetches)
        return any(
            message.message_id in ids and message.posted_at < at
            for at, ids in zip(self.refetch_after, seen, strict=True)
        )

    def message_ids(self) -> dict[int, float]:
        """The id of each message whose ``message.created`` came, and when it came first."""
        got: dict[int, float] = {}
        for at, frame in self.frames:
            if frame.get("type") == "event" and frame["event"] == "message.created":
                got.setdefault(frame["data"]["message"]["id"], at)
        return got

    def resyncs(self) -> list[float]:
        return [at for at, frame in self.frames if frame.get("type") == "resync"]

    async def wait(self, done: Any, within: float = CAP_S) -> None:
        async def until() -> None:
            while not done():
                self.arrived.clear()
                await self.arrived.wait()

        try:
            await asyncio.wait_for(until(), within)
        except TimeoutError:
            kinds = [f.get("event", f["type"]) for _, f in self.frames[-10:]]
            pytest.fail(f"socket {self.name}: not done after {within} s; last frames {kinds}")


@dataclass
class Written:
    message_id: int
    posted_at: float
    acked_at: float


@dataclass
class Outage:
    redis: RedisServer
    hubs: list[Hub]
    http: aiohttp.ClientSession
    token: str
    channel: dict[str, Any]
    written: list[Written] = field(default_factory=list)

    async def say(self, hub: Hub, customer: str, body: str) -> Written:
        loop = asyncio.get_running_loop()
        posted_at = loop.time()
        async with self.http.post(
            f"{hub.base}/api/v1/channels/{self.channel['id']}/inbound",
            json={"contact": {"external_id": customer, "name": customer}, "body": body},
            headers=auth(self.channel["secret"]),
        ) as resp:
            assert resp.status in (200, 201), await resp.text()  # stored, Redis or not
            out = await resp.json()
        written = Written(out["message"]["id"], posted_at, loop.time())
        self.written.append(written)
        return written

    async def refetch(self, hub: Hub) -> set[int]:
        """Every message id in every conversation, as the inbox refetches after ``resync``."""
        seen: set[int] = set()
        async with self.http.get(
            f"{hub.base}/api/v1/conversations?limit=100", headers=auth(self.token)
        ) as resp:
            assert resp.status == 200, await resp.text()
            conversations = (await resp.json())["items"]
        for conv in conversations:
            after = 0
            while True:
                async with self.http.get(
                    f"{hub.base}/api/v1/conversations/{conv['id']}/messages",
                    params={"after": after, "limit": 100},
                    headers=auth(self.token),
                ) as resp:
                    assert resp.status == 200, await resp.text()
                    page = await resp.json()
                seen.update(m["id"] for m in page["items"])
                if not page["has_more"]:
                    break
                after = page["items"][-1]["id"]
        return seen

    async def open_socket(self, hub: Hub, name: str) -> Socket:
        ws = await self.http.ws_connect(f"{hub.base}/ws/operator", headers=auth(self.token))
        sock = Socket(name, ws, lambda: self.refetch(hub))
        sock.reader = asyncio.create_task(sock.read())
        await sock.wait(lambda: bool(sock.frames))
        assert sock.frames[0][1]["type"] == "ready", sock.frames[0]
        return sock


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    redis = RedisServer(tmp_path / "redis")
    await redis.start()
    try:
        yield redis
    finally:
        await redis.stop()


@pytest.fixture
async def outage(
    own_redis: RedisServer, served_services: ServedServices | str, tmp_path: Path
) -> AsyncIterator[Outage]:
    served = require_served(served_services)
    await truncate_all(served)
    redis = own_redis
    prefix = f"hubtest:outage-{uuid.uuid4().hex[:8]}"
    env = await served_hub_env(served.database_url, redis.url, prefix)
    async with running_pair(env, tmp_path) as (http, hubs):
        token = await login(http, hubs[0])
        async with http.post(
            f"{hubs[1].base}/api/v1/channels",
            json={"type": "api", "name": "Shop"},
            headers=auth(token),
        ) as resp:
            assert resp.status == 201, await resp.text()
            channel = await resp.json()
        yield Outage(redis, hubs, http, token, channel)


async def write_until(outage: Outage, hub: Hub, customer: str, done: asyncio.Event) -> None:
    """A customer who writes on and on (a short pause between messages) until ``done``."""
    n = 0
    while not done.is_set():
        await outage.say(hub, customer, f"{customer} says {n}")
        n += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 0.05)


@pytest.mark.parametrize("restart", ["empty", "older save", "full save"])
async def test_no_operator_misses_an_event_unawares_across_a_redis_outage(
    outage: Outage, restart: str
) -> None:
    a, b = outage.hubs
    loop = asyncio.get_running_loop()
    sockets = [
        await outage.open_socket(hub, f"{hub.name}{k}")
        for hub in (a, b)
        for k in range(SOCKETS_PER_HUB)
    ]
    # An operator who will come back after the outage with the last id he saw before it.
    leaving = await outage.open_socket(a, "leaving")

    stop_writing = asyncio.Event()
    writers = [
        asyncio.create_task(write_until(outage, hub, f"{hub.name}-customer-{k}", stop_writing))
        for hub in (a, b)
        for k in range(WRITERS_PER_HUB)
    ]
    try:
        await leaving.wait(lambda: len(leaving.message_ids()) >= 10)
        if restart == "older save":
            await outage.redis.save()
        await leaving.wait(lambda: len(leaving.message_ids()) >= 40)
        await leaving.ws.close()
        assert leaving.reader is not None
        await leaving.reader
        last_seen = next(f["id"] for _, f in reversed(leaving.frames) if f["type"] == "event")
        left_at = loop.time()

        down_at = loop.time()
        if restart == "full save":
            await outage.redis.shutdown()
        else:
            await outage.redis.kill()
            if restart == "empty":
                outage.redis.dump.unlink(missing_ok=True)
        await asyncio.sleep(OUTAGE_S)  # customers write on meanwhile; nothing to wait for
        await outage.redis.start()
        up_at = loop.time()
        lost = [w for w in outage.written if down_at < w.acked_at < up_at]
        assert lost, "no message was written while Redis was away: the test proves nothing"

        # Live again: each socket gets the event of a message written after Redis came back.
        for sock in sockets:
            await sock.wait(
                lambda sock=sock: any(  # type: ignore[misc]
                    w.posted_at > up_at and w.message_id in sock.message_ids()
                    for w in outage.written
                )
            )
        live_after = {
            sock.name: min(
                sock.message_ids()[w.message_id] - up_at
                for w in outage.written
                if w.posted_at > up_at and w.message_id in sock.message_ids()
            )
            for sock in sockets
        }
    finally:
        stop_writing.set()
        await asyncio.gather(*writers)
    assert max(live_after.values()) <= LIVE_AGAIN_S, live_after

    # The last message reaches everyone: what each socket has now is all it will get.
    final = await outage.say(a, "a-customer-0", "the last word")
    for sock in sockets:
        await sock.wait(lambda sock=sock: final.message_id in sock.message_ids())  # type: ignore[misc]

    missing_total = 0
    for sock in sockets:
        got, resyncs = sock.message_ids(), sock.resyncs()
        missing = [w for w in outage.written if w.message_id not in got]
        missing_total += len(missing)
        unawares = [w.message_id for w in missing if not await sock.covered(w)]
        assert unawares == [], (
            f"socket {sock.name} missed {len(unawares)} messages that no refetch after a resync "
            f"saw ({len(missing)} missed, resyncs at {[round(t - up_at, 2) for t in resyncs]} s)"
        )
    assert missing_total > 0, "no socket missed an event: the outage lost nothing to Redis"

    # The operator who left comes back, to the other process, with the last id he saw.
    back = await outage.open_socket(b, "back")
    await back.ws.send_json({"type": "resume", "after": last_seen})
    await back.wait(lambda: any(f["type"] in ("resumed", "resync") for _, f in back.frames))
    answer = next(f for _, f in back.frames if f["type"] in ("resumed", "resync"))
    replayed = back.message_ids()
    missed = [w.message_id for w in outage.written if w.posted_at > left_at]
    assert answer["type"] == "resync" or set(missed) <= set(replayed), (
        f"resumed with {len(set(missed) - set(replayed))} of {len(missed)} messages missing"
    )
    assert answer["type"] == "resync", answer  # the outage lost events after his id
    for sock in [*sockets, back]:
        await sock.ws.close()


async def test_a_socket_opened_while_redis_is_away_is_told_to_come_back(
    own_redis: RedisServer,
    served_services: ServedServices | str,
    tmp_path: Path,
    aiohttp_client: Any,
) -> None:
    """The sockets already open stay open (REST and the database still work) and get
    ``resync`` once Redis is back; a socket opened meanwhile cannot say where the stream is,
    so it is closed with 1013 at once and its client comes back later."""
    served = require_served(served_services)
    await truncate_all(served)
    settings = base_settings(
        database_url=served.database_url,
        redis_url=own_redis.url,
        redis_prefix=f"hubtest:outage-{uuid.uuid4().hex[:8]}",
        media_dir=tmp_path / "media",
    )
    client = await aiohttp_client(create_app(settings))
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    ws = await client.ws_connect("/ws/operator", headers=admin.headers)
    seen = (await ws.receive_json(timeout=10))["last_event_id"]

    await own_redis.kill()
    refused = await client.ws_connect("/ws/operator", headers=admin.headers)
    msg = await refused.receive(timeout=10)
    assert msg.type == WSMsgType.CLOSE and msg.data == 1013, (msg.type, msg.data)
    stored = await customer_says(client, channel, "written while Redis is away")

    await own_redis.start()
    frame = await ws.receive_json(timeout=CAP_S)
    assert frame["type"] == "resync", frame
    back = await client.ws_connect(f"/ws/operator?after={seen}", headers=admin.headers)
    assert (await back.receive_json(timeout=10))["type"] == "ready"
    assert (await back.receive_json(timeout=CAP_S))["type"] == "resync"
    resp = await client.get(
        f"/api/v1/conversations/{stored['conversation']['id']}/messages", headers=admin.headers
    )
    assert resp.status == 200
    assert stored["message"]["id"] in [m["id"] for m in (await resp.json())["items"]]
    for sock in (ws, back, refused):
        await sock.close()
