"""A visitor rates a resolved conversation: asked when it is resolved, once per resolution, and
the rating shows in the conversation, on the contact and per operator in the reports.

A second rating of the same resolution is refused with 409 ``already_rated`` and the first
stands; bad input and another visitor's resolution are refused and write nothing.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hub.app import create_app
from hub.http import CTX
from hub.inbox.models import Message
from hub.inbox.rating_models import ConversationRating
from hub.settings import Settings
from tests.helpers import Op, make_operator, make_team
from tests.test_widget_api import (
    OTHER_ORIGIN,
    expect_error,
    is_type,
    make_widget_channel,
    only_conversation,
    open_operator,
    open_visitor,
    operator_messages,
    recv_event,
    recv_until,
    send_over,
    start_session,
    visitor_headers,
)

Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> Client:
    """The app with room for the many requests of one visitor these tests make (the widget's
    rate limits have tests of their own)."""
    roomy = settings.model_copy(update={"widget_visitor_burst": 100})
    return await aiohttp_client(create_app(roomy))  # type: ignore[no-any-return]


async def set_status(client: Client, op: Op, conv_id: int, status: str) -> None:
    resp = await client.post(
        f"/api/v1/conversations/{conv_id}/status", json={"status": status}, headers=op.headers
    )
    assert resp.status == 200, await resp.text()


async def post_rating(
    client: Client, token: str, body: Any, origin: str | None = "https://shop.example"
) -> aiohttp.ClientResponse:
    return await client.post(
        "/api/widget/v1/rating", json=body, headers=visitor_headers(token, origin)
    )


async def rating_request(client: Client, channel: dict[str, Any], token: str) -> Any:
    """What a reloaded page learns: the session's and the catch-up's ``rating_request``."""
    session = await start_session(client, channel, visitor_token=token)
    fetched = await client.get("/api/widget/v1/messages", headers=visitor_headers(token))
    assert (await fetched.json())["rating_request"] == session["rating_request"]
    return session["rating_request"]


async def counts(client: Client) -> tuple[int, int]:
    async def query(session: Any) -> tuple[int, int]:
        ratings = await session.scalar(select(func.count(ConversationRating.id)))
        messages = await session.scalar(select(func.count(Message.id)))
        return int(ratings), int(messages)

    return await client.app[CTX].read(query)


async def chat(client: Client) -> tuple[Op, Op, dict[str, Any], str, int]:
    """An admin, an operator of the site's team, the site, a visitor's token and his
    conversation (assigned to the operator)."""
    team = await make_team(client)
    admin = await make_operator(client, role="admin", name="Анна")
    oleg = await make_operator(client, name="Олег", team_ids=[team])
    channel = await make_widget_channel(client, admin, team_id=team)
    token = (await start_session(client, channel))["visitor_token"]
    ws, _ = await open_visitor(client, token)
    await send_over(ws, "m1", "Здравствуйте, нужна печь для бани")
    await ws.close()
    conv = (await only_conversation(client, admin, channel))["id"]
    resp = await client.post(
        f"/api/v1/conversations/{conv}/assign", json={"operator_id": oleg.id}, headers=admin.headers
    )
    assert resp.status == 200, await resp.text()
    return admin, oleg, channel, token, conv


async def test_a_resolved_conversation_is_rated_once_and_shows_everywhere(client: Client) -> None:
    admin, oleg, channel, token, conv = await chat(client)
    assert await rating_request(client, channel, token) is None  # not resolved yet
    tab, _ = await open_visitor(client, token)
    op_ws = await open_operator(client, admin)

    await set_status(client, admin, conv, "resolved")  # Anna closes Oleg's conversation
    asked, _ = await recv_until(tab, is_type("rating_request"))
    resolution = asked["resolution_id"]
    assert asked == {"type": "rating_request", "resolution_id": resolution, "conversation_id": conv}
    assert await rating_request(client, channel, token) == {
        "resolution_id": resolution,
        "conversation_id": conv,
    }

    resp = await post_rating(
        client, token, {"resolution_id": resolution, "score": 4, "comment": "  Быстро ответили "}
    )
    assert resp.status == 201, await resp.text()
    rating = (await resp.json())["rating"]
    assert set(rating) == {"id", "resolution_id", "score", "comment", "created_at"}
    assert (rating["score"], rating["comment"]) == (4, "Быстро ответили")

    # Operators see it live: the activity in the conversation, then the event.
    activity = await recv_event(
        op_ws, "message.created", lambda d: d["message"]["meta"].get("action") == "rating"
    )
    assert activity["message"]["kind"] == "activity"
    assert activity["message"]["body"] == (
        "The customer rated the conversation 4 of 5: Быстро ответили"
    )
    rated = await recv_event(op_ws, "conversation.rated")
    assert rated["conversation_id"] == conv and rated["rating"]["operator_id"] == oleg.id
    assert rated["rating"]["operator_name"] == "Олег"
    listed = await operator_messages(client, oleg, conv)
    assert listed[-1]["meta"]["score"] == 4

    # Asked no more; a second rating is refused and the first stands.
    assert await rating_request(client, channel, token) is None
    before = await counts(client)
    again = await post_rating(client, token, {"resolution_id": resolution, "score": 1})
    await expect_error(again, 409, "already_rated")
    assert await counts(client) == before

    # On the contact, for those who may see its conversations.
    contact_id = rated["contact_id"]
    for viewer in (admin, oleg):
        got = await client.get(f"/api/v1/contacts/{contact_id}/ratings", headers=viewer.headers)
        assert got.status == 200, await got.text()
        card = await got.json()
        assert (card["count"], card["average"]) == (1, 4.0)
        assert card["items"][0]["comment"] == "Быстро ответили"
    outsider = await make_operator(client)
    hidden = await client.get(f"/api/v1/contacts/{contact_id}/ratings", headers=outsider.headers)
    await expect_error(hidden, 404, "contact_not_found")

    # In the operators' report, for Oleg (his conversation), not for Anna who resolved it.
    report = await client.get("/api/v1/reports/operators", headers=admin.headers)
    rows = {r["operator_id"]: r for r in (await report.json())["items"]}
    assert rows[oleg.id]["rating"] == {"average": 4.0, "count": 1}
    assert admin.id not in rows or rows[admin.id]["rating"]["count"] == 0

    # He writes again, it is resolved again: a new resolution, rated anew.
    ws, _ = await open_visitor(client, token)
    await send_over(ws, "m2", "И ещё вопрос про дымоход")
    assert await rating_request(client, channel, token) is None  # open again: nothing to rate
    await set_status(client, oleg, conv, "resolved")
    second, _ = await recv_until(ws, is_type("rating_request"))
    assert second["resolution_id"] != resolution
    resp = await post_rating(client, token, {"resolution_id": second["resolution_id"], "score": 5})
    assert resp.status == 201, await resp.text()
    report = await client.get("/api/v1/reports/operators", headers=admin.headers)
    rows = {r["operator_id"]: r for r in (await report.json())["items"]}
    assert rows[oleg.id]["rating"] == {"average": 4.5, "count": 2}
    for sock in (tab, ws, op_ws):
        await sock.close()


async def test_a_conversation_nobody_had_counts_for_whoever_resolved_it(client: Client) -> None:
    admin = await make_operator(client, role="admin", name="Анна")
    channel = await make_widget_channel(client, admin)
    token = (await start_session(client, channel))["visitor_token"]
    ws, _ = await open_visitor(client, token)
    await send_over(ws, "m1", "Добрый день")
    conv = (await only_conversation(client, admin, channel))["id"]
    await set_status(client, admin, conv, "resolved")
    asked, _ = await recv_until(ws, is_type("rating_request"))
    resp = await post_rating(client, token, {"resolution_id": asked["resolution_id"], "score": 2})
    assert resp.status == 201, await resp.text()
    report = await client.get("/api/v1/reports/operators", headers=admin.headers)
    rows = {r["operator_id"]: r for r in (await report.json())["items"]}
    assert rows[admin.id]["rating"] == {"average": 2.0, "count": 1}
    await ws.close()


async def test_bad_ratings_are_refused_and_write_nothing(client: Client) -> None:
    admin, _oleg, channel, token, conv = await chat(client)
    await set_status(client, admin, conv, "resolved")
    pending = await rating_request(client, channel, token)
    resolution = pending["resolution_id"]
    customer_message = (await operator_messages(client, admin, conv))[0]["id"]
    other = (await start_session(client, channel))["visitor_token"]
    before = await counts(client)

    bad_bodies: list[tuple[Any, int, str]] = [
        ({"resolution_id": resolution, "score": 0}, 422, "validation_error"),
        ({"resolution_id": resolution, "score": 6}, 422, "validation_error"),
        ({"resolution_id": resolution, "score": "5"}, 422, "validation_error"),
        ({"resolution_id": resolution, "score": 4.5}, 422, "validation_error"),
        ({"resolution_id": resolution, "score": True}, 422, "validation_error"),
        ({"score": 5}, 422, "validation_error"),
        ({"resolution_id": resolution, "score": 5, "comment": "х" * 2001}, 422, "validation_error"),
        ({"resolution_id": resolution, "score": 5, "stars": 5}, 422, "validation_error"),
        ({"resolution_id": 2**40, "score": 5}, 422, "validation_error"),
        ({"resolution_id": 999_999, "score": 5}, 404, "resolution_not_found"),
        ({"resolution_id": customer_message, "score": 5}, 404, "resolution_not_found"),
    ]
    for body, status, code in bad_bodies:
        resp = await post_rating(client, token, body)
        assert resp.status == status, (body, await resp.text())
        assert (await resp.json())["error"]["code"] == code, body
    malformed = await client.post(
        "/api/widget/v1/rating", data=b"{score: 5", headers=visitor_headers(token)
    )
    assert malformed.status == 400
    # Another visitor of the same site cannot rate his conversation.
    await expect_error(
        await post_rating(client, other, {"resolution_id": resolution, "score": 1}),
        404,
        "resolution_not_found",
    )
    await expect_error(
        await post_rating(client, "forged", {"resolution_id": resolution, "score": 1}),
        401,
        "invalid_visitor_token",
    )
    await expect_error(
        await post_rating(client, token, {"resolution_id": resolution, "score": 1}, OTHER_ORIGIN),
        403,
        "origin_not_allowed",
    )
    assert await counts(client) == before
    assert await rating_request(client, channel, token) == pending  # still his to give
