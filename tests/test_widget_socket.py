"""The visitor WebSocket ``/ws/widget``: acks once per client_id, operator replies in every tab,
notes and activities never delivered, typing both ways, the pre-chat form; and the protocol with
the ``websockets`` package as the visitor against the real hub on a TCP port.

Absence is never proven by waiting alone: frames reach a socket in order, so a later frame that
does arrive shows that an earlier one was not sent.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
import websockets
from aiohttp.test_utils import TestClient
from websockets.asyncio.client import ClientConnection, connect

from hub.channels.widget.keys import WIDGET
from hub.settings import Settings
from tests.helpers import FRAME_CAP_S, make_operator
from tests.test_widget_api import (
    ORIGIN,
    Frame,
    conversations_of,
    fetch_messages,
    get_contact,
    is_message_from,
    is_type,
    make_widget_channel,
    new_visitor,
    only_conversation,
    open_operator,
    open_visitor,
    operator_messages,
    operator_reply,
    real_admin_and_channel,
    recv,
    recv_event,
    recv_until,
    running_hub,
    send_over,
    start_session,
    table_counts,
)

# --- messages and acks -----------------------------------------------------------------------


async def test_message_is_acked_once_per_client_id_and_operators_see_it(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, _channel, token = await new_visitor(client)
    op_ws = await open_operator(client, admin)
    ws, _ = await open_visitor(client, token)

    ack = await send_over(ws, "c-1", "Нужна печь для бани")
    assert set(ack) == {"type", "client_id", "message", "duplicate"}
    assert ack["client_id"] == "c-1" and ack["duplicate"] is False
    message = ack["message"]
    assert message["body"] == "Нужна печь для бани"
    assert message["sender"] == {"type": "contact", "name": ""}
    assert message["kind"] == "message" and isinstance(message["id"], int)
    assert message["created_at"].endswith("Z")

    created = await recv_event(op_ws, "message.created")
    assert created["message"]["id"] == message["id"]
    assert created["message"]["kind"] == "incoming"
    assert created["message"]["body"] == "Нужна печь для бани"
    conv_id = created["conversation_id"]

    # The same client_id again (a lost ack, a reload): acked as a duplicate, stored once.
    for _ in range(2):
        again = await send_over(ws, "c-1", "Нужна печь для бани")
        assert again["duplicate"] is True and again["message"]["id"] == message["id"]
    assert [m["id"] for m in await operator_messages(client, admin, conv_id)] == [message["id"]]

    # The operators got one message.created for it: the next one is the next message's.
    second = await send_over(ws, "c-2", "И дымоход")
    created = await recv_event(op_ws, "message.created")
    assert created["message"]["id"] == second["message"]["id"]
    assert [m["body"] for m in await operator_messages(client, admin, conv_id)] == [
        "Нужна печь для бани",
        "И дымоход",
    ]
    await ws.close()
    await op_ws.close()


async def test_operator_reply_reaches_every_open_tab_of_the_visitor_only(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin", name="Анна")
    channel = await make_widget_channel(client, admin)
    token = (await start_session(client, channel))["visitor_token"]
    other_token = (await start_session(client, channel))["visitor_token"]
    tab1, _ = await open_visitor(client, token)
    await send_over(tab1, "c-1", "Здравствуйте")
    tab2, _ = await open_visitor(client, token)
    stranger, _ = await open_visitor(client, other_token)
    await send_over(stranger, "s-1", "Я другой посетитель")
    convs = await conversations_of(client, admin, channel)
    assert len(convs) == 2
    mine = next(c for c in convs if c["last_message_preview"] == "Здравствуйте")
    theirs = next(c for c in convs if c["id"] != mine["id"])

    reply = await operator_reply(client, admin, mine["id"], "Добрый день! Чем помочь?")
    for tab in (tab1, tab2):
        frame, _ = await recv_until(tab, is_message_from("operator"))
        assert frame == {
            "type": "message",
            "message": {
                "id": reply["id"],
                "body": "Добрый день! Чем помочь?",
                "sender": {"type": "operator", "name": "Анна"},
                "created_at": reply["created_at"],
                "kind": "message",
                "attachments": [],
            },
        }

    # The other visitor never got it: his next operator message is his own reply.
    own = await operator_reply(client, admin, theirs["id"], "А вам отвечу отдельно")
    frame, before = await recv_until(stranger, is_message_from("operator"))
    assert frame["message"]["id"] == own["id"]
    assert reply["id"] not in [f.get("message", {}).get("id") for f in before]
    for ws in (tab1, tab2, stranger):
        await ws.close()


async def test_tabs_opened_before_the_first_message_get_the_replies(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """A visitor opens the site in two tabs, then writes in one: both belong to the chat."""
    admin, channel, token = await new_visitor(client)
    tab1, _ = await open_visitor(client, token)
    tab2, _ = await open_visitor(client, token)
    ack = await send_over(tab1, "c-1", "Первый вопрос")
    # The other tab shows what was written here...
    frame, _ = await recv_until(tab2, is_message_from("contact"))
    assert frame["message"]["id"] == ack["message"]["id"]
    # ...and both tabs get the operator's answer.
    conv = await only_conversation(client, admin, channel)
    reply = await operator_reply(client, admin, conv["id"], "Ответ в обе вкладки")
    for tab in (tab1, tab2):
        frame, _ = await recv_until(tab, is_message_from("operator"))
        assert frame["message"]["id"] == reply["id"]
    await tab1.close()
    await tab2.close()


async def test_reply_to_a_callback_request_reaches_the_open_socket(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, channel, token = await new_visitor(client)
    ws, _ = await open_visitor(client, token)
    resp = await client.post(
        "/api/widget/v1/callback",
        json={"visitor_token": token, "phone": "+7 916 123 45 67"},
        headers={"Origin": ORIGIN},
    )
    assert resp.status == 201, await resp.text()
    conv = await only_conversation(client, admin, channel)
    reply = await operator_reply(client, admin, conv["id"], "Перезвоним через 5 минут")
    frame, _ = await recv_until(ws, is_message_from("operator"))
    assert frame["message"]["id"] == reply["id"]
    await ws.close()


# --- what never reaches a visitor ------------------------------------------------------------


async def test_notes_and_activities_never_reach_the_visitor(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    second = await make_operator(client, role="operator", name="Борис")
    channel = await make_widget_channel(client, admin)
    token = (await start_session(client, channel))["visitor_token"]
    tab1, _ = await open_visitor(client, token)
    first = await send_over(tab1, "c-1", "Когда доставка?")
    tab2, _ = await open_visitor(client, token)
    conv = await only_conversation(client, admin, channel)

    note = await operator_reply(
        client, admin, conv["id"], "SECRET-NOTE клиент жалуется", private=True
    )
    resp = await client.post(
        f"/api/v1/conversations/{conv['id']}/assign",
        json={"operator_id": second.id, "note": "SECRET-HANDOFF звонил вчера"},
        headers=admin.headers,
    )
    assert resp.status == 200, await resp.text()
    for status in ("pending", "open"):
        resp = await client.post(
            f"/api/v1/conversations/{conv['id']}/status",
            json={"status": status},
            headers=admin.headers,
        )
        assert resp.status == 200, await resp.text()
    hidden = [
        m for m in await operator_messages(client, admin, conv["id"]) if m["kind"] != "incoming"
    ]
    assert {m["kind"] for m in hidden} == {"note", "activity"}, hidden  # they do exist
    assert len(hidden) >= 4
    reply = await operator_reply(client, second, conv["id"], "Завтра до обеда")

    allowed = {first["message"]["id"], reply["id"]}
    for tab in (tab1, tab2):
        frame, before = await recv_until(tab, is_message_from("operator"))
        assert frame["message"]["id"] == reply["id"]
        seen = [f for f in before if f["type"] == "message"]
        assert {f["message"]["id"] for f in seen} <= allowed, seen
        assert "SECRET" not in json.dumps(before)

    assert [m["id"] for m in await fetch_messages(client, token)] == [
        first["message"]["id"],
        reply["id"],
    ]
    assert [m["id"] for m in await fetch_messages(client, token, after=0)] == [
        first["message"]["id"],
        reply["id"],
    ]
    after_first = await fetch_messages(client, token, after=first["message"]["id"])
    assert [m["id"] for m in after_first] == [reply["id"]]
    session = await start_session(client, channel, visitor_token=token)
    assert "SECRET" not in json.dumps(session)
    assert note["id"] not in [m["id"] for m in session["messages"]]
    await tab1.close()
    await tab2.close()


# --- typing ----------------------------------------------------------------------------------


async def test_typing_goes_both_ways(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin", name="Анна")
    channel = await make_widget_channel(client, admin)
    token = (await start_session(client, channel))["visitor_token"]
    op_ws = await open_operator(client, admin)
    ws, _ = await open_visitor(client, token)
    await send_over(ws, "c-1", "Вопрос")
    created = await recv_event(op_ws, "message.created")
    conv_id = created["conversation_id"]

    await ws.send_json({"type": "typing"})
    data = await recv_event(op_ws, "conversation.typing")
    assert data == {"conversation_id": conv_id, "sender": {"type": "contact"}}

    await op_ws.send_json({"type": "typing", "conversation_id": conv_id})
    frame, _ = await recv_until(ws, is_type("typing"))
    assert frame == {
        "type": "typing",
        "sender": {"type": "operator", "name": "Анна"},
        "active": True,
    }

    # A typing frame for a conversation the operator cannot see is refused, not relayed.
    await op_ws.send_json({"type": "typing", "conversation_id": conv_id + 1000})
    err, _ = await recv_until(op_ws, is_type("error"))
    assert err["code"] == "conversation_not_found"
    await ws.close()
    await op_ws.close()


# --- pre-chat form ---------------------------------------------------------------------------


async def test_prechat_form_is_required_before_the_first_message(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(
        client, admin, prechat={"enabled": True, "fields": {"email": "required"}}
    )
    session = await start_session(client, channel)
    assert session["channel"]["prechat"] == {"enabled": True, "fields": {"email": "required"}}
    token = session["visitor_token"]
    ws, _ = await open_visitor(client, token)
    await ws.send_json({"type": "message", "client_id": "c-1", "body": "Здравствуйте"})
    err = await recv(ws)
    assert err["type"] == "error" and err["code"] == "prechat_required", err
    assert err["client_id"] == "c-1" and "email" in err["message"]
    await ws.send_json({"type": "ping"})
    assert await recv(ws) == {"type": "pong"}
    assert (await table_counts(client))["messages"] == 0

    resp = await client.post(
        "/api/widget/v1/contact",
        json={"visitor_token": token, "email": "olga@example.ru", "name": "Ольга"},
        headers={"Origin": ORIGIN},
    )
    assert resp.status == 200, await resp.text()
    ack = await send_over(ws, "c-1", "Здравствуйте")
    assert ack["duplicate"] is False
    conv = await only_conversation(client, admin, channel)
    assert conv["contact"]["name"] == "Ольга"
    assert [m["id"] for m in await operator_messages(client, admin, conv["id"])] == [
        ack["message"]["id"]
    ]
    await ws.close()


# --- the protocol with the websockets package, against the real hub on a TCP port ------------


async def _recv_ws(ws: ClientConnection, within: float = FRAME_CAP_S) -> Frame:
    frame = json.loads(await asyncio.wait_for(ws.recv(), within))
    assert isinstance(frame, dict)
    return frame


async def _recv_ws_until(ws: ClientConnection, kind: str, **fields: Any) -> list[Frame]:
    """Frames up to and including the first of ``kind`` whose fields match."""
    frames = []
    while True:
        frame = await _recv_ws(ws)
        frames.append(frame)
        if frame["type"] == kind and all(frame.get(k) == v for k, v in fields.items()):
            return frames


async def test_protocol_with_the_websockets_package(settings: Settings) -> None:
    async with running_hub(settings) as (app, base), aiohttp.ClientSession(base) as http:
        admin, channel = await real_admin_and_channel(app, http)

        async def session(token: str | None = None) -> dict[str, Any]:
            body: dict[str, Any] = {"website_token": channel["website_token"]}
            body["page"] = {"url": f"{ORIGIN}/", "title": "Печи"}
            if token:
                body["visitor_token"] = token
            r = await http.post("/api/widget/v1/sessions", json=body, headers={"Origin": ORIGIN})
            assert r.status == 200, await r.text()
            return dict(await r.json())

        async def reply(conv_id: int, body: str, private: bool = False) -> dict[str, Any]:
            r = await http.post(
                f"/api/v1/conversations/{conv_id}/messages",
                json={"body": body, "private": private},
                headers=admin,
            )
            assert r.status == 201, await r.text()
            return dict(await r.json())

        token = (await session())["visitor_token"]
        ws_url = base.replace("http", "ws") + f"/ws/widget?visitor_token={token}"
        async with connect(ws_url, origin=ORIGIN) as ws:  # type: ignore[arg-type]
            ready = await _recv_ws(ws)
            assert ready == {"type": "ready", "operators_online": False, "working_hours": None}
            await ws.send(json.dumps({"type": "message", "client_id": "u-1", "body": "Привет"}))
            frames = await _recv_ws_until(ws, "ack", client_id="u-1")
            ack = frames[-1]
            assert ack["duplicate"] is False and ack["message"]["body"] == "Привет"
            await ws.send(json.dumps({"type": "message", "client_id": "u-1", "body": "Привет"}))
            frames = await _recv_ws_until(ws, "ack", client_id="u-1")
            assert frames[-1]["duplicate"] is True
            assert frames[-1]["message"]["id"] == ack["message"]["id"]

            r = await http.get(f"/api/v1/conversations?channel={channel['id']}", headers=admin)
            (conv,) = (await r.json())["items"]
            await reply(conv["id"], "NOTE-ONLY-FOR-STAFF", private=True)
            answer = await reply(conv["id"], "Здравствуйте!")
            frames = []
            while not frames or frames[-1].get("message", {}).get("id") != answer["id"]:
                frames.append(await _recv_ws(ws))
            assert frames[-1]["message"]["sender"] == {"type": "operator", "name": "Анна"}
            assert "NOTE-ONLY-FOR-STAFF" not in json.dumps(frames)
            last_seen = answer["id"]
            ws.transport.abort()  # the network drops: no closing handshake
        # Replies while he was away are fetched on reconnect.
        missed = [await reply(conv["id"], f"Пока вас не было {i}") for i in range(2)]
        await reply(conv["id"], "NOTE-2", private=True)
        r = await http.get(
            f"/api/widget/v1/messages?after={last_seen}",
            headers={"X-Visitor-Token": token, "Origin": ORIGIN},
        )
        items = (await r.json())["items"]
        assert [m["id"] for m in items] == [m["id"] for m in missed]

        reloaded = await session(token)
        assert reloaded["visitor_token"] == token
        assert [m["id"] for m in reloaded["messages"]] == [
            ack["message"]["id"],
            answer["id"],
            *[m["id"] for m in missed],
        ]
        async with connect(ws_url, origin=ORIGIN) as ws:  # type: ignore[arg-type]
            assert (await _recv_ws(ws))["type"] == "ready"
            later = await reply(conv["id"], "Снова на связи")
            frame = await _recv_ws(ws)
            assert frame["type"] == "message" and frame["message"]["id"] == later["id"]

        # Refused handshakes: a forged token, a page of another site.
        forged = ws_url.replace(token, token[:-2] + ("xx" if token[-2:] != "xx" else "yy"))
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with connect(forged, origin=ORIGIN):  # type: ignore[arg-type]
                pass
        assert refused.value.response.status_code == 401
        error = json.loads(refused.value.response.body)["error"]
        assert error["code"] == "invalid_visitor_token"
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with connect(ws_url, origin="https://evil.example"):  # type: ignore[arg-type]
                pass
        assert refused.value.response.status_code == 403
        error = json.loads(refused.value.response.body)["error"]
        assert error["code"] == "origin_not_allowed"


async def test_a_tab_opened_before_the_first_message_relays_typing(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, _channel, token = await new_visitor(client)
    op_ws = await open_operator(client, admin)
    tab1, _ = await open_visitor(client, token)
    tab2, _ = await open_visitor(client, token)
    await send_over(tab1, "c-1", "Вопрос из первой вкладки")
    created = await recv_event(op_ws, "message.created")
    await recv_until(tab2, is_message_from("contact"))  # tab 2 now knows the chat
    await tab2.send_json({"type": "typing"})
    data = await recv_event(op_ws, "conversation.typing")
    assert data["conversation_id"] == created["conversation_id"]
    for ws in (tab1, tab2, op_ws):
        await ws.close()


async def test_ready_is_the_first_frame_even_when_a_reply_races_the_connect(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, channel, token = await new_visitor(client)
    first, _ = await open_visitor(client, token)
    ack = await send_over(first, "c-1", "Привет")
    await first.close()
    conv = await only_conversation(client, admin, channel)
    [identity] = (await get_contact(client, admin, conv["contact_id"]))["identities"]
    state = client.app[WIDGET]
    real_online = state.presence.operators_online
    # Another tab of the visitor: the frame reaching it says the fan-out has handed it out.
    other_tab, _ = await open_visitor(client, token)

    def is_the_pushed(frame: dict[str, Any]) -> bool:
        return frame.get("type") == "message" and frame["message"]["id"] == ack["message"]["id"]

    async def online_while_a_frame_arrives(audience: Any) -> bool:
        # What an operator reply does while the visitor's socket is being set up.
        await state.live.push(
            channel["id"], identity["external_id"], {"type": "message", "message": ack["message"]}
        )
        await recv_until(other_tab, is_the_pushed)  # handed out, to every socket it was for
        return await real_online(audience)

    state.presence.operators_online = online_while_a_frame_arrives  # type: ignore[method-assign]
    ws = await client.ws_connect(f"/ws/widget?visitor_token={token}", headers={"Origin": ORIGIN})
    assert (await recv(ws))["type"] == "ready"
    state.presence.operators_online = real_online  # type: ignore[method-assign]
    reply = await operator_reply(client, admin, conv["id"], "Здравствуйте")
    frame, _ = await recv_until(ws, is_message_from("operator"))
    assert frame["message"]["id"] == reply["id"]
    await ws.close()
    await other_tab.close()


async def test_shutdown_closes_visitor_sockets_with_going_away(settings: Settings) -> None:
    settings = settings.model_copy(update={"shutdown_timeout_s": FRAME_CAP_S})
    hub = running_hub(settings)
    app, base = await hub.__aenter__()
    try:
        async with aiohttp.ClientSession(base) as http:
            _admin, channel = await real_admin_and_channel(app, http)
            resp = await http.post(
                "/api/widget/v1/sessions",
                json={"website_token": channel["website_token"]},
                headers={"Origin": ORIGIN},
            )
            token = (await resp.json())["visitor_token"]
        ws = await connect(
            base.replace("http", "ws") + f"/ws/widget?visitor_token={token}",
            origin=ORIGIN,  # type: ignore[arg-type]
        )
        assert (await _recv_ws(ws))["type"] == "ready"
    finally:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.wait_for(hub.__aexit__(None, None, None), FRAME_CAP_S * 2)
        # Visitors are told at once, not after the handlers' grace time (made long here, so
        # that a busy machine cannot blur the two) runs out.
        assert loop.time() - started < settings.shutdown_timeout_s / 2
    with pytest.raises(websockets.exceptions.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), FRAME_CAP_S)
    assert ws.close_code == 1001
