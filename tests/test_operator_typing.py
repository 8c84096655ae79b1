"""An operator typing a reply, told to the customer (``hub.inbox.typing``): a start and a stop
reach the visitor's open tabs, a start repeated within 2 s is dropped, only the identity that
wrote the conversation hears it, and a channel whose capabilities say its customers see no
typing, a conversation the operator cannot see or a malformed frame gets an error frame and
relays nothing.

Absence is shown by order, never by waiting: frames reach a socket in order, so a later frame
that arrives shows that an earlier one was not sent.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from hub.channels.capabilities import Capabilities
from hub.http import CTX
from tests.helpers import customer_says, make_api_channel, make_operator, make_team
from tests.test_widget_api import (
    is_message_from,
    is_type,
    make_widget_channel,
    open_operator,
    open_visitor,
    operator_reply,
    recv_event,
    recv_until,
    send_over,
    start_session,
)

ANNA = {"type": "operator", "name": "Анна"}


async def _chat(client: TestClient) -> tuple[Any, Any, Any, int]:  # type: ignore[type-arg]
    """An admin with his socket, a visitor's socket, and the visitor's conversation."""
    admin = await make_operator(client, role="admin", name="Анна")
    channel = await make_widget_channel(client, admin)
    token = (await start_session(client, channel))["visitor_token"]
    op_ws = await open_operator(client, admin)
    ws, _ = await open_visitor(client, token)
    await send_over(ws, "c-1", "Вопрос")
    conv_id = (await recv_event(op_ws, "message.created"))["conversation_id"]
    return admin, op_ws, ws, conv_id


async def test_a_start_and_a_stop_reach_the_visitor_and_a_quick_repeat_is_dropped(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    _admin, op_ws, ws, conv_id = await _chat(client)
    start = {"type": "typing", "conversation_id": conv_id}
    await op_ws.send_json(start)
    await op_ws.send_json({**start, "active": True})  # within 2 s of the first: dropped
    # A stop right after a start passes (it has its own allowance), and so does a start after
    # it: the operator cleared his text and writes again.
    await op_ws.send_json({**start, "active": False})
    await op_ws.send_json(start)
    typing: list[dict[str, Any]] = []
    while len(typing) < 3:
        frame, _ = await recv_until(ws, is_type("typing"))
        typing.append(frame)
    assert typing == [
        {"type": "typing", "sender": ANNA, "active": True},
        {"type": "typing", "sender": ANNA, "active": False},
        {"type": "typing", "sender": ANNA, "active": True},
    ]
    await op_ws.send_json({**start, "active": False})
    frame, _ = await recv_until(ws, is_type("typing"))
    assert frame["active"] is False
    await ws.close()
    await op_ws.close()


async def test_only_the_visitor_who_wrote_the_conversation_hears_it(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, op_ws, ws, conv_id = await _chat(client)
    channel = await make_widget_channel(client, admin, name="Other shop")
    other_token = (await start_session(client, channel))["visitor_token"]
    other_ws, _ = await open_visitor(client, other_token)
    await send_over(other_ws, "o-1", "Другой вопрос")
    other_conv = (await recv_event(op_ws, "message.created"))["conversation_id"]

    await op_ws.send_json({"type": "typing", "conversation_id": conv_id})
    await recv_until(ws, is_type("typing"))
    await operator_reply(client, admin, other_conv, "Ответ другому")
    reply, before = await recv_until(other_ws, is_message_from("operator"))
    assert reply["message"]["body"] == "Ответ другому"
    assert [f for f in before if f["type"] == "typing"] == []
    for sock in (ws, other_ws, op_ws):
        await sock.close()


async def test_a_channel_whose_customers_see_no_typing_is_refused(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, op_ws, ws, conv_id = await _chat(client)
    api = await make_api_channel(client, admin)
    said = await customer_says(client, api, "Hello")
    await op_ws.send_json({"type": "typing", "conversation_id": said["conversation"]["id"]})
    err, _ = await recv_until(op_ws, is_type("error"))
    assert err["code"] == "typing_not_supported"

    # Core code asks the capabilities, not the type's name: the widget told it cannot, is refused.
    client.app[CTX].channel_capabilities["widget"] = Capabilities(typing=False)
    await op_ws.send_json({"type": "typing", "conversation_id": conv_id})
    err, _ = await recv_until(op_ws, is_type("error"))
    assert err["code"] == "typing_not_supported"
    await operator_reply(client, admin, conv_id, "Ответ")
    _reply, before = await recv_until(ws, is_message_from("operator"))
    assert [f for f in before if f["type"] == "typing"] == []
    await ws.close()
    await op_ws.close()


async def test_bad_frames_and_other_teams_conversations_get_errors(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, op_ws, ws, conv_id = await _chat(client)
    for frame in (
        {"type": "typing"},
        {"type": "typing", "conversation_id": str(conv_id)},
        {"type": "typing", "conversation_id": True},
        {"type": "typing", "conversation_id": conv_id, "active": "no"},
    ):
        await op_ws.send_json(frame)
        err, _ = await recv_until(op_ws, is_type("error"))
        assert err["code"] == "bad_frame", frame

    # An operator of another team sees neither the conversation nor a way to type into it.
    team = await make_team(client, "Склад")
    outsider = await make_operator(client, team_ids=[team])
    out_ws = await open_operator(client, outsider)
    await out_ws.send_json({"type": "typing", "conversation_id": conv_id})
    err, _ = await recv_until(out_ws, is_type("error"))
    assert err["code"] == "conversation_not_found"
    await operator_reply(client, admin, conv_id, "Ответ")
    _reply, before = await recv_until(ws, is_message_from("operator"))
    assert [f for f in before if f["type"] == "typing"] == []
    for sock in (ws, op_ws, out_ws):
        await sock.close()
