"""What a hostile page or visitor cannot do through the widget: embed it on another site, read
another visitor's chat with a forged or borrowed token, break the socket with bad frames, or
flood the hub; and every refused request leaves the database as it was.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
import websockets
from aiohttp.test_utils import TestClient
from websockets.asyncio.client import connect

from hub.channels.widget.keys import ORIGINS_CACHE_S, ORIGINS_RECHECK_S
from hub.http import CTX
from hub.settings import Settings
from tests.helpers import FRAME_CAP_S, make_operator
from tests.test_widget_api import (
    ORIGIN,
    OTHER_ORIGIN,
    conversations_of,
    expect_error,
    fetch_messages,
    is_message_from,
    is_type,
    make_widget_channel,
    new_visitor,
    only_conversation,
    open_visitor,
    operator_messages,
    operator_reply,
    post_session,
    real_admin_and_channel,
    recv,
    recv_until,
    running_hub,
    send_over,
    start_session,
    table_counts,
    visitor_headers,
)

MESSAGES = "/api/widget/v1/messages"

# --- Origin and CORS -------------------------------------------------------------------------


async def test_a_page_of_another_site_is_refused_everywhere(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    _admin, channel, token = await new_visitor(client)
    before = await table_counts(client)

    # The session call's refusal is readable by the page (the widget stops on it); the answer
    # is the refusal and nothing else.
    resp = await post_session(client, channel, origin=OTHER_ORIGIN)
    await expect_error(resp, 403, "origin_not_allowed")
    assert resp.headers["Access-Control-Allow-Origin"] == OTHER_ORIGIN
    assert "Origin" in resp.headers["Vary"]
    resp = await post_session(client, channel, origin=OTHER_ORIGIN, visitor_token=token)
    await expect_error(resp, 403, "origin_not_allowed")
    assert resp.headers["Access-Control-Allow-Origin"] == OTHER_ORIGIN
    # Scheme and port are part of the origin.
    for near in ("http://shop.example", "https://shop.example:8443", "https://shop.example.evil"):
        await expect_error(
            await post_session(client, channel, origin=near), 403, "origin_not_allowed"
        )

    bad = visitor_headers(token, OTHER_ORIGIN)
    for resp in (
        await client.get("/api/widget/v1/messages", headers=bad),
        await client.post(
            "/api/widget/v1/messages", json={"client_id": "x", "body": "hi"}, headers=bad
        ),
        await client.post(
            "/api/widget/v1/callback",
            json={"visitor_token": token, "phone": "+79161234567"},
            headers={"Origin": OTHER_ORIGIN},
        ),
        await client.post(
            "/api/widget/v1/contact",
            json={"visitor_token": token, "email": "a@example.com"},
            headers={"Origin": OTHER_ORIGIN},
        ),
        # The socket's answer before the upgrade, as a plain GET shows it.
        await client.get(f"/ws/widget?visitor_token={token}", headers={"Origin": OTHER_ORIGIN}),
    ):
        await expect_error(resp, 403, "origin_not_allowed")
        assert "Access-Control-Allow-Origin" not in resp.headers

    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(
            f"/ws/widget?visitor_token={token}", headers={"Origin": OTHER_ORIGIN}
        )
    assert refused.value.status == 403
    assert await table_counts(client) == before
    # The same requests from the shop's pages work.
    ws, _ = await open_visitor(client, token)
    await ws.close()


async def test_cors_headers_only_for_allowed_origins(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)
    resp = await post_session(client, channel)
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in resp.headers["Vary"]
    token = (await resp.json())["visitor_token"]
    resp = await client.get("/api/widget/v1/messages", headers=visitor_headers(token))
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    # An allowed page reads the errors of its requests too.
    resp = await client.get("/api/widget/v1/messages?after=abc", headers=visitor_headers(token))
    await expect_error(resp, 422, "invalid_query")
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    # No Origin (not a browser page): no CORS headers, and no wildcard anywhere.
    resp = await client.get("/api/widget/v1/messages", headers=visitor_headers(token, None))
    assert resp.status == 200 and "Access-Control-Allow-Origin" not in resp.headers


async def test_cors_preflight_for_allowed_origins_and_the_session_call(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    await make_widget_channel(client, admin)
    asking = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-visitor-token",
    }
    for path in ("/api/widget/v1/sessions", "/api/widget/v1/messages"):
        for origin in (ORIGIN, OTHER_ORIGIN):
            resp = await client.options(path, headers={"Origin": origin, **asking})
            if origin == OTHER_ORIGIN and path.endswith("/messages"):
                await expect_error(resp, 403, "origin_not_allowed")
                assert "Access-Control-Allow-Origin" not in resp.headers
                continue
            # Any page may send the session call: a site that is not allowed gets to read its
            # refusal, and nothing else (test_a_page_of_another_site_is_refused_everywhere).
            assert resp.status == 204, await resp.text()
            assert resp.headers["Access-Control-Allow-Origin"] == origin
            assert "POST" in resp.headers["Access-Control-Allow-Methods"]
            allowed = resp.headers["Access-Control-Allow-Headers"].lower()
            assert "x-visitor-token" in allowed and "content-type" in allowed
            assert "Origin" in resp.headers["Vary"]
        resp = await client.options(path, headers=asking)
        assert resp.status == 403 and "Access-Control-Allow-Origin" not in resp.headers


# --- visitor tokens --------------------------------------------------------------------------


async def test_forged_or_missing_visitor_token_is_401_everywhere(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    _admin, _channel, token = await new_visitor(client)
    ws, _ = await open_visitor(client, token)
    await send_over(ws, "c-1", "Мой вопрос")
    await ws.close()
    before = await table_counts(client)

    for forged in (token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 32, "", "a" * 300):
        headers = visitor_headers(forged)
        await expect_error(
            await client.get("/api/widget/v1/messages", headers=headers),
            401,
            "invalid_visitor_token",
        )
        resp = await client.post(
            "/api/widget/v1/messages", json={"client_id": "f-1", "body": "hi"}, headers=headers
        )
        await expect_error(resp, 401, "invalid_visitor_token")
        if len(forged) <= 100:  # longer ones fail validation first (422)
            for path, extra in (
                ("/api/widget/v1/callback", {"phone": "+79161234567"}),
                ("/api/widget/v1/contact", {"email": "a@example.com"}),
            ):
                resp = await client.post(
                    path, json={"visitor_token": forged, **extra}, headers={"Origin": ORIGIN}
                )
                await expect_error(resp, 401, "invalid_visitor_token")
        resp = await client.get(f"/ws/widget?visitor_token={forged}", headers={"Origin": ORIGIN})
        await expect_error(resp, 401, "invalid_visitor_token")
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(
                f"/ws/widget?visitor_token={forged}", headers={"Origin": ORIGIN}
            )
        assert refused.value.status == 401
    resp = await client.get("/api/widget/v1/messages", headers={"Origin": ORIGIN})
    await expect_error(resp, 401, "invalid_visitor_token")
    await expect_error(
        await client.get("/ws/widget", headers={"Origin": ORIGIN}), 401, "invalid_visitor_token"
    )
    assert await table_counts(client) == before


async def test_a_401_is_readable_by_an_allowed_page(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """The widget starts a new session when its token is refused: the page must see the 401."""
    admin = await make_operator(client, role="admin")
    await make_widget_channel(client, admin)
    resp = await client.get("/api/widget/v1/messages", headers=visitor_headers("x" * 32))
    await expect_error(resp, 401, "invalid_visitor_token")
    assert resp.headers.get("Access-Control-Allow-Origin") == ORIGIN
    resp = await client.get(
        "/api/widget/v1/messages", headers=visitor_headers("x" * 32, OTHER_ORIGIN)
    )
    await expect_error(resp, 401, "invalid_visitor_token")
    assert "Access-Control-Allow-Origin" not in resp.headers


async def test_one_visitor_never_reads_another_visitors_chat(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)
    alice = (await start_session(client, channel, email="alice@example.com"))["visitor_token"]
    ws_a, _ = await open_visitor(client, alice)
    a_msg = await send_over(ws_a, "a-1", "ALICE-SECRET мой адрес: ул. Ленина 1")
    conv_a = await only_conversation(client, admin, channel)
    a_reply = await operator_reply(client, admin, conv_a["id"], "ALICE-REPLY доставим завтра")

    # Bob claims Alice's email and phone, and even her client_id: none of it joins her chat.
    bob = (await start_session(client, channel, email="alice@example.com"))["visitor_token"]
    resp = await client.post(
        "/api/widget/v1/contact",
        json={"visitor_token": bob, "email": "alice@example.com", "name": "Alice"},
        headers={"Origin": ORIGIN},
    )
    assert resp.status == 200
    ws_b, _ = await open_visitor(client, bob)
    b_ack = await send_over(ws_b, "a-1", "Bob here")
    assert b_ack["duplicate"] is False and b_ack["message"]["id"] != a_msg["message"]["id"]

    b_items = await fetch_messages(client, bob, after=0)
    assert [m["id"] for m in b_items] == [b_ack["message"]["id"]]
    b_session = await start_session(client, channel, visitor_token=bob)
    assert "ALICE" not in json.dumps(b_items) + json.dumps(b_session)
    a_items = await fetch_messages(client, alice)
    assert [m["id"] for m in a_items] == [a_msg["message"]["id"], a_reply["id"]]

    # An operator reply to Alice never reaches Bob's socket: Bob's next one is his own.
    convs = await conversations_of(client, admin, channel)
    assert len(convs) == 2 and len({c["contact_id"] for c in convs}) == 2
    conv_b = next(c for c in convs if c["id"] != conv_a["id"])
    await operator_reply(client, admin, conv_a["id"], "ALICE-SECOND")
    b_reply = await operator_reply(client, admin, conv_b["id"], "Bob, hello")
    frame, before = await recv_until(ws_b, is_message_from("operator"))
    assert frame["message"]["id"] == b_reply["id"]
    assert "ALICE" not in json.dumps(before)
    frame, _ = await recv_until(ws_a, is_message_from("operator"))
    assert frame["message"]["id"] == a_reply["id"]
    frame, _ = await recv_until(ws_a, is_message_from("operator"))
    assert frame["message"]["body"] == "ALICE-SECOND"
    await ws_a.close()
    await ws_b.close()


# --- bad frames and oversize messages --------------------------------------------------------


async def test_bad_frames_get_an_error_frame_and_the_socket_stays_usable(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    _admin, _channel, token = await new_visitor(client)
    ws, _ = await open_visitor(client, token)
    cases: list[tuple[str, str]] = [
        ("{not json", "malformed_json"),
        ("", "malformed_json"),
        ("[1, 2]", "unknown_frame"),
        ("null", "unknown_frame"),
        ('"message"', "unknown_frame"),
        ('{"type": "delete_everything"}', "unknown_frame"),
        ('{"body": "no type"}', "unknown_frame"),
        ('{"type": "message", "client_id": "c-0"}', "bad_frame"),
        ('{"type": "message", "body": "no client id"}', "bad_frame"),
        ('{"type": "message", "client_id": 7, "body": "numeric id"}', "bad_frame"),
        ('{"type": "message", "client_id": "c-0", "body": ["a"]}', "bad_frame"),
        ('{"type": "message", "client_id": "", "body": "empty id"}', "invalid_client_id"),
        (
            '{"type": "message", "client_id": "' + "x" * 65 + '", "body": "long"}',
            "invalid_client_id",
        ),
        ('{"type": "message", "client_id": "c-0", "body": "   "}', "empty_body"),
    ]
    for raw, code in cases:
        await ws.send_str(raw)
        frame = await recv(ws)
        assert frame["type"] == "error" and frame["code"] == code, (raw, frame)
        assert isinstance(frame["message"], str) and frame["message"]
    await ws.send_bytes(b"\x00\x01binary")  # ignored
    await ws.send_json({"type": "ping"})
    assert await recv(ws) == {"type": "pong"}
    assert (await table_counts(client))["messages"] == 0
    ack = await send_over(ws, "c-ok", "Всё ещё работает")
    assert ack["duplicate"] is False
    await ws.close()


async def test_oversize_message_is_refused_and_the_socket_stays_usable(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, channel, token = await new_visitor(client)
    limit = client.app[CTX].settings.widget_max_message_chars
    assert limit < client.app[CTX].settings.max_message_chars  # the widget's own, lower limit
    ws, _ = await open_visitor(client, token)
    before = await table_counts(client)
    await ws.send_json({"type": "message", "client_id": "big", "body": "я" * (limit + 1)})
    frame = await recv(ws)
    assert frame["type"] == "error" and frame["code"] == "body_too_long", frame
    assert frame["client_id"] == "big"
    assert await table_counts(client) == before
    resp = await client.post(
        "/api/widget/v1/messages",
        json={"client_id": "big-rest", "body": "я" * (limit + 1)},
        headers=visitor_headers(token),
    )
    await expect_error(resp, 422, "body_too_long")
    assert await table_counts(client) == before

    await ws.send_json({"type": "ping"})
    assert await recv(ws) == {"type": "pong"}
    ack = await send_over(ws, "exact", "я" * limit)  # exactly at the limit is fine
    assert len(ack["message"]["body"]) == limit
    conv = await only_conversation(client, admin, channel)
    assert [m["id"] for m in await operator_messages(client, admin, conv["id"])] == [
        ack["message"]["id"]
    ]
    await ws.close()


# --- rate limits -----------------------------------------------------------------------------


async def test_socket_rate_limit_answers_an_error_frame_and_keeps_the_socket(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, channel, token = await new_visitor(client)
    burst = int(client.app[CTX].settings.widget_visitor_burst)
    ws, _ = await open_visitor(client, token)
    sent = burst + 8
    for i in range(sent):
        await ws.send_json({"type": "message", "client_id": f"flood-{i}", "body": f"msg {i}"})
    answers: dict[str, dict[str, Any]] = {}
    while len(answers) < sent:
        frame = await recv(ws)
        if frame["type"] in ("ack", "error"):
            answers[frame["client_id"]] = frame
    acked = [cid for cid, f in answers.items() if f["type"] == "ack"]
    limited = [f for f in answers.values() if f["type"] == "error"]
    assert burst <= len(acked) < sent, answers
    assert limited and all(f["code"] == "rate_limited" for f in limited), limited
    assert all(isinstance(f["message"], str) and f["message"] for f in limited)
    assert not ws.closed
    await ws.send_json({"type": "ping"})
    frame, _ = await recv_until(ws, is_type("pong"))
    conv = await only_conversation(client, admin, channel)
    stored = await operator_messages(client, admin, conv["id"])
    assert sorted(m["body"] for m in stored) == sorted(
        f"msg {cid.removeprefix('flood-')}" for cid in acked
    )


async def test_rest_rate_limit_refuses_and_stores_nothing_more(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    _admin, _channel, token = await new_visitor(client)
    burst = int(client.app[CTX].settings.widget_visitor_burst)
    statuses = []
    for i in range(burst + 5):
        resp = await client.post(
            "/api/widget/v1/messages",
            json={"client_id": f"r-{i}", "body": f"rest {i}"},
            headers=visitor_headers(token),
        )
        statuses.append(resp.status)
        if resp.status != 200:
            data = await resp.json()
            assert data["error"]["code"] == "rate_limited", data
            assert 400 <= resp.status < 500
    assert statuses[:burst] == [200] * burst
    assert statuses.count(200) < len(statuses)
    assert (await table_counts(client))["messages"] == statuses.count(200)


async def test_unknown_visitor_tokens_do_not_bypass_the_new_chat_limit(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """Each unknown token makes a new visitor, so it counts as a new chat."""
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)
    burst = int(client.app[CTX].settings.widget_session_burst)
    refused = 0
    for i in range(burst + 10):
        resp = await post_session(client, channel, visitor_token=f"made-up-token-{i:04d}-xxxxxxxx")
        if resp.status != 200:
            assert (await resp.json())["error"]["code"] == "rate_limited"
            refused += 1
    assert refused >= 5
    assert (await table_counts(client))["widget_visitors"] <= burst + 5


async def test_returning_visitors_are_not_counted_as_new_chats(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)
    burst = int(client.app[CTX].settings.widget_session_burst)
    token = (await start_session(client, channel))["visitor_token"]
    for _ in range(burst + 5):  # one visitor browsing many pages
        again = await start_session(client, channel, visitor_token=token)
        assert again["visitor_token"] == token
    fresh = await start_session(client, channel)  # a colleague behind the same address
    assert fresh["visitor_token"] != token


# --- the same checks against the real hub with the websockets package ------------------------


async def test_real_socket_survives_flood_oversize_and_garbage(settings: Settings) -> None:
    async with running_hub(settings) as (app, base), aiohttp.ClientSession(base) as http:
        _admin, channel = await real_admin_and_channel(app, http)
        resp = await http.post(
            "/api/widget/v1/sessions",
            json={"website_token": channel["website_token"]},
            headers={"Origin": ORIGIN},
        )
        token = (await resp.json())["visitor_token"]
        limit = app[CTX].settings.widget_max_message_chars
        url = base.replace("http", "ws") + f"/ws/widget?visitor_token={token}"

        async with connect(url, origin=ORIGIN) as ws:  # type: ignore[arg-type]

            async def frame() -> dict[str, Any]:
                data = json.loads(await asyncio.wait_for(ws.recv(), FRAME_CAP_S))
                assert isinstance(data, dict)
                return data

            assert (await frame())["type"] == "ready"
            await ws.send("{{{")
            assert (await frame())["code"] == "malformed_json"
            await ws.send(
                json.dumps({"type": "message", "client_id": "big", "body": "x" * (limit + 1)})
            )
            assert (await frame())["code"] == "body_too_long"
            for i in range(20):
                await ws.send(json.dumps({"type": "message", "client_id": f"f{i}", "body": "spam"}))
            codes = []
            while len(codes) < 20:
                f = await frame()
                if f["type"] in ("ack", "error"):
                    codes.append(f["type"] if f["type"] == "ack" else f["code"])
            assert "rate_limited" in codes and "ack" in codes
            await ws.send(json.dumps({"type": "ping"}))
            while (f := await frame())["type"] != "pong":
                assert f["type"] == "message", f  # the echo of his own messages
        resp = await http.get(
            "/api/widget/v1/messages", headers={"X-Visitor-Token": token, "Origin": ORIGIN}
        )
        assert len((await resp.json())["items"]) == codes.count("ack")

        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with connect(url, origin=OTHER_ORIGIN):  # type: ignore[arg-type]
                pass
        assert refused.value.response.status_code == 403
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with connect(url.replace(token, "forged" * 6), origin=ORIGIN):  # type: ignore[arg-type]
                pass
        assert refused.value.response.status_code == 401


async def test_a_site_added_after_a_preflight_is_allowed_within_seconds(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """Allowed origins are cached for ORIGINS_CACHE_S, but a refusal looks again at a list at
    most ORIGINS_RECHECK_S old, so a new site does not wait for the whole cache time."""
    assert ORIGINS_RECHECK_S < ORIGINS_CACHE_S / 5
    admin = await make_operator(client, role="admin")
    await make_widget_channel(client, admin)
    asking = {"Access-Control-Request-Method": "POST"}
    # (The session call's preflight passes for any page: its refusal is what it reads.)
    resp = await client.options(MESSAGES, headers={"Origin": ORIGIN, **asking})
    assert resp.status == 204
    new_site = "https://new-shop.example"
    resp = await client.options(MESSAGES, headers={"Origin": new_site, **asking})
    assert resp.status == 403
    channel = await make_widget_channel(client, admin, name="New shop", origins=(new_site,))
    await asyncio.sleep(ORIGINS_RECHECK_S + 0.1)
    resp = await client.options(MESSAGES, headers={"Origin": new_site, **asking})
    assert resp.status == 204, await resp.text()
    assert resp.headers["Access-Control-Allow-Origin"] == new_site
    session = await start_session(client, channel, origin=new_site)
    assert session["channel"]["name"] == "New shop"
