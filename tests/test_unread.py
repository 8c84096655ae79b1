"""Unread is per operator: each has his own count, reading clears his (live, in his other
tabs too) and nobody else's, a reply answers everything before it, and the inbox's tabs count
their conversations and open where the work is."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.helpers import (
    Op,
    customer_says,
    make_api_channel,
    make_operator,
    make_team,
    recorded_statements,
)
from tests.test_operator_socket import connect, is_message, names, recv_until


async def _mine(client: TestClient, op: Op, conv_id: int) -> tuple[int, int]:  # type: ignore[type-arg]
    """(my_unread_count, unread_count) of a conversation in the op's list and single read."""
    resp = await client.get("/api/v1/conversations?status=open", headers=op.headers)
    assert resp.status == 200, await resp.text()
    row = next(c for c in (await resp.json())["items"] if c["id"] == conv_id)
    one = await (await client.get(f"/api/v1/conversations/{conv_id}", headers=op.headers)).json()
    assert one["my_unread_count"] == row["my_unread_count"]
    return row["my_unread_count"], row["unread_count"]


async def _counts(client: TestClient, op: Op, query: str = "") -> dict[str, Any]:  # type: ignore[type-arg]
    resp = await client.get(f"/api/v1/conversations/counts{query}", headers=op.headers)
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def _read(client: TestClient, op: Op, conv_id: int, **body: Any) -> dict[str, Any]:  # type: ignore[type-arg]
    resp = await client.post(f"/api/v1/conversations/{conv_id}/read", json=body, headers=op.headers)
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def test_each_operator_reads_for_himself_and_his_other_tabs_clear_live(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    team = await make_team(client)
    anna = await make_operator(client, team_ids=[team], name="Anna")
    oleg = await make_operator(client, team_ids=[team], name="Oleg")
    channel = await make_api_channel(client, admin, team_id=team)
    first = await customer_says(client, channel, "one")
    conv = first["conversation"]["id"]
    await customer_says(client, channel, "two")
    assert await _mine(client, anna, conv) == (2, 2)
    assert await _mine(client, oleg, conv) == (2, 2)

    anna_tab, _ = await connect(client, anna.token)
    oleg_tab, _ = await connect(client, oleg.token)
    read = await _read(client, anna, conv)
    assert read["my_unread_count"] == 0 and read["conversation_id"] == conv
    frames = await recv_until(anna_tab, lambda f: f["event"] == "conversation.read")
    assert frames[-1]["data"] == {
        "conversation_id": conv,
        "operator_id": anna.id,
        "last_read_message_id": read["last_read_message_id"],
        "my_unread_count": 0,
    }
    assert await _mine(client, anna, conv) == (0, 2)
    assert await _mine(client, oleg, conv) == (2, 2)  # his stays

    # Storing a customer message writes nothing per operator: unread is computed when asked.
    with recorded_statements(client) as statements:
        await customer_says(client, channel, "three")
    assert any("insert into messages" in st for st in statements)
    assert [st for st in statements if "conversation_reads" in st] == []
    assert await _mine(client, anna, conv) == (1, 3)
    assert await _mine(client, oleg, conv) == (3, 3)
    # Oleg never got Anna's read: the next thing he hears is the customer's message.
    seen = await recv_until(oleg_tab, is_message("three"))
    assert "conversation.read" not in names(seen)
    counts = await _counts(client, anna)
    assert counts["tabs"]["unassigned"] == {"total": 1, "unread": 1}
    assert counts["unread"] == 1

    # A reply answers everything before it, for everyone.
    resp = await client.post(
        f"/api/v1/conversations/{conv}/messages", json={"body": "hello"}, headers=oleg.headers
    )
    assert resp.status == 201
    assert await _mine(client, anna, conv) == (0, 0)
    assert await _mine(client, oleg, conv) == (0, 0)
    four = await customer_says(client, channel, "four")
    assert await _mine(client, anna, conv) == (1, 1)
    assert (await _counts(client, oleg))["tabs"]["unassigned"]["unread"] == 1

    # A marker never moves back: a slower tab reading an older message changes nothing.
    latest = await _read(client, anna, conv, message_id=four["message"]["id"])
    older = await _read(client, anna, conv, message_id=first["message"]["id"])
    assert older["last_read_message_id"] == latest["last_read_message_id"]
    assert older["my_unread_count"] == 0
    await anna_tab.close()
    await oleg_tab.close()


async def test_the_inbox_opens_where_the_work_is(client: TestClient) -> None:  # type: ignore[type-arg]
    """Nothing in «Мои» and chats waiting: the inbox lands on «Неназначенные»; with one of
    his own it stays on «Мои»; with nothing anywhere, «Мои»."""
    admin = await make_operator(client, role="admin")
    team = await make_team(client)
    oleg = await make_operator(client, team_ids=[team])
    quiet = await make_operator(client, team_ids=[await make_team(client)])
    channel = await make_api_channel(client, admin, team_id=team)
    said = [await customer_says(client, channel, "hi", external_id=f"c{n}") for n in range(3)]
    convs = [s["conversation"]["id"] for s in said]
    first_message = said[0]["message"]["id"]
    counts = await _counts(client, oleg)
    assert counts["landing"] == "unassigned"
    assert counts["tabs"] == {
        "mine": {"total": 0, "unread": 0},
        "unassigned": {"total": 3, "unread": 3},
        "all": {"total": 3, "unread": 3},
    }
    assert (await _counts(client, admin))["landing"] == "unassigned"
    assert (await _counts(client, quiet))["landing"] == "mine"
    assert (await _counts(client, quiet))["tabs"]["all"]["total"] == 0

    resp = await client.post(
        f"/api/v1/conversations/{convs[0]}/assign",
        json={"operator_id": oleg.id},
        headers=admin.headers,
    )
    assert resp.status == 200
    await _read(client, oleg, convs[0])
    counts = await _counts(client, oleg)
    assert counts["landing"] == "mine"
    assert counts["tabs"]["mine"] == {"total": 1, "unread": 0}
    assert counts["tabs"]["unassigned"] == {"total": 2, "unread": 2}
    assert counts["unread"] == 2
    resolved = await _counts(client, oleg, "?status=resolved")
    assert resolved["status"] == "resolved" and resolved["tabs"]["all"]["total"] == 0
    resp = await client.get("/api/v1/conversations/counts?status=gone", headers=oleg.headers)
    assert resp.status == 422

    # Reading is for what he may see, up to a message of that conversation.
    resp = await client.post(
        f"/api/v1/conversations/{convs[1]}/read", json={}, headers=quiet.headers
    )
    assert resp.status == 404
    resp = await client.post(
        f"/api/v1/conversations/{convs[1]}/read",
        json={"message_id": first_message},
        headers=oleg.headers,
    )
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "message_not_found"
