"""Logging out closes the operator sockets of that session at once, on every process, and no
other session's (``operator.session_ended``); both backends. Two real processes: see
tests/test_two_processes.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from hub.bus import MemoryBus
from hub.events import EVENTS_TOPIC, Recipients, SessionEnded
from hub.inbox.auth import Principal
from hub.inbox.realtime import RealtimeHub
from tests.helpers import FRAME_CAP_S, auth, customer_says, login, make_api_channel, make_operator
from tests.test_inbox_session import OWN, logged_in
from tests.test_operator_socket import _Collector, connect, is_message, names, recv, recv_until


async def expect_closed_4003(ws: aiohttp.ClientWebSocketResponse) -> None:
    closing = await ws.receive(timeout=FRAME_CAP_S)
    assert closing.type == WSMsgType.CLOSE, (closing.type, closing.data)
    assert closing.data == 4003


async def test_logout_closes_that_sessions_sockets_and_no_other(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    other_session = await login(client, admin.email, admin.password)
    channel = await make_api_channel(client, admin)
    first_tab, _ = await connect(client, admin.token)
    second_tab, _ = await connect(client, admin.token)  # two tabs of one session
    other, _ = await connect(client, other_session)

    resp = await client.post("/api/v1/auth/logout", headers=admin.headers)
    assert resp.status == 200, await resp.text()
    await expect_closed_4003(first_tab)
    await expect_closed_4003(second_tab)

    # The other session's socket stays, and still gets customer messages.
    await customer_says(client, channel, "after the logout")
    frames = await recv_until(other, is_message("after the logout"))
    assert names(frames) == ["operator.session_ended", "conversation.created", "message.created"]
    ended = frames[0]["data"]
    assert ended["operator_id"] == admin.id and isinstance(ended["session_id"], int)
    me = await client.get("/api/v1/me", headers=auth(other_session))
    assert me.status == 200
    await other.close()


async def test_cookie_logout_closes_the_cookie_sessions_socket(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, _token, csrf = await logged_in(client)
    bearer_session = await login(client, admin.email, admin.password)
    by_cookie = await client.ws_connect("/ws/operator", headers={"Origin": OWN})
    assert (await recv(by_cookie))["type"] == "ready"
    by_bearer, _ = await connect(client, bearer_session)

    resp = await client.delete("/api/v1/auth/session", headers={"X-CSRF-Token": csrf})
    assert resp.status == 200, await resp.text()
    await expect_closed_4003(by_cookie)
    frame = await recv(by_bearer)
    assert (frame["type"], frame["event"]) == ("event", "operator.session_ended")
    await by_bearer.close()


async def test_a_socket_joining_after_its_sessions_end_went_by_is_closed() -> None:
    """The token was checked before the logout, and the logout's event was fanned out before
    the socket joined: the socket must still close, not stream on."""
    bus = MemoryBus()

    async def load(operator_id: int) -> Principal | None:
        return Principal(operator_id, "Anna", "admin", frozenset())

    hub = RealtimeHub(bus, 100, load)
    await hub.start()
    stop = asyncio.Event()

    async def frames() -> AsyncIterator[Any]:
        await stop.wait()
        return
        yield  # pragma: no cover

    watcher = _Collector()
    watching = asyncio.ensure_future(
        hub.serve(watcher, Principal(1, "Anna", "admin", frozenset(), session_id=8), frames())
    )
    try:
        while not watcher.frames:  # "ready": the watcher is in the fan-out
            watcher.changed.clear()
            await asyncio.wait_for(watcher.changed.wait(), 5)
        ended = SessionEnded(Recipients(False, frozenset(), frozenset({1})), 1, 7)
        await bus.publish(EVENTS_TOPIC, ended.to_wire())
        while not any(f.get("event") == SessionEnded.name for f in watcher.frames):
            watcher.changed.clear()
            await asyncio.wait_for(watcher.changed.wait(), 5)  # the fan-out passed it

        late = _Collector()
        principal = Principal(1, "Anna", "admin", frozenset(), session_id=7)
        await asyncio.wait_for(hub.serve(late, principal, frames()), 5)
        assert late.closed == (4003, "logged out")
        assert late.frames == []
        assert watcher.closed is None
    finally:
        stop.set()
        await watching
        await hub.close()
