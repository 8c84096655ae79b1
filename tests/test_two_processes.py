"""Two real hub processes on one PostgreSQL database and one Redis: events cross between them.

Served backend only (``HUB_TEST_PG_URL`` and ``HUB_TEST_REDIS_URL``). The database is the run's
shared test database, so it is emptied first; the Redis prefix is this test's own.

Every wait is on a readiness signal (``/readyz`` answers 200, a frame arrives, the process
exits), never a deadline sized for a quiet machine: starting a Python process that imports the
hub took over 30 s on a machine running two other test suites. The caps below are last resorts
against a hang, and the tests' own time limit is raised to fit them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType

from hub.bus import parse_event_id
from hub.context import HubContext
from hub.events import EVENTS_TOPIC
from hub.inbox.staff import create_operator
from hub.redis_bus import RedisBus
from tests.conftest import ServedServices, base_settings, require_served, truncate_all
from tests.helpers import FRAME_CAP_S, auth

#: The last resort of a wait for a hub to be ready or to exit, never the expected time.
READY_CAP_S = 240.0
pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[1]
SECRET = "two-processes-secret-key"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "two-processes-password"


@dataclass
class Hub:
    name: str
    proc: asyncio.subprocess.Process
    base: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


#: Starts of a hub whose port another process took first, before the test fails.
_PORT_ATTEMPTS = 3
#: One readiness look; a slow answer is looked for again until ``READY_CAP_S``.
_LOOK = aiohttp.ClientTimeout(total=5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_hub(name: str, env: dict[str, str], tmp: Path) -> Hub:
    port = free_port()
    log = tmp / f"{name}.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub", "serve", "--host", "127.0.0.1", "--port", str(port),
            env=env, cwd=tmp, stdout=out, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    return Hub(name, proc, f"http://127.0.0.1:{port}", log)


async def wait_ready(http: aiohttp.ClientSession, hub: Hub) -> None:
    """Until the hub's ``/readyz`` answers 200; fails at once if the process exits."""
    deadline = asyncio.get_running_loop().time() + READY_CAP_S
    while asyncio.get_running_loop().time() < deadline:
        if hub.proc.returncode is not None:
            pytest.fail(f"hub {hub.name} exited with {hub.proc.returncode}:\n{hub.output()}")
        # Each look is bounded too: a port another process listens on answers nothing.
        with contextlib.suppress(aiohttp.ClientError, OSError):
            async with http.get(f"{hub.base}/readyz", timeout=_LOOK) as resp:
                if resp.status == 200:
                    return
        await asyncio.sleep(0.2)
    pytest.fail(f"hub {hub.name} not ready after {READY_CAP_S} s:\n{hub.output()}")


async def start_ready(
    http: aiohttp.ClientSession, name: str, env: dict[str, str], tmp: Path
) -> Hub:
    """``start_hub``, then ``wait_ready``. ``free_port`` cannot hold the port it picks: when
    another process took it before the hub bound it, the hub exits at once, and it is started
    again on another port (a few times at most); any other failure stops it and fails."""
    for attempt in range(_PORT_ATTEMPTS):
        hub = await start_hub(name, env, tmp)
        try:
            await wait_ready(http, hub)
            return hub
        except pytest.fail.Exception:
            await stop(hub)
            taken = "address already in use" in hub.output()
            if not taken or attempt == _PORT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def stop(hub: Hub) -> int:
    """Stop the hub with SIGTERM and wait until it exits (SIGKILL only if it hangs)."""
    if hub.proc.returncode is None:
        hub.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(hub.proc.wait(), READY_CAP_S)
        except TimeoutError:
            hub.proc.kill()
            await hub.proc.wait()
    assert hub.proc.returncode is not None
    return hub.proc.returncode


async def recv(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await ws.receive(timeout=FRAME_CAP_S)
    assert msg.type == WSMsgType.TEXT, (msg.type, msg.data)
    frame: dict[str, Any] = json.loads(msg.data)
    return frame


async def recv_events(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    frames = []
    for _ in range(count):
        frame = await recv(ws)
        assert frame["type"] == "event", frame
        frames.append(frame)
    return frames


async def recv_until(
    ws: aiohttp.ClientWebSocketResponse, match: Any, limit: int = 50
) -> list[dict[str, Any]]:
    """Event frames up to and including the first that ``match``es."""
    frames = []
    for _ in range(limit):
        frames.extend(await recv_events(ws, 1))
        if match(frames[-1]):
            return frames
    pytest.fail(f"no matching event among {[f['event'] for f in frames]}")


def message_with_id(message_id: int) -> Any:
    return lambda f: f["event"] == "message.created" and f["data"]["message"]["id"] == message_id


@dataclass
class TwoHubs:
    a: Hub
    b: Hub
    http: aiohttp.ClientSession
    bus: RedisBus  # the one both processes share, read directly by the test


async def served_hub_env(database_url: str, redis_url: str, prefix: str) -> dict[str, str]:
    """Make the admin ``login`` signs in as, and the environment of hub processes sharing
    this database and Redis under ``prefix`` (without the lead intake, whose events would
    interleave with the sequences the tests read)."""
    settings = base_settings(
        database_url=database_url, redis_url=redis_url, redis_prefix=prefix, secret_key=SECRET
    )
    ctx = HubContext.build(settings)
    await ctx.start()
    try:
        await create_operator(
            ctx, email=ADMIN_EMAIL, name="Admin", role="admin", password=ADMIN_PASSWORD
        )
    finally:
        await ctx.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_DATABASE_URL=database_url,
        HUB_REDIS_URL=redis_url,
        HUB_REDIS_PREFIX=prefix,
        HUB_SECRET_KEY=SECRET,
        HUB_FAST_PASSWORD_HASH="true",
        HUB_SHUTDOWN_TIMEOUT_S="5",
        HUB_DB_TIMEOUT_S="30",  # as tests.conftest.base_settings: the suite loads the machine
        HUB_LEAD_INTAKE="false",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    return env


@pytest.fixture
async def two_hubs(served_services: ServedServices | str, tmp_path: Path) -> AsyncIterator[TwoHubs]:
    served = require_served(served_services)
    await truncate_all(served)
    prefix = f"{served.redis_prefix}:two-{uuid.uuid4().hex[:8]}"
    env = await served_hub_env(served.database_url, served.redis_url, prefix)
    async with running_pair(env, tmp_path) as (http, hubs):
        bus = RedisBus(served.redis_url, prefix)
        await bus.start()
        try:
            yield TwoHubs(hubs[0], hubs[1], http, bus)
        finally:
            await bus.close()


@contextlib.asynccontextmanager
async def running_pair(
    env: dict[str, str], tmp_path: Path
) -> AsyncIterator[tuple[aiohttp.ClientSession, list[Hub]]]:
    """Hub processes "a" and "b" with this environment, both ready; stopped on the way out."""
    hubs: list[Hub] = []
    try:
        async with aiohttp.ClientSession() as http:
            for name in ("a", "b"):
                hubs.append(await start_ready(http, name, env, tmp_path))
            yield http, hubs
    finally:
        for hub in hubs:
            await stop(hub)


async def login(http: aiohttp.ClientSession, hub: Hub) -> str:
    async with http.post(
        f"{hub.base}/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    ) as resp:
        assert resp.status == 200, await resp.text()
        return str((await resp.json())["token"])


async def open_socket(
    http: aiohttp.ClientSession, hub: Hub, token: str
) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
    ws = await http.ws_connect(f"{hub.base}/ws/operator", headers=auth(token))
    ready = await recv(ws)
    assert ready["type"] == "ready", ready
    return ws, ready


async def customer_says(
    http: aiohttp.ClientSession, hub: Hub, channel: dict[str, Any], body: str
) -> dict[str, Any]:
    payload = {"contact": {"external_id": "cust-1", "name": "Ivan"}, "body": body}
    async with http.post(
        f"{hub.base}/api/v1/channels/{channel['id']}/inbound",
        json=payload,
        headers=auth(channel["secret"]),
    ) as resp:
        assert resp.status in (200, 201), await resp.text()
        return dict(await resp.json())


async def test_event_crosses_between_processes(
    two_hubs: TwoHubs,
) -> None:
    a, b, http = two_hubs.a, two_hubs.b, two_hubs.http
    token = await login(http, a)  # a session made on A works on B: the database is shared
    ws_a, _ = await open_socket(http, a, token)

    async with http.post(
        f"{b.base}/api/v1/channels", json={"type": "api", "name": "Shop"}, headers=auth(token)
    ) as resp:
        assert resp.status == 201, await resp.text()
        channel = await resp.json()
    out = await customer_says(http, b, channel, "Hello from process B")

    created, message = await recv_until(ws_a, message_with_id(out["message"]["id"]))
    assert created["event"] == "conversation.created"
    assert created["data"]["conversation"]["id"] == out["conversation"]["id"]
    assert message["event"] == "message.created"
    assert message["data"]["conversation_id"] == out["conversation"]["id"]
    assert message["data"]["message"]["id"] == out["message"]["id"]
    assert message["data"]["message"]["body"] == "Hello from process B"
    assert message["data"]["message"]["private"] is False

    # And the other way: an operator's note made on A reaches a socket on B.
    ws_b, _ = await open_socket(http, b, token)
    conv_id = out["conversation"]["id"]
    async with http.post(
        f"{a.base}/api/v1/conversations/{conv_id}/messages",
        json={"body": "note written on A", "private": True},
        headers=auth(token),
    ) as resp:
        assert resp.status == 201, await resp.text()
        note = await resp.json()
    note_event = (await recv_until(ws_b, message_with_id(note["id"])))[-1]
    assert note_event["data"]["message"]["body"] == "note written on A"
    assert note_event["data"]["message"]["private"] is True
    # A's own socket saw the same event with the same id: ids are shared across processes.
    assert (await recv_until(ws_a, message_with_id(note["id"])))[-1]["id"] == note_event["id"]
    await ws_a.close()
    await ws_b.close()


async def test_resume_on_one_process_replays_events_of_the_other(
    two_hubs: TwoHubs,
) -> None:
    a, b, http = two_hubs.a, two_hubs.b, two_hubs.http
    token = await login(http, b)
    async with http.post(
        f"{a.base}/api/v1/channels", json={"type": "api", "name": "Shop"}, headers=auth(token)
    ) as resp:
        assert resp.status == 201, await resp.text()
        channel = await resp.json()

    ws, _ = await open_socket(http, a, token)
    seen = await customer_says(http, b, channel, "seen live")
    last = (await recv_until(ws, message_with_id(seen["message"]["id"])))[-1]["id"]
    await ws.close()

    sent = [await customer_says(http, b, channel, f"missed {n}") for n in range(3)]
    missed = await two_hubs.bus.read_after(EVENTS_TOPIC, last)

    ws, ready = await open_socket(http, a, token)
    await ws.send_json({"type": "resume", "after": last})
    replayed = []
    while (frame := await recv(ws))["type"] == "event":
        replayed.append(frame)
    resumed = frame
    messages = [f["data"]["message"] for f in replayed if f["event"] == "message.created"]
    assert [m["id"] for m in messages] == [s["message"]["id"] for s in sent]
    assert [m["body"] for m in messages] == ["missed 0", "missed 1", "missed 2"]
    assert [f["id"] for f in replayed] == [event_id for event_id, _ in missed]
    assert [f["event"] for f in replayed] == [payload["event"] for _, payload in missed]
    ids = [parse_event_id(f["id"]) for f in replayed]
    assert ids == sorted(set(ids)), "in order, without repeats"
    assert ids[0] > parse_event_id(last)
    assert resumed == {"type": "resumed", "last_event_id": replayed[-1]["id"]}
    assert ready["last_event_id"] == replayed[-1]["id"]

    # A graceful stop of A closes its operator sockets with 1001 (going away).
    assert await stop(a) == 0, a.output()
    msg = await ws.receive(timeout=FRAME_CAP_S)  # the client kept the frame meanwhile
    assert msg.type == WSMsgType.CLOSE, (msg.type, msg.data)
    assert msg.data == 1001
    await ws.close()


async def test_logout_on_one_process_closes_that_sessions_socket_on_the_other(
    two_hubs: TwoHubs,
) -> None:
    a, b, http = two_hubs.a, two_hubs.b, two_hubs.http
    token = await login(http, a)
    other = await login(http, a)
    ws, _ = await open_socket(http, b, token)
    ws_other, _ = await open_socket(http, b, other)

    async with http.post(f"{a.base}/api/v1/auth/logout", headers=auth(token)) as resp:
        assert resp.status == 200, await resp.text()
    closing = await ws.receive(timeout=FRAME_CAP_S)
    assert closing.type == WSMsgType.CLOSE, (closing.type, closing.data)
    assert closing.data == 4003

    # The operator's other session keeps its socket on B, and its customer messages.
    ended = await recv(ws_other)
    assert (ended["type"], ended["event"]) == ("event", "operator.session_ended")
    async with http.post(
        f"{a.base}/api/v1/channels", json={"type": "api", "name": "Shop"}, headers=auth(other)
    ) as resp:
        assert resp.status == 201, await resp.text()
        channel = await resp.json()
    out = await customer_says(http, a, channel, "after the logout")
    await recv_until(ws_other, message_with_id(out["message"]["id"]))
    await ws_other.close()
