"""Conversations through the HTTP API: filters, search, paging, replies, notes, assignment and
status, each leaving a system activity operators can read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from hub.db import utcnow
from hub.events import EVENTS_TOPIC
from hub.http import CTX
from hub.inbox.handoff import wake_snoozed
from hub.inbox.models import Conversation
from tests.helpers import Op, customer_says, make_api_channel, make_operator, make_team


async def expect_error(resp: ClientResponse, status: int, code: str) -> None:
    assert resp.status == status, await resp.text()
    data = await resp.json()
    assert set(data) == {"error"} and data["error"]["code"] == code, data
    assert isinstance(data["error"]["message"], str) and data["error"]["message"]


async def conversations(client: TestClient, who: Op, query: str = "") -> list[int]:  # type: ignore[type-arg]
    resp = await client.get(f"/api/v1/conversations{query}", headers=who.headers)
    assert resp.status == 200, await resp.text()
    return [c["id"] for c in (await resp.json())["items"]]


async def search(client: TestClient, who: Op, q: str) -> list[int]:  # type: ignore[type-arg]
    resp = await client.get("/api/v1/conversations", params={"q": q}, headers=who.headers)
    assert resp.status == 200, await resp.text()
    return [c["id"] for c in (await resp.json())["items"]]


async def messages(
    client: TestClient,
    who: Op,
    conv_id: int,
    **params: Any,  # type: ignore[type-arg]
) -> dict[str, Any]:
    resp = await client.get(
        f"/api/v1/conversations/{conv_id}/messages",
        params={k: str(v) for k, v in params.items()},
        headers=who.headers,
    )
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def conversation(client: TestClient, who: Op, conv_id: int) -> dict[str, Any]:  # type: ignore[type-arg]
    resp = await client.get(f"/api/v1/conversations/{conv_id}", headers=who.headers)
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def activities(client: TestClient, who: Op, conv_id: int) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    items = (await messages(client, who, conv_id, limit=100))["items"]
    return [m for m in items if m["kind"] == "activity"]


async def assign(
    client: TestClient,
    who: Op,
    conv_id: int,
    **body: Any,  # type: ignore[type-arg]
) -> ClientResponse:
    return await client.post(
        f"/api/v1/conversations/{conv_id}/assign", json=body, headers=who.headers
    )


async def set_status(
    client: TestClient,
    who: Op,
    conv_id: int,
    **body: Any,  # type: ignore[type-arg]
) -> ClientResponse:
    return await client.post(
        f"/api/v1/conversations/{conv_id}/status", json=body, headers=who.headers
    )


async def new_conversation(
    client: TestClient,
    channel: dict[str, Any],
    external_id: str,
    body: str = "hello",
    **kw: Any,  # type: ignore[type-arg]
) -> int:
    out = await customer_says(client, channel, body, external_id=external_id, **kw)
    return int(out["conversation"]["id"])


async def test_status_filter(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    open_id = await new_conversation(client, channel, "a")
    pending_id = await new_conversation(client, channel, "b")
    resolved_id = await new_conversation(client, channel, "c")
    assert (await set_status(client, admin, pending_id, status="pending")).status == 200
    assert (await set_status(client, admin, resolved_id, status="resolved")).status == 200
    assert await conversations(client, admin, "?status=open") == [open_id]
    assert await conversations(client, admin, "?status=pending") == [pending_id]
    assert await conversations(client, admin, "?status=resolved") == [resolved_id]
    assert await conversations(client, admin, "?status=snoozed") == []
    assert sorted(await conversations(client, admin)) == sorted([open_id, pending_id, resolved_id])
    await expect_error(
        await client.get("/api/v1/conversations?status=closed", headers=admin.headers),
        422,
        "invalid_status",
    )


async def test_assignee_and_channel_filters(client: TestClient) -> None:  # type: ignore[type-arg]
    anna = await make_operator(client, role="manager", name="Anna")
    oleg = await make_operator(client, role="manager", name="Oleg")
    admin = await make_operator(client, role="admin")
    first = await make_api_channel(client, admin)
    second = await make_api_channel(client, admin)
    c_anna = await new_conversation(client, first, "a")
    c_oleg = await new_conversation(client, first, "b")
    c_free = await new_conversation(client, second, "c")
    assert (await assign(client, anna, c_anna, operator_id=anna.id)).status == 200
    assert (await assign(client, anna, c_oleg, operator_id=oleg.id)).status == 200

    assert await conversations(client, anna, "?assignee=me") == [c_anna]
    assert await conversations(client, oleg, "?assignee=me") == [c_oleg]
    assert await conversations(client, admin, "?assignee=me") == []
    assert await conversations(client, anna, "?assignee=unassigned") == [c_free]
    assert await conversations(client, admin, f"?assignee={oleg.id}") == [c_oleg]
    assert await conversations(client, admin, f"?channel={second['id']}") == [c_free]
    assert sorted(await conversations(client, admin, f"?channel={first['id']}")) == sorted(
        [c_anna, c_oleg]
    )
    assert await conversations(client, admin, f"?channel={first['id']}&assignee=unassigned") == []
    await expect_error(
        await client.get("/api/v1/conversations?assignee=someone", headers=admin.headers),
        422,
        "invalid_assignee",
    )
    await expect_error(
        await client.get("/api/v1/conversations?channel=abc", headers=admin.headers),
        400,
        "invalid_query",
    )


async def test_text_search(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    maria = await new_conversation(
        client, channel, "maria", "Добрый день", name="Мария Сидорова", phone="8 (916) 123-45-67"
    )
    john = await new_conversation(
        client,
        channel,
        "john",
        "Where is my ORDER?",
        name="John Smith",
        email="John.Smith@Example.COM",
    )
    other = await new_conversation(
        client, channel, "other", "Нужна ДОСТАВКА в Казань", name="Пётр", phone="+7 903 555 0000"
    )
    # Name, case-blind in Cyrillic and Latin.
    assert await search(client, admin, "мария") == [maria]
    assert await search(client, admin, "СИДОРОВА") == [maria]
    assert await search(client, admin, "smith") == [john]
    # A phone written any local way finds the E.164 number.
    for spelling in (
        "8 (916) 123-45-67",
        "+7 916 1234567",
        "89161234567",
        "916-123-45",
        "9161234567",
    ):
        assert await search(client, admin, spelling) == [maria], spelling
    assert await search(client, admin, "+7 903 555-00-00") == [other]
    # Email, stored lower-cased.
    assert await search(client, admin, "john.smith@example.com") == [john]
    assert await search(client, admin, "EXAMPLE.com") == [john]
    # Message text, case-blind in any script.
    assert await search(client, admin, "доставка") == [other]
    assert await search(client, admin, "казань") == [other]
    assert await search(client, admin, "order?") == [john]
    assert await search(client, admin, "nothing like this") == []
    # LIKE wildcards are plain characters.
    assert await search(client, admin, "%") == []
    assert await search(client, admin, "_") == []
    # Search combines with the other filters.
    resp = await client.get(
        "/api/v1/conversations",
        params={"q": "доставка", "status": "resolved"},
        headers=admin.headers,
    )
    assert (await resp.json())["items"] == []


async def test_cursor_paging_walks_every_conversation_once(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    created = [await new_conversation(client, channel, f"p{i}") for i in range(7)]
    # Activity moves a conversation to the top: the oldest gets a new message.
    await customer_says(client, channel, "me again", external_id="p0")
    expected = [created[0], *reversed(created[1:])]

    seen: list[int] = []
    stamps: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "3"}
        if cursor:
            params["cursor"] = cursor
        resp = await client.get("/api/v1/conversations", params=params, headers=admin.headers)
        assert resp.status == 200, await resp.text()
        page = await resp.json()
        pages += 1
        assert len(page["items"]) <= 3
        seen += [c["id"] for c in page["items"]]
        stamps += [c["last_activity_at"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert pages == 3
    assert seen == expected
    assert len(set(seen)) == 7
    parsed = [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps]
    assert parsed == sorted(parsed, reverse=True)

    await expect_error(
        await client.get("/api/v1/conversations?cursor=garbage!", headers=admin.headers),
        422,
        "invalid_cursor",
    )


async def test_messages_order_and_paging(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    conv_id = await new_conversation(client, channel, "m", "message 0")
    for i in range(1, 6):
        await customer_says(client, channel, f"message {i}", external_id="m")
    everything = await messages(client, admin, conv_id)
    bodies = [m["body"] for m in everything["items"]]
    assert bodies == [f"message {i}" for i in range(6)]
    assert everything["has_more"] is False
    ids = [m["id"] for m in everything["items"]]
    assert ids == sorted(ids)
    assert all(m["kind"] == "incoming" and m["private"] is False for m in everything["items"])
    assert everything["items"][0]["sender"]["type"] == "contact"

    latest = await messages(client, admin, conv_id, limit=2)
    assert [m["id"] for m in latest["items"]] == ids[-2:]
    assert latest["has_more"] is True
    older = await messages(client, admin, conv_id, limit=2, before=ids[-2])
    assert [m["id"] for m in older["items"]] == ids[2:4]
    assert older["has_more"] is True
    oldest = await messages(client, admin, conv_id, limit=2, before=ids[2])
    assert [m["id"] for m in oldest["items"]] == ids[:2]
    assert oldest["has_more"] is False
    newer = await messages(client, admin, conv_id, limit=3, after=ids[0])
    assert [m["id"] for m in newer["items"]] == ids[1:4]
    assert newer["has_more"] is True
    rest = await messages(client, admin, conv_id, limit=3, after=ids[3])
    assert [m["id"] for m in rest["items"]] == ids[4:]
    assert rest["has_more"] is False


async def test_reply_and_private_note(client: TestClient) -> None:  # type: ignore[type-arg]
    anna = await make_operator(client, role="admin", name="Anna")
    channel = await make_api_channel(client, anna)
    conv_id = await new_conversation(client, channel, "r", "hi there")
    assert (await conversation(client, anna, conv_id))["unread_count"] == 1

    resp = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"body": "Hello! How can I help?"},
        headers=anna.headers,
    )
    assert resp.status == 201, await resp.text()
    reply = await resp.json()
    assert reply["kind"] == "outgoing" and reply["private"] is False
    assert reply["sender"] == {"type": "operator", "id": anna.id, "name": "Anna"}

    resp = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"body": "VIP customer, be nice", "private": True},
        headers=anna.headers,
    )
    assert resp.status == 201, await resp.text()
    note = await resp.json()
    assert note["kind"] == "note" and note["private"] is True
    assert note["delivery"] is None

    listed = (await messages(client, anna, conv_id))["items"]
    assert [(m["id"], m["kind"], m["private"]) for m in listed[1:]] == [
        (reply["id"], "outgoing", False),
        (note["id"], "note", True),
    ]
    conv = await conversation(client, anna, conv_id)
    assert conv["unread_count"] == 0
    # A note is not what the customer last saw.
    assert conv["last_message_preview"] == "Hello! How can I help?"


async def test_assign_and_transfer_write_readable_activities(client: TestClient) -> None:  # type: ignore[type-arg]
    anna = await make_operator(client, role="admin", name="Anna")
    oleg = await make_operator(client, name="Oleg")
    ivan = await make_operator(client, name="Ivan")
    channel = await make_api_channel(client, anna)
    conv_id = await new_conversation(client, channel, "disc", "any discounts?", name="Customer")

    resp = await assign(
        client, anna, conv_id, operator_id=oleg.id, note="customer wants a discount"
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["assignee_id"] == oleg.id
    assert await conversations(client, oleg, "?assignee=me") == [conv_id]

    resp = await assign(client, anna, conv_id, operator_id=ivan.id, note="Ivan knows the prices")
    assert resp.status == 200, await resp.text()

    acts = await activities(client, anna, conv_id)
    assert [a["body"] for a in acts] == [
        "Anna assigned to Oleg: customer wants a discount",
        "Anna transferred to Ivan: Ivan knows the prices",
    ]
    assert all(a["private"] is True for a in acts)
    assert acts[0]["sender"]["id"] == anna.id
    assert acts[0]["meta"]["action"] == "assigned"
    assert acts[0]["meta"]["to_operator_id"] == oleg.id
    assert acts[1]["meta"]["action"] == "transferred"
    assert (acts[1]["meta"]["from_operator_id"], acts[1]["meta"]["to_operator_id"]) == (
        oleg.id,
        ivan.id,
    )
    assert acts[1]["meta"]["note"] == "Ivan knows the prices"

    # Transferred away, Oleg no longer has it (nor, outside any team, can see it at all).
    assert await conversations(client, oleg, "?assignee=me") == []
    assert await conversations(client, oleg) == []
    await expect_error(
        await client.get(f"/api/v1/conversations/{conv_id}", headers=oleg.headers),
        404,
        "conversation_not_found",
    )
    assert await conversations(client, ivan, "?assignee=me") == [conv_id]
    assert (await conversation(client, anna, conv_id))["assignee"] == {
        "id": ivan.id,
        "name": "Ivan",
    }

    # The same assignment again changes nothing and says so.
    await expect_error(
        await assign(client, anna, conv_id, operator_id=ivan.id), 409, "nothing_to_change"
    )
    assert len(await activities(client, anna, conv_id)) == 2

    # Unassigning leaves it with nobody.
    resp = await assign(client, anna, conv_id, operator_id=None)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["assignee_id"] is None
    assert await conversations(client, ivan, "?assignee=me") == []
    assert await conversations(client, anna, "?assignee=unassigned") == [conv_id]
    last = (await activities(client, anna, conv_id))[-1]
    assert last["body"] == "Anna unassigned Ivan"
    await expect_error(
        await assign(client, anna, conv_id, operator_id=None), 409, "nothing_to_change"
    )

    # Unknown operators and teams are refused and change nothing.
    await expect_error(
        await assign(client, anna, conv_id, operator_id=999999), 422, "operator_not_found"
    )
    await expect_error(await assign(client, anna, conv_id, team_id=999999), 422, "team_not_found")
    assert len(await activities(client, anna, conv_id)) == 3


async def test_assign_to_team(client: TestClient) -> None:  # type: ignore[type-arg]
    anna = await make_operator(client, role="admin", name="Anna")
    sales = await make_team(client, "Sales")
    seller = await make_operator(client, name="Seller", team_ids=[sales])
    channel = await make_api_channel(client, anna)
    conv_id = await new_conversation(client, channel, "t")
    assert await conversations(client, seller) == []

    resp = await assign(client, anna, conv_id, team_id=sales, note="a big order")
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    assert (data["team_id"], data["assignee_id"]) == (sales, None)
    assert await conversations(client, seller) == [conv_id]
    assert await conversations(client, seller, "?assignee=unassigned") == [conv_id]
    act = (await activities(client, anna, conv_id))[-1]
    assert act["body"] == "Anna assigned to team Sales: a big order"
    assert act["meta"]["to_team_id"] == sales

    # To an operator within the team: the team stays and is named.
    resp = await assign(client, anna, conv_id, operator_id=seller.id, team_id=sales)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["team_id"] == sales
    act = (await activities(client, anna, conv_id))[-1]
    assert act["body"] == "Anna assigned to Seller"
    assert await conversations(client, seller, "?assignee=me") == [conv_id]


async def test_status_changes_add_activities(client: TestClient) -> None:  # type: ignore[type-arg]
    anna = await make_operator(client, role="admin", name="Anna")
    channel = await make_api_channel(client, anna)
    conv_id = await new_conversation(client, channel, "s")

    resp = await set_status(client, anna, conv_id, status="pending")
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["status"] == "pending"
    resp = await set_status(client, anna, conv_id, status="resolved")
    assert (await resp.json())["status"] == "resolved"
    until = (utcnow() + timedelta(hours=2)).replace(microsecond=0)
    resp = await set_status(
        client, anna, conv_id, status="snoozed", snoozed_until=until.isoformat()
    )
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    assert data["status"] == "snoozed"
    assert datetime.fromisoformat(data["snoozed_until"].replace("Z", "+00:00")) == until
    # A time in another zone is kept and answered in UTC.
    moscow = timezone(timedelta(hours=3))
    later = until + timedelta(hours=1)
    resp = await set_status(
        client, anna, conv_id, status="snoozed", snoozed_until=later.astimezone(moscow).isoformat()
    )
    assert resp.status == 200, await resp.text()
    answered = (await resp.json())["snoozed_until"]
    assert answered == (await conversation(client, anna, conv_id))["snoozed_until"]
    assert answered == later.isoformat().replace("+00:00", "Z")
    # The same status and time again (in any zone) changes nothing and adds no activity.
    resp = await set_status(
        client, anna, conv_id, status="snoozed", snoozed_until=later.isoformat()
    )
    assert resp.status == 200
    resp = await set_status(client, anna, conv_id, status="open")
    data = await resp.json()
    assert (data["status"], data["snoozed_until"]) == ("open", None)

    acts = await activities(client, anna, conv_id)
    assert [a["meta"]["status"] for a in acts] == [
        "pending",
        "resolved",
        "snoozed",
        "snoozed",
        "open",
    ]
    assert acts[0]["body"] == "Anna marked the conversation as pending"
    assert acts[1]["body"] == "Anna resolved the conversation"
    assert acts[2]["body"] == f"Anna snoozed the conversation until {until.isoformat()}"
    assert acts[3]["body"] == f"Anna snoozed the conversation until {later.isoformat()}"
    assert acts[4]["body"] == "Anna reopened the conversation"
    assert all(a["private"] for a in acts)

    # Bad requests change nothing.
    await expect_error(
        await set_status(client, anna, conv_id, status="snoozed"), 422, "snooze_time_required"
    )
    past = (utcnow() - timedelta(minutes=5)).isoformat()
    await expect_error(
        await set_status(client, anna, conv_id, status="snoozed", snoozed_until=past),
        422,
        "snooze_time_past",
    )
    await expect_error(
        await set_status(client, anna, conv_id, status="closed"), 422, "invalid_status"
    )
    naive = (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    resp = await set_status(client, anna, conv_id, status="snoozed", snoozed_until=naive)
    assert resp.status == 422
    assert (await conversation(client, anna, conv_id))["status"] == "open"
    assert len(await activities(client, anna, conv_id)) == 5


async def test_customer_message_reopens_resolved_and_snoozed(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    conv_id = await new_conversation(client, channel, "back")
    assert (await set_status(client, admin, conv_id, status="resolved")).status == 200
    out = await customer_says(client, channel, "one more question", external_id="back")
    assert out["conversation"]["id"] == conv_id
    assert out["conversation"]["status"] == "open"
    data = await conversation(client, admin, conv_id)
    assert data["status"] == "open"
    assert await conversations(client, admin, "?status=open") == [conv_id]
    # The reopening is a status change like any other: operators see it, after the message.
    items = (await messages(client, admin, conv_id))["items"]
    assert [m["kind"] for m in items[-2:]] == ["incoming", "activity"]
    assert items[-1]["meta"]["reason"] == "customer_message"
    assert items[-1]["meta"]["from_status"] == "resolved"
    assert items[-1]["private"] is True and items[-1]["sender"]["type"] == "system"

    until = (utcnow() + timedelta(days=1)).isoformat()
    resp = await set_status(client, admin, conv_id, status="snoozed", snoozed_until=until)
    assert (await resp.json())["status"] == "snoozed"
    await customer_says(client, channel, "hello? anyone?", external_id="back")
    data = await conversation(client, admin, conv_id)
    assert (data["status"], data["snoozed_until"]) == ("open", None)
    assert data["last_message_preview"] == "hello? anyone?"
    last = (await activities(client, admin, conv_id))[-1]
    assert (last["meta"]["reason"], last["meta"]["from_status"]) == ("customer_message", "snoozed")
    # An open conversation gets no activity for a new message.
    before = len(await activities(client, admin, conv_id))
    await customer_says(client, channel, "still there?", external_id="back")
    assert len(await activities(client, admin, conv_id)) == before

    # A pending conversation stays pending: the customer answering is what it waits for.
    assert (await set_status(client, admin, conv_id, status="pending")).status == 200
    await customer_says(client, channel, "here is the info", external_id="back")
    assert (await conversation(client, admin, conv_id))["status"] == "pending"


async def test_wake_snoozed_reopens_when_time_passed(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    due_id = await new_conversation(client, channel, "due")
    later_id = await new_conversation(client, channel, "later")
    future = (utcnow() + timedelta(hours=3)).isoformat()
    for conv_id in (due_id, later_id):
        resp = await set_status(client, admin, conv_id, status="snoozed", snoozed_until=future)
        assert resp.status == 200, await resp.text()
    ctx = client.app[CTX]
    assert await wake_snoozed(ctx) == 0

    async with ctx.sessionmaker() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == due_id)
            .values(snoozed_until=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    mark = await ctx.bus.last_id(EVENTS_TOPIC)
    assert await wake_snoozed(ctx) == 1
    # Operators are told: the conversation is open again, with the activity explaining why.
    events = [p for _, p in await ctx.bus.read_after(EVENTS_TOPIC, mark)]
    assert [e["event"] for e in events] == ["conversation.updated", "message.created"]
    assert events[0]["data"]["conversation"]["id"] == due_id
    assert events[0]["data"]["conversation"]["status"] == "open"
    assert events[0]["data"]["conversation"]["snoozed_until"] is None
    assert events[1]["data"]["message"]["kind"] == "activity"
    due = await conversation(client, admin, due_id)
    assert (due["status"], due["snoozed_until"]) == ("open", None)
    assert (await conversation(client, admin, later_id))["status"] == "snoozed"
    last = (await activities(client, admin, due_id))[-1]
    assert last["meta"] == {"action": "status", "status": "open", "reason": "snooze_ended"}
    assert last["sender"]["type"] == "system"
    assert last["private"] is True
    assert await conversations(client, admin, "?status=snoozed") == [later_id]
    assert await wake_snoozed(ctx) == 0
