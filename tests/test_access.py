"""Access: operators see their teams' conversations and those assigned to them; managers and
admins see all; anything else answers 404 and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hub.http import CTX
from hub.inbox.models import Conversation, Message
from tests.helpers import Op, customer_says, make_api_channel, make_operator, make_team


async def expect_404(resp: ClientResponse, code: str) -> None:
    assert resp.status == 404, await resp.text()
    data = await resp.json()
    assert data["error"]["code"] == code, data
    assert set(data["error"]) == {"code", "message"}


async def listed(client: TestClient, who: Op, query: str = "") -> list[int]:  # type: ignore[type-arg]
    resp = await client.get(f"/api/v1/conversations{query}", headers=who.headers)
    assert resp.status == 200, await resp.text()
    return sorted(c["id"] for c in (await resp.json())["items"])


async def db_state(client: TestClient) -> tuple[Any, ...]:  # type: ignore[type-arg]
    async with client.app[CTX].sessionmaker() as session:
        messages = await session.scalar(select(func.count()).select_from(Message))
        convs = (
            await session.execute(
                select(
                    Conversation.id,
                    Conversation.status,
                    Conversation.assignee_id,
                    Conversation.team_id,
                ).order_by(Conversation.id)
            )
        ).all()
    return messages, [tuple(c) for c in convs]


@dataclass
class Setup:
    admin: Op
    manager: Op
    alice: Op  # operator in team A
    bob: Op  # operator in team B
    loner: Op  # operator in no team
    team_a: int
    team_b: int
    conv_a: int
    conv_b: int
    contact_b: int
    channel_b: dict[str, Any]


@pytest.fixture
async def setup(client: TestClient) -> Setup:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin", name="Admin")
    manager = await make_operator(client, role="manager", name="Manager")
    team_a = await make_team(client, "Team A")
    team_b = await make_team(client, "Team B")
    alice = await make_operator(client, name="Alice", team_ids=[team_a])
    bob = await make_operator(client, name="Bob", team_ids=[team_b])
    loner = await make_operator(client, name="Loner")
    channel_a = await make_api_channel(client, admin, team_id=team_a)
    channel_b = await make_api_channel(client, admin, team_id=team_b)
    a = await customer_says(
        client,
        channel_a,
        "question for A",
        external_id="ca",
        name="Customer A",
        phone="+7 916 000-00-01",
    )
    b = await customer_says(
        client,
        channel_b,
        "secret matter for B",
        external_id="cb",
        name="Customer B",
        phone="+7 916 000-00-02",
    )
    return Setup(
        admin,
        manager,
        alice,
        bob,
        loner,
        team_a,
        team_b,
        a["conversation"]["id"],
        b["conversation"]["id"],
        b["conversation"]["contact_id"],
        channel_b,
    )


async def test_operator_sees_only_his_teams(client: TestClient, setup: Setup) -> None:  # type: ignore[type-arg]
    s = setup
    assert await listed(client, s.alice) == [s.conv_a]
    assert await listed(client, s.bob) == [s.conv_b]
    assert await listed(client, s.loner) == []
    # Filters and search never widen what he sees.
    assert await listed(client, s.alice, "?q=secret") == []
    assert await listed(client, s.alice, "?q=Customer") == [s.conv_a]
    assert await listed(client, s.alice, "?q=9160000002") == []
    assert await listed(client, s.alice, f"?channel={s.channel_b['id']}") == []
    assert await listed(client, s.alice, "?assignee=unassigned") == [s.conv_a]
    assert await listed(client, s.alice, "?status=open") == [s.conv_a]


async def test_other_teams_conversation_is_404_everywhere(
    client: TestClient,
    setup: Setup,  # type: ignore[type-arg]
) -> None:
    s = setup
    h = s.alice.headers
    base = f"/api/v1/conversations/{s.conv_b}"
    before = await db_state(client)
    await expect_404(await client.get(base, headers=h), "conversation_not_found")
    await expect_404(await client.get(base + "/messages", headers=h), "conversation_not_found")
    await expect_404(
        await client.post(base + "/messages", json={"body": "sneaky reply"}, headers=h),
        "conversation_not_found",
    )
    await expect_404(
        await client.post(
            base + "/messages", json={"body": "sneaky note", "private": True}, headers=h
        ),
        "conversation_not_found",
    )
    await expect_404(
        await client.post(base + "/assign", json={"operator_id": s.alice.id}, headers=h),
        "conversation_not_found",
    )
    await expect_404(
        await client.post(base + "/assign", json={"team_id": s.team_a}, headers=h),
        "conversation_not_found",
    )
    await expect_404(
        await client.post(base + "/status", json={"status": "resolved"}, headers=h),
        "conversation_not_found",
    )
    await expect_404(
        await client.get(f"/api/v1/contacts/{s.contact_b}", headers=h), "contact_not_found"
    )
    # The answers are those of an id that does not exist, so ids cannot be probed.
    missing = await client.get("/api/v1/conversations/999999", headers=h)
    hidden = await client.get(base, headers=h)
    assert (await missing.json())["error"]["code"] == (await hidden.json())["error"]["code"]
    assert await db_state(client) == before
    # Bob, of team B, reads it untouched.
    msgs = await client.get(base + "/messages", headers=s.bob.headers)
    assert [m["body"] for m in (await msgs.json())["items"]] == ["secret matter for B"]


async def test_retry_of_hidden_message_is_404(client: TestClient, setup: Setup) -> None:  # type: ignore[type-arg]
    s = setup
    resp = await client.post(
        f"/api/v1/conversations/{s.conv_b}/messages", json={"body": "hi"}, headers=s.bob.headers
    )
    assert resp.status == 201
    msg_id = (await resp.json())["id"]
    # Answered exactly as a message that does not exist, so message ids cannot be probed.
    await expect_404(
        await client.post(f"/api/v1/messages/{msg_id}/retry", headers=s.alice.headers),
        "message_not_found",
    )
    await expect_404(
        await client.post("/api/v1/messages/999999/retry", headers=s.alice.headers),
        "message_not_found",
    )
    resp = await client.post(f"/api/v1/messages/{msg_id}/retry", headers=s.bob.headers)
    assert resp.status == 409  # visible, but not a failed delivery


async def test_managers_and_admins_see_all(client: TestClient, setup: Setup) -> None:  # type: ignore[type-arg]
    s = setup
    for who in (s.manager, s.admin):
        assert await listed(client, who) == sorted([s.conv_a, s.conv_b])
        resp = await client.get(f"/api/v1/conversations/{s.conv_b}", headers=who.headers)
        assert resp.status == 200
        resp = await client.get(f"/api/v1/contacts/{s.contact_b}", headers=who.headers)
        assert resp.status == 200
        assert [c["id"] for c in (await resp.json())["conversations"]] == [s.conv_b]
    resp = await client.post(
        f"/api/v1/conversations/{s.conv_b}/messages",
        json={"body": "manager here"},
        headers=s.manager.headers,
    )
    assert resp.status == 201, await resp.text()


async def test_assignment_grants_and_transfer_revokes(client: TestClient, setup: Setup) -> None:  # type: ignore[type-arg]
    s = setup
    base = f"/api/v1/conversations/{s.conv_b}"
    resp = await client.post(
        base + "/assign",
        json={"operator_id": s.alice.id, "note": "help"},
        headers=s.manager.headers,
    )
    assert resp.status == 200, await resp.text()
    # Assigned to her, Alice sees it although it stays with team B.
    assert (await resp.json())["team_id"] == s.team_b
    assert await listed(client, s.alice) == sorted([s.conv_a, s.conv_b])
    assert await listed(client, s.alice, "?assignee=me") == [s.conv_b]
    assert (await client.get(base, headers=s.alice.headers)).status == 200
    resp = await client.post(
        base + "/messages", json={"body": "Alice replies"}, headers=s.alice.headers
    )
    assert resp.status == 201, await resp.text()
    resp = await client.get(f"/api/v1/contacts/{s.contact_b}", headers=s.alice.headers)
    assert resp.status == 200
    # Bob still sees it through his team.
    assert await listed(client, s.bob) == [s.conv_b]

    # Moved to the loner (no team change), Alice loses it again.
    resp = await client.post(
        base + "/assign", json={"operator_id": s.loner.id}, headers=s.alice.headers
    )
    assert resp.status == 200, await resp.text()
    assert await listed(client, s.alice) == [s.conv_a]
    assert await listed(client, s.loner) == [s.conv_b]
    await expect_404(await client.get(base, headers=s.alice.headers), "conversation_not_found")
    await expect_404(
        await client.get(f"/api/v1/contacts/{s.contact_b}", headers=s.alice.headers),
        "contact_not_found",
    )

    # Handed to team A (and nobody), the loner loses it and Alice's team gets it.
    resp = await client.post(
        base + "/assign", json={"operator_id": None, "team_id": s.team_a}, headers=s.manager.headers
    )
    assert resp.status == 200, await resp.text()
    assert await listed(client, s.loner) == []
    assert await listed(client, s.bob) == []
    assert await listed(client, s.alice) == sorted([s.conv_a, s.conv_b])


async def test_team_membership_change_applies_at_once(client: TestClient, setup: Setup) -> None:  # type: ignore[type-arg]
    s = setup
    resp = await client.patch(
        f"/api/v1/operators/{s.loner.id}", json={"team_ids": [s.team_b]}, headers=s.admin.headers
    )
    assert resp.status == 200, await resp.text()
    assert await listed(client, s.loner) == [s.conv_b]
    resp = await client.patch(
        f"/api/v1/operators/{s.loner.id}", json={"team_ids": []}, headers=s.admin.headers
    )
    assert resp.status == 200
    assert await listed(client, s.loner) == []
