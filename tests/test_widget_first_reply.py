"""An operator who answers a new visitor's first message at once is heard: the visitor's open
socket listens for him before the message is announced, on both backends."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hub.channels.widget import conversation as widget_conversation
from tests.helpers import make_operator
from tests.test_widget_api import (
    is_message_from,
    make_widget_channel,
    open_operator,
    open_visitor,
    recv_until,
    start_session,
)

VISITORS = 12


async def test_instant_replies_to_first_messages_all_arrive(
    client: TestClient,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Storing the message (and linking the visitor to his new contact) answers only once the
    # operator has answered, so his answer lands before the visitor's send is done: the
    # visitor's socket must already be listening for him.
    original = widget_conversation._store
    answered: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)

    async def slow_store(ctx: Any, visitor: Any, inbound: Any) -> Any:
        result, linked = await original(ctx, visitor, inbound)
        await answered[result.conversation["id"]].wait()
        return result, linked

    monkeypatch.setattr(widget_conversation, "_store", slow_store)
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)
    operator = await open_operator(client, admin)
    sockets = []
    for _ in range(VISITORS):
        session = await start_session(client, channel)
        ws, _ready = await open_visitor(client, session["visitor_token"])
        sockets.append(ws)

    async def answer_each() -> None:
        count = 0
        while count < VISITORS:
            frame, _ = await recv_until(
                operator,
                lambda f: (
                    f.get("type") == "event"
                    and f["event"] == "message.created"
                    and f["data"]["message"]["kind"] == "incoming"
                ),
            )
            conv_id = frame["data"]["conversation_id"]
            resp = await client.post(
                f"/api/v1/conversations/{conv_id}/messages",
                json={"body": f"answer to {frame['data']['message']['body']}"},
                headers=admin.headers,
            )
            assert resp.status == 201, await resp.text()
            answered[conv_id].set()
            count += 1

    async def visitor(n: int, ws: Any) -> str:
        await ws.send_json({"type": "message", "client_id": f"first-{n}", "body": f"hi {n}"})
        reply, _ = await recv_until(ws, is_message_from("operator"))
        return str(reply["message"]["body"])

    answers, replies = await asyncio.gather(
        answer_each(), asyncio.gather(*(visitor(n, ws) for n, ws in enumerate(sockets)))
    )
    assert answers is None
    assert sorted(replies) == sorted(f"answer to hi {n}" for n in range(VISITORS))
    for ws in sockets:
        await ws.close()
    await operator.close()
