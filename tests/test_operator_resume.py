"""Coming back after a cut: ``/ws/operator?after=<id>`` replays what was missed, in order, before
anything live; a ``resume`` frame on an open socket never sends an event twice."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from hub.events import EVENTS_TOPIC
from hub.http import CTX
from tests.helpers import FRAME_CAP_S, auth, customer_says, make_api_channel, make_operator

WS = aiohttp.ClientWebSocketResponse


async def recv(ws: WS, within: float = FRAME_CAP_S) -> dict[str, Any]:
    msg = await ws.receive(timeout=within)
    assert msg.type == WSMsgType.TEXT, (msg.type, msg.data)
    frame: dict[str, Any] = json.loads(msg.data)
    return frame


async def frames_until(ws: WS, kind: str, body: str | None = None) -> list[dict[str, Any]]:
    """Frames up to and including the first of type ``kind`` (and message ``body``)."""
    out = []
    while True:
        frame = await recv(ws)
        out.append(frame)
        if frame["type"] == kind and (
            body is None or frame.get("data", {}).get("message", {}).get("body") == body
        ):
            return out


def bodies(frames: list[dict[str, Any]]) -> list[str]:
    return [
        f["data"]["message"]["body"]
        for f in frames
        if f["type"] == "event" and f["event"] == "message.created"
    ]


async def test_connect_with_after_replays_then_goes_live(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    await customer_says(client, channel, "before the cut", message_id="m0")
    seen = await client.app[CTX].bus.last_id(EVENTS_TOPIC)
    for n in range(1, 4):
        await customer_says(client, channel, f"missed {n}", message_id=f"m{n}")

    ws = await client.ws_connect(f"/ws/operator?after={seen}", headers=auth(admin.token))
    ready = await recv(ws)
    assert ready["type"] == "ready"
    replay = await frames_until(ws, "resumed")
    assert bodies(replay) == ["missed 1", "missed 2", "missed 3"]
    ids = [f["id"] for f in replay if f["type"] == "event"]
    expected = [i for i, _ in await client.app[CTX].bus.read_after(EVENTS_TOPIC, seen)]
    assert ids == expected  # every missed event, in order, once
    await customer_says(client, channel, "live now", message_id="m4")
    live = await frames_until(ws, "event", "live now")
    assert bodies(live) == ["live now"]
    await ws.close()


async def test_resume_frame_never_repeats_a_live_event(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    await customer_says(client, channel, "old", message_id="a0")
    seen = await client.app[CTX].bus.last_id(EVENTS_TOPIC)
    await customer_says(client, channel, "missed", message_id="a1")

    ws = await client.ws_connect("/ws/operator", headers=auth(admin.token))
    assert (await recv(ws))["type"] == "ready"
    # An event arrives live before the client gets round to resuming.
    await customer_says(client, channel, "live first", message_id="a2")
    first = await frames_until(ws, "event", "live first")
    await ws.send_json({"type": "resume", "after": seen})
    rest = await frames_until(ws, "resumed")
    got = bodies(first) + bodies(rest)
    assert sorted(got) == ["live first", "missed"]  # each once
    event_ids = [f["id"] for f in first + rest if f["type"] == "event"]
    assert len(event_ids) == len(set(event_ids))
    await ws.close()


async def test_bad_after_is_refused_before_the_upgrade(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    resp = await client.get("/ws/operator?after=yesterday", headers=auth(admin.token))
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "bad_event_id"
