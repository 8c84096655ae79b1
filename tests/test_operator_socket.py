"""The operator WebSocket ``/ws/operator``: who gets which event, resume, resync, shutdown.

Every test that takes ``client`` runs on both backends (SQLite + in-process bus, PostgreSQL +
Redis). Absence of an event is never proven by waiting alone: the socket must first receive a
later event, since events reach a socket in bus order.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient

from hub.app import create_app
from hub.bus import GapError, MemoryBus, parse_event_id
from hub.events import EVENTS_TOPIC
from hub.http import CTX
from hub.inbox.auth import Principal
from hub.inbox.realtime import RealtimeHub
from hub.inbox.staff import create_operator
from hub.settings import Settings
from tests.helpers import (
    FRAME_CAP_S,
    Op,
    auth,
    customer_says,
    make_api_channel,
    make_operator,
    make_team,
)

WS = aiohttp.ClientWebSocketResponse


async def connect(client: TestClient, token: str) -> tuple[WS, dict[str, Any]]:  # type: ignore[type-arg]
    ws = await client.ws_connect("/ws/operator", headers=auth(token))
    ready = await recv(ws)
    assert ready["type"] == "ready", ready
    return ws, ready


async def recv(ws: WS, within: float = FRAME_CAP_S) -> dict[str, Any]:
    msg = await ws.receive(timeout=within)
    assert msg.type == WSMsgType.TEXT, (msg.type, msg.data, msg.extra)
    frame = json.loads(msg.data)
    assert isinstance(frame, dict)
    return frame


async def recv_event(ws: WS, within: float = FRAME_CAP_S) -> dict[str, Any]:
    frame = await recv(ws, within)
    assert frame["type"] == "event", frame
    assert set(frame) == {"type", "id", "event", "data"}, frame  # no recipients on the wire
    return frame


async def recv_events(ws: WS, count: int) -> list[dict[str, Any]]:
    return [await recv_event(ws) for _ in range(count)]


async def recv_until(ws: WS, match: Any, limit: int = 50) -> list[dict[str, Any]]:
    """Event frames up to and including the first that ``match``es; fails on anything else
    than an event frame, and after ``limit`` frames."""
    frames = []
    for _ in range(limit):
        frame = await recv_event(ws)
        frames.append(frame)
        if match(frame):
            return frames
    pytest.fail(f"no matching event among {names(frames)}")


def is_message(body: str) -> Any:
    return lambda f: f["event"] == "message.created" and f["data"]["message"]["body"] == body


def names(frames: list[dict[str, Any]]) -> list[str]:
    return [f["event"] for f in frames]


def bodies(frames: list[dict[str, Any]]) -> list[str]:
    """The bodies of customer messages, replies and notes (not of activity lines)."""
    return [
        f["data"]["message"]["body"]
        for f in frames
        if f["event"] == "message.created" and f["data"]["message"]["kind"] != "activity"
    ]


def conversation_of(frame: dict[str, Any]) -> int | None:
    data = frame["data"]
    if "conversation_id" in data:
        return int(data["conversation_id"])
    if "conversation" in data:
        return int(data["conversation"]["id"])
    return None


def conversations(frames: list[dict[str, Any]]) -> set[int | None]:
    return {conversation_of(f) for f in frames}


async def admin_op(client: TestClient) -> Op:  # type: ignore[type-arg]
    return await make_operator(client, role="admin")


@pytest.fixture
async def short_client(aiohttp_client: Any, settings: Settings) -> TestClient:  # type: ignore[type-arg]
    """A hub that keeps only 5 events for resume (Redis trims by whole stream nodes, so more
    are kept there until enough events have passed)."""
    app = create_app(settings.model_copy(update={"event_retention": 5}))
    return await aiohttp_client(app)  # type: ignore[no-any-return]


# --- authentication --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer hub_forged-token-that-was-never-issued"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Bearer "},
    ],
    ids=["none", "forged", "basic", "empty"],
)
async def test_bad_token_is_refused_before_the_upgrade(
    client: TestClient,  # type: ignore[type-arg]
    headers: dict[str, str],
) -> None:
    await admin_op(client)  # a real operator exists; the token still has to be his
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await client.ws_connect("/ws/operator", headers=headers)
    assert caught.value.status == 401
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
    }
    resp = await client.get("/ws/operator", headers={**upgrade, **headers})
    assert resp.status == 401
    assert resp.headers["Content-Type"].startswith("application/json")
    body = await resp.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


async def test_first_frame_is_ready(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await admin_op(client)
    ws, ready = await connect(client, admin.token)
    assert ready["operator_id"] == admin.id
    parse_event_id(ready["last_event_id"])
    await ws.send_json({"type": "ping"})
    assert await recv(ws) == {"type": "pong"}
    await ws.close()


# --- who receives what ------------------------------------------------------------------------


async def test_team_operator_receives_a_customer_message(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await admin_op(client)
    team = await make_team(client)
    op = await make_operator(client, team_ids=[team])
    channel = await make_api_channel(client, admin, team_id=team)
    ws, ready = await connect(client, op.token)

    out = await customer_says(client, channel, "Где мой заказ?", name="Ivan Petrov")
    created, message = await recv_events(ws, 2)

    assert created["event"] == "conversation.created"
    conv = created["data"]["conversation"]
    assert conv["id"] == out["conversation"]["id"]
    assert conv["channel_id"] == channel["id"]
    assert conv["team_id"] == team
    assert message["event"] == "message.created"
    data = message["data"]
    assert data["conversation_id"] == conv["id"]
    msg = data["message"]
    assert msg["id"] == out["message"]["id"]
    assert msg["body"] == "Где мой заказ?"
    assert msg["private"] is False
    assert msg["sender"]["type"] == "contact"
    assert msg["sender"]["name"] == "Ivan Petrov"
    ids = [parse_event_id(f["id"]) for f in (created, message)]
    assert parse_event_id(ready["last_event_id"]) < ids[0] < ids[1]
    await ws.close()


async def test_staff_receive_everything_other_teams_nothing(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await admin_op(client)
    team_a, team_b = await make_team(client), await make_team(client)
    op_a = await make_operator(client, team_ids=[team_a])
    op_b = await make_operator(client, team_ids=[team_b])
    manager = await make_operator(client, role="manager")  # in no team at all
    channel_a = await make_api_channel(client, admin, team_id=team_a)
    channel_b = await make_api_channel(client, admin, team_id=team_b)
    channel_none = await make_api_channel(client, admin)  # no team: staff only
    sockets = {
        who.id: (await connect(client, who.token))[0] for who in (admin, manager, op_a, op_b)
    }

    in_a = await customer_says(client, channel_a, "for team A", external_id="a")
    in_none = await customer_says(client, channel_none, "for no team", external_id="n")
    in_b = await customer_says(client, channel_b, "for team B", external_id="b")
    await customer_says(client, channel_a, "team A again", external_id="a")
    conv_a, conv_none, conv_b = (x["conversation"]["id"] for x in (in_a, in_none, in_b))

    everything = ["for team A", "for no team", "for team B", "team A again"]
    for staff in (admin, manager):
        frames = await recv_until(sockets[staff.id], is_message("team A again"))
        assert bodies(frames) == everything
        assert names(frames).count("conversation.created") == 3
        assert conversations(frames) == {conv_a, conv_none, conv_b}

    # Team A's operator gets A's conversation and nothing else in between, though the others'
    # events were published between A's first and second message.
    frames_a = await recv_until(sockets[op_a.id], is_message("team A again"))
    assert bodies(frames_a) == ["for team A", "team A again"]
    assert conversations(frames_a) == {conv_a}
    assert names(frames_a)[:2] == ["conversation.created", "message.created"]

    # Team B's operator: his first event is B's conversation, so A's and the teamless one's
    # events, published before it, never reached him.
    frames_b = await recv_until(sockets[op_b.id], is_message("for team B"))
    assert names(frames_b) == ["conversation.created", "message.created"]
    assert conversations(frames_b) == {conv_b}
    # Nor did A's second message, published after: prove it with one more B event.
    await customer_says(client, channel_b, "B once more", external_id="b")
    frames_b = await recv_until(sockets[op_b.id], is_message("B once more"))
    assert bodies(frames_b) == ["B once more"]
    assert conversations(frames_b) == {conv_b}
    for ws in sockets.values():
        await ws.close()


async def test_reply_and_internal_note_arrive_with_their_private_flag(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await admin_op(client)
    team = await make_team(client)
    op = await make_operator(client, team_ids=[team], name="Anna")
    channel = await make_api_channel(client, admin, team_id=team)
    out = await customer_says(client, channel, "hello")
    conv_id = out["conversation"]["id"]
    ws, _ = await connect(client, op.token)

    url = f"/api/v1/conversations/{conv_id}/messages"
    reply = await client.post(url, json={"body": "Hi, how can I help?"}, headers=op.headers)
    assert reply.status == 201, await reply.text()
    note = await client.post(
        url, json={"body": "VIP, be nice", "private": True}, headers=op.headers
    )
    assert note.status == 201, await note.text()

    frames = await recv_until(ws, is_message("VIP, be nice"))
    assert conversations(frames) == {conv_id}
    created = [f for f in frames if f["event"] == "message.created"]
    assert bodies(created) == ["Hi, how can I help?", "VIP, be nice"]
    reply_msg, note_msg = created[0]["data"]["message"], created[1]["data"]["message"]
    assert reply_msg["id"] == (await reply.json())["id"]
    assert reply_msg["body"] == "Hi, how can I help?"
    assert reply_msg["private"] is False
    assert reply_msg["sender"] == {"type": "operator", "id": op.id, "name": "Anna"}
    assert note_msg["id"] == (await note.json())["id"]
    assert note_msg["body"] == "VIP, be nice"
    assert note_msg["private"] is True
    assert note_msg["sender"]["id"] == op.id
    await ws.close()


async def test_assignment_and_transfer_reach_new_and_previous_assignee(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await admin_op(client)
    team_a, team_b, team_c = [await make_team(client) for _ in range(3)]
    member_a = await make_operator(client, team_ids=[team_a])
    first = await make_operator(client, team_ids=[team_c], name="Anna")  # sees it only as assignee
    second = await make_operator(client, team_ids=[team_b], name="Oleg")
    channel = await make_api_channel(client, admin, team_id=team_a)
    out = await customer_says(client, channel, "I want a discount", external_id="c1")
    conv_id = out["conversation"]["id"]
    ws_member, _ = await connect(client, member_a.token)
    ws_first, _ = await connect(client, first.token)
    ws_second, _ = await connect(client, second.token)

    resp = await client.post(
        f"/api/v1/conversations/{conv_id}/assign",
        json={"operator_id": first.id},
        headers=admin.headers,
    )
    assert resp.status == 200, await resp.text()

    def is_assigned(f: dict[str, Any]) -> bool:
        return f["event"] == "conversation.assigned"

    # Anna is in no team of this conversation: the assignment is the first she hears of it.
    assigned = await recv_event(ws_first)
    assert assigned["event"] == "conversation.assigned"
    assert assigned["data"]["conversation"]["id"] == conv_id
    assert assigned["data"]["conversation"]["assignee_id"] == first.id
    assert assigned["data"]["previous_assignee_id"] is None
    activity = await recv_event(ws_first)
    assert activity["event"] == "message.created"
    assert activity["data"]["message"]["kind"] == "activity"
    assert conversations(await recv_until(ws_member, is_assigned)) == {conv_id}

    resp = await client.post(
        f"/api/v1/conversations/{conv_id}/assign",
        json={"operator_id": second.id, "team_id": team_b, "note": "customer wants a discount"},
        headers=admin.headers,
    )
    assert resp.status == 200, await resp.text()
    for ws in (ws_second, ws_first, ws_member):
        transfer = (await recv_until(ws, is_assigned))[-1]
        data = transfer["data"]
        assert data["conversation"]["assignee_id"] == second.id
        assert data["conversation"]["team_id"] == team_b
        assert data["previous_assignee_id"] == first.id
        assert data["previous_team_id"] == team_a
        assert data["note"] == "customer wants a discount"
    activity = await recv_event(ws_second)
    assert activity["event"] == "message.created"
    assert activity["data"]["message"]["kind"] == "activity"
    assert "Oleg" in activity["data"]["message"]["body"]
    assert "customer wants a discount" in activity["data"]["message"]["body"]

    # The conversation is no longer theirs: the next customer message reaches only the new
    # assignee; the others' next events are later ones they may see, with nothing of it before.
    await customer_says(client, channel, "still waiting", external_id="c1")
    assert conversations(await recv_until(ws_second, is_message("still waiting"))) == {conv_id}
    fresh = await customer_says(client, channel, "new customer", external_id="c2")
    fresh_id = fresh["conversation"]["id"]
    frames = await recv_until(ws_member, is_message("new customer"))
    assert frames[0]["event"] == "conversation.created"
    assert conversations(frames) == {fresh_id}
    resp = await client.post(
        f"/api/v1/conversations/{fresh_id}/assign",
        json={"operator_id": first.id},
        headers=admin.headers,
    )
    assert resp.status == 200, await resp.text()
    frames = await recv_until(ws_first, is_assigned)
    assert len(frames) == 1
    assert conversations(frames) == {fresh_id}
    for ws in (ws_member, ws_first, ws_second):
        await ws.close()


async def test_status_change_sends_conversation_updated(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await admin_op(client)
    team = await make_team(client)
    op = await make_operator(client, team_ids=[team])
    channel = await make_api_channel(client, admin, team_id=team)
    out = await customer_says(client, channel, "thanks, solved")
    conv_id = out["conversation"]["id"]
    ws, _ = await connect(client, op.token)

    resp = await client.post(
        f"/api/v1/conversations/{conv_id}/status", json={"status": "resolved"}, headers=op.headers
    )
    assert resp.status == 200, await resp.text()
    updated = await recv_event(ws)
    assert updated["event"] == "conversation.updated"
    assert updated["data"]["conversation"]["id"] == conv_id
    assert updated["data"]["conversation"]["status"] == "resolved"
    activity = await recv_event(ws)
    assert activity["event"] == "message.created"
    assert activity["data"]["message"]["kind"] == "activity"

    await customer_says(client, channel, "one more question")  # reopens it
    frames = await recv_until(ws, is_message("one more question"))
    reopened = [f for f in frames if f["event"] == "conversation.updated"]
    assert [f["data"]["conversation"]["status"] for f in reopened] == ["open"]
    assert conversations(frames) == {conv_id}
    await ws.close()


# --- resume and resync ------------------------------------------------------------------------


async def test_resume_replays_exactly_the_missed_events(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await admin_op(client)
    other = await make_operator(client)
    channel = await make_api_channel(client, admin)
    ws, _ = await connect(client, admin.token)
    await customer_says(client, channel, "first")
    last = (await recv_until(ws, is_message("first")))[-1]["id"]
    await ws.close()

    # While he is away: two customer messages and an operator's rename (operator.updated,
    # which staff receive). The bus says which events that made.
    await customer_says(client, channel, "while you were away")
    await customer_says(client, channel, "are you there?")
    resp = await client.patch(
        f"/api/v1/operators/{other.id}", json={"name": "Renamed"}, headers=admin.headers
    )
    assert resp.status == 200, await resp.text()
    missed = await client.app[CTX].bus.read_after(EVENTS_TOPIC, last)
    assert len(missed) >= 3

    ws, ready = await connect(client, admin.token)
    assert ready["last_event_id"] == missed[-1][0]
    await ws.send_json({"type": "resume", "after": last})
    replayed = await recv_events(ws, len(missed))
    assert [f["id"] for f in replayed] == [event_id for event_id, _ in missed]
    assert [f["event"] for f in replayed] == [payload["event"] for _, payload in missed]
    assert bodies(replayed) == ["while you were away", "are you there?"]
    assert replayed[-1]["event"] == "operator.updated"
    assert replayed[-1]["data"]["operator"]["name"] == "Renamed"
    resumed = await recv(ws)
    assert resumed == {"type": "resumed", "last_event_id": missed[-1][0]}

    # Live again, with no repeats: the next frames are new events only.
    await customer_says(client, channel, "and now live")
    live = await recv_until(ws, is_message("and now live"))
    assert bodies(live) == ["and now live"]
    assert parse_event_id(live[0]["id"]) > parse_event_id(missed[-1][0])
    await ws.close()


async def test_resume_replays_only_what_the_operator_may_see(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await admin_op(client)
    team_a, team_b = await make_team(client), await make_team(client)
    op = await make_operator(client, team_ids=[team_a])
    channel_a = await make_api_channel(client, admin, team_id=team_a)
    channel_b = await make_api_channel(client, admin, team_id=team_b)
    ws, ready = await connect(client, op.token)
    start = ready["last_event_id"]
    await ws.close()

    await customer_says(client, channel_b, "not for you", external_id="b")
    await customer_says(client, channel_a, "for you", external_id="a")
    await customer_says(client, channel_b, "not for you either", external_id="b")

    ws, _ = await connect(client, op.token)
    await ws.send_json({"type": "resume", "after": start})
    replayed = await recv_until(ws, is_message("for you"))
    assert names(replayed) == ["conversation.created", "message.created"]
    resumed = await recv(ws)
    assert resumed["type"] == "resumed"
    assert resumed["last_event_id"] == await client.app[CTX].bus.last_id(EVENTS_TOPIC)
    await ws.close()


async def test_resume_with_a_too_old_id_gets_resync(short_client: TestClient) -> None:  # type: ignore[type-arg]
    client = short_client
    admin = await admin_op(client)
    channel = await make_api_channel(client, admin)
    ws, _ = await connect(client, admin.token)
    await customer_says(client, channel, "remember me")
    old = (await recv_until(ws, is_message("remember me")))[-1]["id"]
    await ws.close()

    # Far more events than are retained; on Redis until the stream really dropped ``old``.
    bus = client.app[CTX].bus
    for batch in range(20):
        for n in range(10):
            await customer_says(client, channel, f"flood {batch}-{n}", external_id=f"c{n}")
        try:
            await bus.read_after(EVENTS_TOPIC, old)
        except GapError:
            break
    else:
        pytest.fail("the bus never dropped the old events")

    ws, ready = await connect(client, admin.token)
    await ws.send_json({"type": "resume", "after": old})
    resync = await recv(ws)
    assert resync["type"] == "resync", resync
    assert resync["last_event_id"] == ready["last_event_id"]
    # The socket carries on live after the resync.
    await customer_says(client, channel, "after the resync", external_id="late")
    live = await recv_until(ws, is_message("after the resync"))
    assert bodies(live) == ["after the resync"]
    await ws.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "resume", "after": "not-an-id"}, "bad_event_id"),
        ({"type": "resume", "after": "²-0"}, "bad_event_id"),
        ({"type": "resume", "after": "1-0; DROP TABLE"}, "bad_event_id"),
        ({"type": "resume", "after": 12}, "bad_frame"),
        ({"type": "resume"}, "bad_frame"),
        ({"type": "dance"}, "unknown_frame"),
        (["resume"], "bad_frame"),
        ("not json at all", "malformed_json"),
    ],
    ids=["words", "superscript", "injection", "number", "missing", "unknown", "list", "text"],
)
async def test_bad_client_frame_gets_an_error_and_the_socket_stays_usable(
    client: TestClient,  # type: ignore[type-arg]
    frame: Any,
    code: str,
) -> None:
    admin = await admin_op(client)
    channel = await make_api_channel(client, admin)
    ws, _ = await connect(client, admin.token)
    if isinstance(frame, str):
        await ws.send_str(frame)
    else:
        await ws.send_json(frame)
    error = await recv(ws)
    assert error["type"] == "error"
    assert error["code"] == code
    assert error["message"]
    await ws.send_json({"type": "ping"})
    assert await recv(ws) == {"type": "pong"}
    await customer_says(client, channel, "still delivered")
    frames = await recv_until(ws, is_message("still delivered"))
    assert names(frames) == ["conversation.created", "message.created"]
    await ws.close()


# --- deactivation and shutdown ----------------------------------------------------------------


async def test_deactivated_operator_is_disconnected_and_locked_out(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await admin_op(client)
    op = await make_operator(client)
    ws_op, _ = await connect(client, op.token)
    ws_admin, _ = await connect(client, admin.token)

    resp = await client.patch(
        f"/api/v1/operators/{op.id}", json={"active": False}, headers=admin.headers
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["active"] is False

    # His token answers 401 at once, on REST and on the socket.
    me = await client.get("/api/v1/me", headers=op.headers)
    assert me.status == 401
    assert (await me.json())["error"]["code"]
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await client.ws_connect("/ws/operator", headers=op.headers)
    assert caught.value.status == 401

    closing = await ws_op.receive(timeout=FRAME_CAP_S)
    assert closing.type == WSMsgType.CLOSE, (closing.type, closing.data)
    assert closing.data == 4003

    update = await recv_event(ws_admin)
    assert update["event"] == "operator.updated"
    assert update["data"]["operator"]["id"] == op.id
    assert update["data"]["operator"]["active"] is False
    await ws_admin.close()


async def test_deactivating_an_unresponsive_operator_does_not_stall_others(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """The operator's browser is not reading (so it does not answer the close handshake);
    the fan-out must not wait for it before serving everyone else."""
    admin = await admin_op(client)
    op = await make_operator(client)
    channel = await make_api_channel(client, admin)
    ws_op, _ = await connect(client, op.token)  # and then never read from it until the end
    ws_admin, _ = await connect(client, admin.token)

    resp = await client.patch(
        f"/api/v1/operators/{op.id}", json={"active": False}, headers=admin.headers
    )
    assert resp.status == 200, await resp.text()
    await customer_says(client, channel, "is anyone there?")
    # Well before the 10 s a close handshake may wait for the peer (what a stall would cost:
    # this bound is the measurement, not a wait for readiness).
    frames = [await recv_event(ws_admin, within=3) for _ in range(3)]
    assert names(frames) == ["operator.updated", "conversation.created", "message.created"]

    closing = await ws_op.receive(timeout=FRAME_CAP_S)
    assert closing.type == WSMsgType.CLOSE
    assert closing.data == 4003
    await ws_admin.close()


async def test_graceful_shutdown_closes_sockets_with_1001(settings: Settings) -> None:
    app = create_app(settings)
    runner = web.AppRunner(app, shutdown_timeout=5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        created = await _create_admin(app)
        async with aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{port}"
            login = await http.post(
                f"{base}/api/v1/auth/login",
                json={"email": created[0], "password": created[1]},
            )
            assert login.status == 200, await login.text()
            token = (await login.json())["token"]
            ws = await http.ws_connect(f"{base}/ws/operator", headers=auth(token))
            ready = json.loads((await ws.receive(timeout=FRAME_CAP_S)).data)
            assert ready["type"] == "ready"
            await asyncio.wait_for(runner.cleanup(), FRAME_CAP_S)
            msg = await ws.receive(timeout=FRAME_CAP_S)  # the client kept the frame meanwhile
            assert msg.type == WSMsgType.CLOSE, (msg.type, msg.data)
            assert msg.data == 1001
            await ws.close()
    finally:
        await runner.cleanup()


async def _create_admin(app: web.Application) -> tuple[str, str]:
    email, password = "shutdown-admin@example.com", "a-long-enough-password"
    await create_operator(app[CTX], email=email, name="Admin", role="admin", password=password)
    return email, password


# --- the fan-out itself -----------------------------------------------------------------------


class _Collector:
    """A Connection that records what the hub sends."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None
        self.changed = asyncio.Event()

    async def send_json(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)
        self.changed.set()

    async def close(self, code: int, message: str) -> None:
        self.closed = (code, message)


async def test_socket_misses_no_event_published_while_it_connects() -> None:
    """An event published after the socket learns where the stream is, but dispatched before
    the socket joins the fan-out, must still reach it."""
    bus = MemoryBus()
    staff = Principal(1, "Admin", "admin", frozenset())

    async def load(operator_id: int) -> Principal | None:
        return staff

    hub = RealtimeHub(bus, 100, load)
    await hub.start()
    real_last_id = bus.last_id
    raced: list[str] = []

    async def racing_last_id(topic: str) -> str:
        position = await real_last_id(topic)
        # Another event lands and is fanned out before the caller gets the answer.
        raced.append(
            await bus.publish(topic, {"event": "x", "data": {}, "recipients": {"staff": True}})
        )
        await asyncio.sleep(0.05)
        return position

    bus.last_id = racing_last_id  # type: ignore[method-assign]
    stop = asyncio.Event()

    async def frames() -> AsyncIterator[Any]:
        await stop.wait()
        return
        yield  # pragma: no cover

    conn = _Collector()
    serving = asyncio.ensure_future(hub.serve(conn, staff, frames()))
    try:
        for _ in range(50):
            if len(conn.frames) >= 2:
                break
            conn.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(conn.changed.wait(), 0.1)
        assert conn.frames[0]["type"] == "ready"
        assert [f.get("id") for f in conn.frames[1:]] == raced
    finally:
        stop.set()
        await serving
        await hub.close()
