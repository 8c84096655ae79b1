"""Sales events reach operators' sockets like the others: staff, the deal's owner and whoever
may see the contact's conversations; nobody else."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.crm_helpers import make_lead, run_intake, stages
from tests.helpers import customer_says, make_api_channel, make_operator, make_team
from tests.test_operator_socket import connect, recv_event


async def _next(ws, name: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    for _ in range(20):
        frame = await recv_event(ws)
        if frame["event"] == name:
            return frame
    raise AssertionError(f"no {name}")


async def test_lead_and_deal_events_reach_the_right_sockets(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    manager = await make_operator(client, role="manager")
    sales, other = await make_team(client), await make_team(client)
    channel = await make_api_channel(client, admin, team_id=sales)
    seller = await make_operator(client, team_ids=[sales])
    stranger = await make_operator(client, team_ids=[other])
    ws_manager, _ = await connect(client, manager.token)
    ws_seller, _ = await connect(client, seller.token)
    ws_stranger, _ = await connect(client, stranger.token)
    await customer_says(client, channel, "Hello", external_id="ev1")
    await run_intake(client)
    for ws in (ws_manager, ws_seller):
        frame = await _next(ws, "lead.created")
        assert frame["data"]["lead"]["status"] == "incoming"
        assert frame["data"]["lead"]["source"]["channel"] == "api"
    lead_id = frame["data"]["lead"]["id"]
    resp = await client.post(f"/api/v1/leads/{lead_id}/qualify", headers=seller.headers)
    deal = await resp.json()
    for ws in (ws_manager, ws_seller):
        created = await _next(ws, "deal.created")
        assert created["data"]["deal"]["id"] == deal["id"]
        updated = await _next(ws, "lead.updated")
        assert updated["data"]["lead"]["status"] == "qualified"
    st = await stages(client, seller)
    await client.post(
        f"/api/v1/deals/{deal['id']}/stage", json={"stage_id": st[1]["id"]}, headers=seller.headers
    )
    for ws in (ws_manager, ws_seller):
        moved = await _next(ws, "deal.updated")
        assert moved["data"]["change"] == "stage"
        assert moved["data"]["deal"]["stage"]["name"] == "Qualified"
    # The stranger got none of it: the next event he gets is one meant for him.
    own_channel = await make_api_channel(client, admin, team_id=other)
    await customer_says(client, own_channel, "Hi", external_id="ev2")
    first = await recv_event(ws_stranger)
    assert first["event"] == "conversation.created", first
    for ws in (ws_manager, ws_seller, ws_stranger):
        await ws.close()


async def test_owner_hears_of_his_deal_outside_his_teams(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    team = await make_team(client)
    channel = await make_api_channel(client, admin, team_id=team)
    owner = await make_operator(client)
    lead = await make_lead(client, channel, admin, "own")
    ws, _ = await connect(client, owner.token)
    deal = await (
        await client.post(f"/api/v1/leads/{lead['id']}/qualify", headers=admin.headers)
    ).json()
    await client.patch(
        f"/api/v1/deals/{deal['id']}", json={"owner_id": owner.id}, headers=admin.headers
    )
    frame = await recv_event(ws)
    assert frame["event"] == "deal.updated"
    assert frame["data"]["deal"]["owner_id"] == owner.id
    await ws.close()
