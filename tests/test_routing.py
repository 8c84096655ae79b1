"""Automatic assignment, on both backends: round robin within capacity, away and offline
operators passed by, offers passed on after the accept timeout, the queue outside working hours,
the returning customer, a manager's override, and two routers at once.

The app's own router loop is off (``routing=False``); each test drives ``run_once()`` or
``route(now)`` and reads what it did. An operator is online while his operator socket is open.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from hub.app import ROUTER, create_app
from hub.crm_sync.report_period import DAYS
from hub.db import utcnow
from hub.http import CTX
from hub.inbox.models import Conversation, Message, MessageKind
from hub.inbox.router import Router
from hub.settings import Settings
from tests.helpers import (
    Op,
    after_passes,
    customer_says,
    make_api_channel,
    make_operator,
    make_team,
)

Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
async def app(settings: Settings) -> web.Application:
    return create_app(settings.model_copy(update={"routing": False}))


class Team:
    """A routed team: its id, operators, channel, and the admin who set it up."""

    def __init__(self, client: Client, admin: Op, team_id: int, ops: list[Op], channel: Any):
        self.client, self.admin, self.id, self.ops, self.channel = (
            client,
            admin,
            team_id,
            ops,
            channel,
        )
        self.sockets: list[Any] = []
        self._customers = 0

    async def online(self, *ops: Op) -> None:
        """Open each one's operator socket (he is online once it is ready)."""
        for op in ops:
            ws = await self.client.ws_connect("/ws/operator", headers=op.headers)
            assert (await ws.receive_json())["type"] == "ready"
            self.sockets.append(ws)

    async def customer(self, external_id: str | None = None) -> int:
        self._customers += 1
        ext = external_id or f"c{self._customers}"
        data = await customer_says(self.client, self.channel, "hello", external_id=ext)
        return int(data["conversation"]["id"])

    async def routing(self, **change: Any) -> dict[str, Any]:
        resp = await self.client.patch(
            f"/api/v1/teams/{self.id}/routing", json=change, headers=self.admin.headers
        )
        assert resp.status == 200, await resp.text()
        return dict(await resp.json())

    async def state(self) -> dict[str, Any]:
        resp = await self.client.get(f"/api/v1/teams/{self.id}/routing", headers=self.admin.headers)
        assert resp.status == 200, await resp.text()
        return dict(await resp.json())

    async def close(self) -> None:
        for ws in self.sockets:
            await ws.close()


@pytest.fixture
async def team(client: Client) -> AsyncIterator[Team]:
    admin = await make_operator(client, role="admin")
    team_id = await make_team(client)
    ops = [
        await make_operator(client, name=n, team_ids=[team_id]) for n in ("Oleg", "Anna", "Ivan")
    ]
    channel = await make_api_channel(client, admin, team_id=team_id)
    made = Team(client, admin, team_id, ops, channel)
    yield made
    await made.close()


async def assignees(client: Client, conv_ids: list[int]) -> list[int | None]:
    async def query(session: Any) -> list[int | None]:
        rows = dict(
            (
                await session.execute(
                    select(Conversation.id, Conversation.assignee_id).where(
                        Conversation.id.in_(conv_ids)
                    )
                )
            ).all()
        )
        return [rows[c] for c in conv_ids]

    return await client.app[CTX].read(query)


async def decisions(client: Client, conv_id: int) -> list[Message]:
    async def query(session: Any) -> list[Message]:
        found = await session.scalars(
            select(Message)
            .where(Message.conversation_id == conv_id, Message.kind == MessageKind.ACTIVITY.value)
            .order_by(Message.id)
        )
        return [m for m in found if m.meta.get("action") == "auto_assigned"]

    return await client.app[CTX].read(query)


async def test_round_robin_spreads_conversations_evenly_within_capacity(
    client: Client, team: Team
) -> None:
    oleg, anna, ivan = team.ops
    await settings_are_for_staff_and_admins(client, team)
    await team.routing(enabled=True, capacity=3)
    await team.online(*team.ops)
    convs = [await team.customer() for _ in range(11)]
    router = client.app[ROUTER]

    assert await router.run_once() == 9
    got = await assignees(client, convs)
    assert got[:9] == [oleg.id, anna.id, ivan.id] * 3  # in turn, by id
    assert got[9:] == [None, None]  # everyone is full: they wait in the queue
    first = await decisions(client, convs[0])
    assert [m.body for m in first] == ["Assigned to Oleg: round robin, 1 of 3 open"]
    assert first[0].meta["reason"] == "round_robin"
    last = await decisions(client, convs[8])
    assert last[0].body == "Assigned to Ivan: round robin, 3 of 3 open"
    state = await team.state()
    assert state["queued"] == 2
    assert [(m["name"], m["open"], m["online"]) for m in state["members"]] == [
        ("Oleg", 3, True),
        ("Anna", 3, True),
        ("Ivan", 3, True),
    ]
    assert await router.run_once() == 0  # nobody has room

    # Anna resolves one: she has room for one more, and gets the oldest waiting.
    resp = await client.post(
        f"/api/v1/conversations/{convs[1]}/status",
        json={"status": "resolved"},
        headers=anna.headers,
    )
    assert resp.status == 200
    assert await router.run_once() == 1
    assert await assignees(client, convs[9:]) == [anna.id, None]

    # An operator's own capacity wins over the team's.
    await team.routing(members=[{"operator_id": ivan.id, "capacity": 4}])
    assert await router.run_once() == 1
    assert await assignees(client, convs[10:]) == [ivan.id]


async def test_away_and_offline_operators_are_passed_by(client: Client, team: Team) -> None:
    oleg, anna, _ivan = team.ops
    await team.routing(enabled=True, capacity=5)
    await team.online(oleg, anna)  # Ivan has not opened the inbox
    resp = await client.put("/api/v1/me/availability", json={"away": True}, headers=oleg.headers)
    assert resp.status == 200
    assert (await resp.json())["away"] is True
    convs = [await team.customer() for _ in range(3)]
    assert await client.app[ROUTER].run_once() == 3
    assert await assignees(client, convs) == [anna.id] * 3

    resp = await client.put("/api/v1/me/availability", json={"away": False}, headers=oleg.headers)
    assert (await resp.json()) == {"operator_id": oleg.id, "away": False, "offered": []}
    more = [await team.customer() for _ in range(2)]
    assert await client.app[ROUTER].run_once() == 2
    assert await assignees(client, more) == [oleg.id, anna.id]
    resp = await client.get("/api/v1/me/availability", headers=anna.headers)
    assert (await resp.json())["offered"] == [*convs, more[1]]


async def test_an_offer_not_opened_in_time_passes_to_the_next(client: Client, team: Team) -> None:
    oleg, anna, _ = team.ops
    await team.routing(enabled=True, capacity=5, accept_timeout_s=60)
    await team.online(oleg, anna)
    first, second = await team.customer(), await team.customer()
    router = client.app[ROUTER]
    assert await router.run_once() == 2
    assert await assignees(client, [first, second]) == [oleg.id, anna.id]
    resp = await client.post(f"/api/v1/conversations/{second}/accept", headers=anna.headers)
    assert (await resp.json()) == {"accepted": True}

    assert await router.route(utcnow() + timedelta(seconds=30)) == 0  # not yet
    assert await router.route(utcnow() + timedelta(seconds=61)) == 1
    assert await assignees(client, [first, second]) == [anna.id, anna.id]  # hers stays
    passed = (await decisions(client, first))[-1]
    assert passed.body == (
        "Passed to Anna: Oleg did not open it within 60 s; round robin, 2 of 5 open"
    )
    assert passed.meta["from_operator_id"] == oleg.id
    resp = await client.post(f"/api/v1/conversations/{first}/accept", headers=oleg.headers)
    assert (await resp.json()) == {"accepted": False}  # not his any more
    # Anna does not open it either; Oleg is the only other one: it goes back to him.
    assert await router.route(utcnow() + timedelta(seconds=200)) == 1
    assert await assignees(client, [first]) == [oleg.id]
    resp = await client.post(f"/api/v1/conversations/{first}/accept", headers=oleg.headers)
    assert (await resp.json()) == {"accepted": True}
    assert await router.route(utcnow() + timedelta(seconds=400)) == 0


async def test_a_manager_override_wins_and_is_not_undone(client: Client, team: Team) -> None:
    oleg, anna, ivan = team.ops
    manager = await make_operator(client, role="manager")
    await team.routing(enabled=True, capacity=5, accept_timeout_s=60)
    await team.online(oleg, anna)
    offered, taken_out = await team.customer(), await team.customer()
    # Before the router looks, a manager assigns one to Ivan (offline) himself.
    resp = await client.post(
        f"/api/v1/conversations/{taken_out}/assign",
        json={"operator_id": ivan.id},
        headers=manager.headers,
    )
    assert resp.status == 200
    router = client.app[ROUTER]
    assert await router.run_once() == 1
    assert await assignees(client, [offered, taken_out]) == [oleg.id, ivan.id]
    # The manager moves the offered one to Ivan, then takes Ivan off it: no timeout, no queue
    # brings it back to automatic assignment.
    for target in (ivan.id, None):
        resp = await client.post(
            f"/api/v1/conversations/{offered}/assign",
            json={"operator_id": target},
            headers=manager.headers,
        )
        assert resp.status == 200, await resp.text()
    assert await router.route(utcnow() + timedelta(seconds=600)) == 0
    assert await assignees(client, [offered, taken_out]) == [None, ivan.id]


async def test_a_returning_customer_goes_to_his_last_operator(client: Client, team: Team) -> None:
    oleg, anna, _ = team.ops
    await team.routing(enabled=True, capacity=5)
    await team.online(oleg, anna)
    router = client.app[ROUTER]
    known = await team.customer("known")  # Oleg, in turn
    assert await router.run_once() == 1
    other = await team.customer()  # Anna, in turn
    assert await router.run_once() == 1
    # The known customer writes on another channel of the team, as a new contact, who is
    # merged into him before the router looks; round robin would give it to Oleg… after
    # another customer went to him.
    third = await team.customer()
    assert await router.run_once() == 1
    assert await assignees(client, [known, other, third]) == [oleg.id, anna.id, oleg.id]
    second_channel = await make_api_channel(client, team.admin, team_id=team.id)
    again = await customer_says(client, second_channel, "it is me again", external_id="known-2")
    conv_id = int(again["conversation"]["id"])
    first_contact = await client.get(f"/api/v1/conversations/{known}", headers=oleg.headers)
    kept = (await first_contact.json())["contact_id"]
    resp = await client.post(
        f"/api/v1/contacts/{kept}/merge",
        json={"other_id": again["conversation"]["contact_id"]},
        headers=team.admin.headers,
    )
    assert resp.status == 201, await resp.text()
    assert await router.run_once() == 1
    assert await assignees(client, [conv_id]) == [oleg.id]  # his, not Anna's turn
    decided = (await decisions(client, conv_id))[0]
    assert decided.body == "Assigned to Oleg: returning customer, 3 of 5 open"


async def test_outside_working_hours_conversations_wait_in_the_queue(
    aiohttp_client: Any, settings: Settings
) -> None:
    zone_now = utcnow().astimezone(__import__("zoneinfo").ZoneInfo(settings.timezone))
    tomorrow = DAYS[(zone_now.weekday() + 1) % 7]
    hours = settings.model_copy(
        update={"routing": False, "working_hours": f"{tomorrow} 00:00-24:00"}
    )
    client = await aiohttp_client(create_app(hours))
    admin = await make_operator(client, role="admin")
    team_id = await make_team(client)
    oleg = await make_operator(client, name="Oleg", team_ids=[team_id])
    channel = await make_api_channel(client, admin, team_id=team_id)
    made = Team(client, admin, team_id, [oleg], channel)
    try:
        await made.routing(enabled=True)
        await made.online(oleg)
        conv = await made.customer()
        router = client.app[ROUTER]
        assert await router.run_once() == 0
        assert await assignees(client, [conv]) == [None]
        assert (await made.state())["queued"] == 1
        opening = datetime.combine(zone_now.date() + timedelta(days=1), datetime.min.time())
        assert await router.route(opening.replace(tzinfo=zone_now.tzinfo) + timedelta(hours=9)) == 1
        assert await assignees(client, [conv]) == [oleg.id]
    finally:
        await made.close()


async def test_two_routers_at_once_assign_each_conversation_once(
    client: Client, team: Team
) -> None:
    """Two routers of one process (the served two-process race is in test_routing_race)."""
    await team.routing(enabled=True, capacity=4)
    await team.online(*team.ops)
    convs = [await team.customer() for _ in range(15)]
    ctx = client.app[CTX]
    online = frozenset(op.id for op in team.ops)

    async def who() -> frozenset[int]:
        return online

    first, second = client.app[ROUTER], Router(ctx, who)
    done = await asyncio.gather(first.run_once(), second.run_once(), first.run_once())
    assert sum(done) == 12
    got = await assignees(client, convs)
    assert Counter(got) == {team.ops[0].id: 4, team.ops[1].id: 4, team.ops[2].id: 4, None: 3}
    for conv in convs:
        assert len(await decisions(client, conv)) == (0 if got[convs.index(conv)] is None else 1)


async def settings_are_for_staff_and_admins(client: Client, team: Team) -> None:
    """Managers and admins read a team's rules, only admins change them, and a refused change
    writes nothing (part of the round robin test, sparing a team's set-up)."""
    oleg = team.ops[0]
    resp = await client.get(f"/api/v1/teams/{team.id}/routing", headers=oleg.headers)
    assert resp.status == 403
    manager = await make_operator(client, role="manager")
    resp = await client.patch(
        f"/api/v1/teams/{team.id}/routing", json={"enabled": True}, headers=manager.headers
    )
    assert resp.status == 403
    state = await team.state()
    assert state["enabled"] is False and state["capacity"] == 5 and state["updated_at"] is None
    outsider = await make_operator(client)
    resp = await client.patch(
        f"/api/v1/teams/{team.id}/routing",
        json={"enabled": True, "members": [{"operator_id": outsider.id, "capacity": 2}]},
        headers=team.admin.headers,
    )
    assert resp.status == 422
    assert (await resp.json())["error"]["code"] == "operator_not_in_team"
    assert (await team.state())["enabled"] is False  # nothing half-written
    resp = await client.patch(
        f"/api/v1/teams/{team.id}/routing", json={"capacity": 0}, headers=team.admin.headers
    )
    assert resp.status == 422


async def test_the_running_router_serves_the_queue_when_an_operator_comes_online(
    aiohttp_client: Any, settings: Settings
) -> None:
    """With the app's router loop running, as in production: a conversation waits while nobody
    is online, and is assigned once an operator opens the inbox (his socket wakes the router)."""
    # Its interval is long: only being woken makes it look again.
    running = settings.model_copy(update={"routing": True, "routing_interval_s": 600.0})
    client = await aiohttp_client(create_app(running))
    admin = await make_operator(client, role="admin")
    team_id = await make_team(client)
    oleg = await make_operator(client, name="Oleg", team_ids=[team_id])
    channel = await make_api_channel(client, admin, team_id=team_id)
    made = Team(client, admin, team_id, [oleg], channel)
    router = client.app[ROUTER]
    try:
        await made.routing(enabled=True)
        conv = await made.customer()
        await router.next_pass()
        assert await assignees(client, [conv]) == [None]
        await made.online(oleg)

        async def assigned() -> bool:
            return await assignees(client, [conv]) == [oleg.id]

        await after_passes(assigned, router)
    finally:
        await made.close()
