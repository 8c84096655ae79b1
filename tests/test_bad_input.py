"""Bad input gets a clear JSON error and changes nothing (DESIGN.md section 5, rule 3)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hub.http import CTX
from hub.inbox.models import (
    Channel,
    Contact,
    ContactEmail,
    ContactPhone,
    Conversation,
    Message,
    Operator,
    OperatorToken,
    Team,
)
from tests.helpers import Op, auth, customer_says, make_api_channel, make_operator

SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
TABLES = (
    Message,
    Conversation,
    Contact,
    ContactPhone,
    ContactEmail,
    Channel,
    Operator,
    OperatorToken,
    Team,
)


async def snapshot(client: TestClient) -> dict[str, Any]:  # type: ignore[type-arg]
    """Row counts of every table a request could write, plus the conversations' state."""
    out: dict[str, Any] = {}
    async with client.app[CTX].sessionmaker() as session:
        for model in TABLES:
            out[model.__tablename__] = await session.scalar(select(func.count()).select_from(model))
        rows = await session.execute(
            select(
                Conversation.id,
                Conversation.status,
                Conversation.assignee_id,
                Conversation.team_id,
                Conversation.last_activity_at,
                Conversation.unread_count,
            ).order_by(Conversation.id)
        )
        out["conversation_state"] = [tuple(r) for r in rows]
    return out


async def expect_error(resp: ClientResponse, status: int, code: str | None = None) -> str:
    """Every error is ``{"error": {"code": snake_case, "message": str}}``."""
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    data = await resp.json()
    assert set(data) == {"error"}, data
    assert set(data["error"]) == {"code", "message"}, data
    assert SNAKE.match(data["error"]["code"]), data
    assert isinstance(data["error"]["message"], str) and data["error"]["message"], data
    if code is not None:
        assert data["error"]["code"] == code, data
    return str(data["error"]["code"])


class World:
    """An admin, a channel and one conversation with a customer message."""

    admin: Op
    channel: dict[str, Any]
    conv_id: int
    contact_id: int


@pytest.fixture
async def world(client: TestClient) -> World:  # type: ignore[type-arg]
    w = World()
    w.admin = await make_operator(client, role="admin")
    w.channel = await make_api_channel(client, w.admin)
    out = await customer_says(client, w.channel, "hello", phone="+7 916 123-45-67")
    w.conv_id = out["conversation"]["id"]
    w.contact_id = out["conversation"]["contact_id"]
    return w


def conv_url(w: World, tail: str = "") -> str:
    return f"/api/v1/conversations/{w.conv_id}{tail}"


def inbound_url(w: World) -> str:
    return f"/api/v1/channels/{w.channel['id']}/inbound"


def json_headers(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Content-Type": "application/json"}


async def test_malformed_and_non_object_json(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    w = world
    before = await snapshot(client)
    bodies: list[tuple[bytes, str]] = [
        (b'{"body": "hi"', "malformed_json"),
        (b"{'body': 'hi'}", "malformed_json"),
        (b"\xff\xfe\x00garbage", "malformed_json"),
        (b"[1, 2, 3]", "malformed_json"),
        (b'"just a string"', "malformed_json"),
        (b"42", "malformed_json"),
        (b"null", "malformed_json"),
    ]
    targets = [
        (conv_url(w, "/messages"), w.admin.headers),
        (conv_url(w, "/assign"), w.admin.headers),
        (conv_url(w, "/status"), w.admin.headers),
        (inbound_url(w), auth(w.channel["secret"])),
        ("/api/v1/operators", w.admin.headers),
        ("/api/v1/channels", w.admin.headers),
    ]
    for url, headers in targets:
        for raw, code in bodies:
            resp = await client.post(url, data=raw, headers=json_headers(headers))
            await expect_error(resp, 400, code)
        resp = await client.post(url, data=b"", headers=json_headers(headers))
        await expect_error(resp, 400)
    resp = await client.post(
        "/api/v1/auth/login", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    await expect_error(resp, 400, "malformed_json")
    assert await snapshot(client) == before


async def test_body_above_the_limit_is_413(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    w = world
    limit = client.app[CTX].settings.max_body_bytes
    before = await snapshot(client)
    big_text = "x" * (limit + limit // 10)
    big = json.dumps({"body": big_text}).encode()
    assert len(big) > limit
    resp = await client.post(
        conv_url(w, "/messages"), data=big, headers=json_headers(w.admin.headers)
    )
    await expect_error(resp, 413, "body_too_large")
    inbound = json.dumps({"contact": {"external_id": "big"}, "body": big_text}).encode()
    resp = await client.post(
        inbound_url(w), data=inbound, headers=json_headers(auth(w.channel["secret"]))
    )
    await expect_error(resp, 413, "body_too_large")

    # Sent in chunks without a Content-Length, the limit still holds.
    async def chunks() -> Any:
        for i in range(0, len(big), 64 * 1024):
            yield big[i : i + 64 * 1024]

    resp = await client.post(
        conv_url(w, "/messages"), data=chunks(), headers=json_headers(w.admin.headers)
    )
    await expect_error(resp, 413, "body_too_large")
    assert await snapshot(client) == before
    # The hub still answers normally afterwards.
    resp = await client.post(
        conv_url(w, "/messages"), json={"body": "small"}, headers=w.admin.headers
    )
    assert resp.status == 201, await resp.text()


async def test_unknown_fields_are_422(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    w = world
    before = await snapshot(client)
    cases: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        (conv_url(w, "/messages"), {"body": "hi", "privat": True}, w.admin.headers),
        (conv_url(w, "/assign"), {"operator_id": w.admin.id, "force": True}, w.admin.headers),
        (conv_url(w, "/status"), {"status": "resolved", "why": "done"}, w.admin.headers),
        (
            inbound_url(w),
            {"contact": {"external_id": "z"}, "body": "hi", "x": 1},
            auth(w.channel["secret"]),
        ),
        (
            inbound_url(w),
            {"contact": {"external_id": "z", "age": 3}, "body": "hi"},
            auth(w.channel["secret"]),
        ),
        ("/api/v1/auth/login", {"email": "a@b.cd", "password": "x", "remember": True}, {}),
    ]
    for url, body, headers in cases:
        await expect_error(
            await client.post(url, json=body, headers=headers), 422, "validation_error"
        )
    # Wrong types too.
    await expect_error(
        await client.post(conv_url(w, "/messages"), json={"body": 5}, headers=w.admin.headers),
        422,
        "validation_error",
    )
    await expect_error(
        await client.post(
            conv_url(w, "/messages"),
            json={"body": "x", "private": "maybe"},
            headers=w.admin.headers,
        ),
        422,
        "validation_error",
    )
    await expect_error(
        await client.post(
            conv_url(w, "/assign"), json={"operator_id": "me"}, headers=w.admin.headers
        ),
        422,
        "validation_error",
    )
    assert await snapshot(client) == before


async def test_unknown_and_malformed_ids(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    w = world
    h = w.admin.headers
    before = await snapshot(client)
    for missing in ("999999", "2147483647", "99999999999", "999999999999999999"):
        base = f"/api/v1/conversations/{missing}"
        await expect_error(await client.get(base, headers=h), 404, "conversation_not_found")
        await expect_error(
            await client.get(base + "/messages", headers=h), 404, "conversation_not_found"
        )
        await expect_error(
            await client.post(base + "/messages", json={"body": "hi"}, headers=h),
            404,
            "conversation_not_found",
        )
        await expect_error(
            await client.post(base + "/assign", json={"operator_id": w.admin.id}, headers=h),
            404,
            "conversation_not_found",
        )
        await expect_error(
            await client.post(base + "/status", json={"status": "resolved"}, headers=h),
            404,
            "conversation_not_found",
        )
        await expect_error(
            await client.get(f"/api/v1/contacts/{missing}", headers=h), 404, "contact_not_found"
        )
        await expect_error(
            await client.post(f"/api/v1/messages/{missing}/retry", headers=h),
            404,
            "message_not_found",
        )
        await expect_error(
            await client.patch(f"/api/v1/operators/{missing}", json={"name": "X"}, headers=h),
            404,
            "operator_not_found",
        )
    for bad in ("abc", "-1", "1.5", "0x10", "1e3", "%20"):
        await expect_error(
            await client.get(f"/api/v1/conversations/{bad}", headers=h), 400, "invalid_id"
        )
        await expect_error(
            await client.post(
                f"/api/v1/conversations/{bad}/messages", json={"body": "x"}, headers=h
            ),
            400,
            "invalid_id",
        )
        await expect_error(
            await client.get(f"/api/v1/contacts/{bad}", headers=h), 400, "invalid_id"
        )
    # An unknown channel id on the inbound endpoint is a 401, whatever its size.
    for missing in ("999999", "99999999999"):
        resp = await client.post(
            f"/api/v1/channels/{missing}/inbound",
            json={"contact": {"external_id": "x"}, "body": "hi"},
            headers=auth(w.channel["secret"]),
        )
        await expect_error(resp, 401, "invalid_channel_secret")
    # Ids in bodies that no row has, or that no row can have.
    await expect_error(
        await client.post(conv_url(w, "/assign"), json={"operator_id": 999999}, headers=h),
        422,
        "operator_not_found",
    )
    await expect_error(
        await client.post(conv_url(w, "/assign"), json={"team_id": 999999}, headers=h),
        422,
        "team_not_found",
    )
    for impossible in (0, -(2**40), 2**31, 2**40):
        for body in ({"operator_id": impossible}, {"team_id": impossible}):
            await expect_error(
                await client.post(conv_url(w, "/assign"), json=body, headers=h),
                422,
                "validation_error",
            )
        await expect_error(
            await client.post(
                "/api/v1/operators",
                json={"email": "ids@example.com", "name": "Ids", "team_ids": [impossible]},
                headers=h,
            ),
            422,
            "validation_error",
        )
        await expect_error(
            await client.post(
                "/api/v1/teams", json={"name": "Ids", "operator_ids": [impossible]}, headers=h
            ),
            422,
            "validation_error",
        )
    # Query-string ids beyond the range simply match nothing (or everything older).
    for missing_id in (999999, 2**31, 2**40):
        resp = await client.get(f"/api/v1/conversations?channel={missing_id}", headers=h)
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["items"] == []
        resp = await client.get(conv_url(w, f"/messages?before={missing_id}"), headers=h)
        assert resp.status == 200, await resp.text()
    assert await snapshot(client) == before


async def test_forged_cursors_are_422(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    h = world.admin.headers

    def cursor(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    forged = [
        "not-a-cursor!",
        cursor("just a string"),
        cursor(["2024-01-01T00:00:00", 1]),  # no time zone
        cursor(["2024-01-01T00:00:00+00:00", 2**70]),
        cursor(["2024-01-01T00:00:00+00:00", "x"]),
        cursor([1, 2]),
        cursor({"a": 1, "b": 2}),
    ]
    for value in forged:
        resp = await client.get("/api/v1/conversations", params={"cursor": value}, headers=h)
        await expect_error(resp, 422, "invalid_cursor")
    resp = await client.get("/api/v1/conversations", params={"q": "x" * 201}, headers=h)
    await expect_error(resp, 422, "invalid_query")
    for name in ("limit", "before", "after"):
        resp = await client.get(conv_url(world, f"/messages?{name}=-1"), headers=h)
        await expect_error(resp, 400, "invalid_query")


async def test_missing_forged_and_wrong_tokens(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    w = world
    before = await snapshot(client)
    forged = [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer "},
        {"Authorization": "Token " + w.admin.token},
        {"Authorization": "Bearer hub_forged_token_that_nobody_issued"},
        {"Authorization": "Bearer " + w.admin.token[:-1]},
        {"Authorization": "Bearer " + w.channel["secret"]},  # a channel secret is no login
        {"Authorization": "Bearer " + "A" * 5000},
    ]
    for headers in forged:
        await expect_error(await client.get("/api/v1/conversations", headers=headers), 401)
        await expect_error(
            await client.post(conv_url(w, "/messages"), json={"body": "forged"}, headers=headers),
            401,
        )
        await expect_error(
            await client.post(conv_url(w, "/status"), json={"status": "resolved"}, headers=headers),
            401,
        )
        await expect_error(
            await client.post(
                "/api/v1/operators",
                json={"email": "evil@example.com", "name": "Evil"},
                headers=headers,
            ),
            401,
        )
        await expect_error(
            await client.post(
                "/api/v1/channels", json={"type": "api", "name": "Evil"}, headers=headers
            ),
            401,
        )
    # An operator's token does not open a channel's inbound endpoint.
    resp = await client.post(
        inbound_url(w),
        json={"contact": {"external_id": "e"}, "body": "spoof"},
        headers=w.admin.headers,
    )
    await expect_error(resp, 401, "invalid_channel_secret")
    resp = await client.post(
        inbound_url(w),
        json={"contact": {"external_id": "e"}, "body": "spoof"},
        headers=auth("nope"),
    )
    await expect_error(resp, 401, "invalid_channel_secret")
    # Even a malformed body behind a wrong secret is a 401: nothing is read first.
    resp = await client.post(inbound_url(w), data=b"{broken", headers=auth("nope"))
    await expect_error(resp, 401, "invalid_channel_secret")
    assert await snapshot(client) == before


async def test_message_body_rules(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    w = world
    limit = client.app[CTX].settings.max_message_chars
    before = await snapshot(client)
    for body, code in (
        ("", "empty_body"),
        ("   \n\t ", "empty_body"),
        ("x" * (limit + 1), "body_too_long"),
    ):
        for private in (False, True):
            resp = await client.post(
                conv_url(w, "/messages"),
                json={"body": body, "private": private},
                headers=w.admin.headers,
            )
            await expect_error(resp, 422, code)
        resp = await client.post(
            inbound_url(w),
            json={"contact": {"external_id": "cust-1"}, "body": body},
            headers=auth(w.channel["secret"]),
        )
        await expect_error(resp, 422, code)
    await expect_error(
        await client.post(
            conv_url(w, "/messages"), json={"private": True}, headers=w.admin.headers
        ),
        422,
        "validation_error",
    )
    assert await snapshot(client) == before
    # Exactly at the limit is fine.
    resp = await client.post(
        conv_url(w, "/messages"), json={"body": "y" * limit}, headers=w.admin.headers
    )
    assert resp.status == 201, await resp.text()


async def test_invalid_contact_details_store_nothing(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    w = world
    before = await snapshot(client)
    for phone in ("not a phone", "123", "+7 916", "8" * 41, "   "):
        resp = await client.post(
            inbound_url(w),
            json={"contact": {"external_id": "new-person", "phone": phone}, "body": "hi"},
            headers=auth(w.channel["secret"]),
        )
        await expect_error(resp, 422)
        assert (await resp.json())["error"]["code"] in ("invalid_phone", "validation_error")
    resp = await client.post(
        inbound_url(w),
        json={"contact": {"external_id": "new-person", "phone": "12345"}, "body": "hi"},
        headers=auth(w.channel["secret"]),
    )
    await expect_error(resp, 422, "invalid_phone")
    resp = await client.post(
        inbound_url(w),
        json={"contact": {"external_id": "new-person", "email": "not-an-email"}, "body": "hi"},
        headers=auth(w.channel["secret"]),
    )
    await expect_error(resp, 422, "invalid_email")
    resp = await client.post(
        inbound_url(w),
        json={"contact": {"external_id": ""}, "body": "hi"},
        headers=auth(w.channel["secret"]),
    )
    await expect_error(resp, 422, "validation_error")
    resp = await client.post(inbound_url(w), json={"body": "hi"}, headers=auth(w.channel["secret"]))
    await expect_error(resp, 422, "validation_error")
    assert await snapshot(client) == before


async def test_invalid_status_and_assignment(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    w = world
    before = await snapshot(client)
    for body in (
        {"status": "closed"},
        {"status": ""},
        {"status": "OPEN"},
        {"status": "open", "snoozed_until": "2999-01-01T00:00:00Z"},
        {"status": "snoozed", "snoozed_until": "tomorrow"},
        {"status": "snoozed", "snoozed_until": "2000-01-01T00:00:00Z"},
        {"status": "snoozed"},
    ):
        resp = await client.post(conv_url(w, "/status"), json=body, headers=w.admin.headers)
        await expect_error(resp, 422)
    await expect_error(
        await client.post(
            conv_url(w, "/assign"), json={"note": "n" * 2001}, headers=w.admin.headers
        ),
        422,
    )
    await expect_error(
        await client.post(conv_url(w, "/assign"), json={}, headers=w.admin.headers),
        409,
        "nothing_to_change",
    )
    assert await snapshot(client) == before


async def test_unknown_routes_and_methods_answer_json(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    await expect_error(await client.get("/api/v1/nothing-here", headers=world.admin.headers), 404)
    resp = await client.delete(conv_url(world), headers=world.admin.headers)
    await expect_error(resp, 405)
    # RFC 9110: a 405 says which methods the resource has.
    assert set(resp.headers.get("Allow", "").split(",")) == {"GET", "HEAD"}, resp.headers
    resp = await client.request("TRACE", "/api/v1/canned_responses", headers=world.admin.headers)
    await expect_error(resp, 405)
    assert set(resp.headers["Allow"].split(",")) == {"GET", "HEAD", "POST"}
