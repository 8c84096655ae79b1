"""Who sees which lead, deal and task: operators their teams' and their own, staff all; another's
answers 404 and changes nothing. Bad ids and bodies get clear 4xx errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient

from tests.crm_helpers import make_deal, make_lead
from tests.helpers import make_api_channel, make_operator, make_team


async def test_operators_see_deals_of_their_teams_and_their_own(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    sales, other_team = await make_team(client), await make_team(client)
    channel = await make_api_channel(client, admin, team_id=sales)
    inside = await make_operator(client, team_ids=[sales])
    outside = await make_operator(client, team_ids=[other_team])
    deal = await make_deal(client, channel, admin, "acc1")
    lead = await make_lead(client, channel, admin, "acc2")
    url = f"/api/v1/deals/{deal['id']}"
    assert (await client.get(url, headers=inside.headers)).status == 200
    for method, path, body in [
        ("GET", url, None),
        ("PATCH", url, {"title": "mine now"}),
        ("POST", f"{url}/won", None),
        ("POST", f"{url}/lost", {"reason": "x"}),
        ("POST", f"{url}/stage", {"stage_id": deal["stage_id"]}),
        ("POST", f"/api/v1/leads/{lead['id']}/qualify", None),
        ("POST", f"/api/v1/leads/{lead['id']}/reject", {"reason": "spam"}),
        ("GET", f"/api/v1/contacts/{deal['contact_id']}/duplicates", None),
        ("POST", "/api/v1/tasks", {"title": "call", "deal_id": deal["id"]}),
    ]:
        resp = await client.request(method, path, json=body, headers=outside.headers)
        assert resp.status == 404, (method, path, resp.status)
    listed = await (await client.get("/api/v1/deals", headers=outside.headers)).json()
    assert listed["items"] == [] and listed["stages"] == []
    leads = await (await client.get("/api/v1/leads?status=all", headers=outside.headers)).json()
    assert leads["items"] == []
    still = await (await client.get(url, headers=admin.headers)).json()
    assert still["status"] == "open" and still["title"] == deal["title"]
    # The owner sees his deal even without the conversation's team.
    await client.patch(url, json={"owner_id": outside.id}, headers=admin.headers)
    assert (await client.get(url, headers=outside.headers)).status == 200
    mine = await (await client.get("/api/v1/deals?owner=me", headers=outside.headers)).json()
    assert [d["id"] for d in mine["items"]] == [deal["id"]]


async def test_tasks_due_overdue_and_whose(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    team = await make_team(client)
    channel = await make_api_channel(client, admin, team_id=team)
    anna = await make_operator(client, team_ids=[team])
    oleg = await make_operator(client, team_ids=[team])
    deal = await make_deal(client, channel, admin, "t1")
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r1 = await client.post(
        "/api/v1/tasks",
        json={"title": "Call back", "deal_id": deal["id"], "due_at": past, "assignee_id": anna.id},
        headers=admin.headers,
    )
    assert r1.status == 201, await r1.text()
    late = await r1.json()
    assert late["overdue"] is True and late["contact_id"] == deal["contact_id"]
    r2 = await client.post(
        "/api/v1/tasks",
        json={"title": "Send the proposal", "contact_id": deal["contact_id"], "due_at": future},
        headers=oleg.headers,
    )
    assert r2.status == 201
    own = await r2.json()
    assert own["assignee_id"] == oleg.id and own["overdue"] is False
    anna_sees = await (await client.get("/api/v1/tasks", headers=anna.headers)).json()
    assert [t["id"] for t in anna_sees["items"]] == [late["id"]]
    staff_sees = await (await client.get("/api/v1/tasks", headers=admin.headers)).json()
    assert [t["id"] for t in staff_sees["items"]] == [late["id"], own["id"]]
    overdue = await (await client.get("/api/v1/tasks?overdue=true", headers=admin.headers)).json()
    assert [t["id"] for t in overdue["items"]] == [late["id"]]
    by_deal = await (
        await client.get(f"/api/v1/tasks?deal_id={deal['id']}", headers=admin.headers)
    ).json()
    assert [t["id"] for t in by_deal["items"]] == [late["id"]]
    assert (
        await client.post(f"/api/v1/tasks/{late['id']}/complete", headers=oleg.headers)
    ).status == 404
    done = await client.post(f"/api/v1/tasks/{late['id']}/complete", headers=anna.headers)
    assert done.status == 200
    assert (await done.json())["status"] == "done" and (await done.json())["overdue"] is False
    assert (
        await client.post(f"/api/v1/tasks/{late['id']}/complete", headers=anna.headers)
    ).status == 409
    everything = await (await client.get("/api/v1/tasks?status=all", headers=admin.headers)).json()
    assert len(everything["items"]) == 2
    full = await (await client.get(f"/api/v1/deals/{deal['id']}", headers=admin.headers)).json()
    assert [t["title"] for t in full["tasks"]] == ["Call back"]
    for bad in (
        {"title": "x"},
        {"title": "", "deal_id": deal["id"]},
        {"title": "x", "deal_id": deal["id"], "due_at": "2026-01-01T10:00:00"},
        {"title": "x", "deal_id": deal["id"], "assignee_id": 999999},
    ):
        r = await client.post("/api/v1/tasks", json=bad, headers=admin.headers)
        assert r.status == 422, (bad, await r.text())
    assert (await client.get("/api/v1/tasks?status=x", headers=admin.headers)).status == 422


async def test_bad_input_on_every_sales_route(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    h = admin.headers
    for method, path in [
        ("POST", "/api/v1/leads/abc/qualify"),
        ("POST", "/api/v1/deals/0x1/won"),
        ("GET", "/api/v1/deals/-1"),
        ("POST", "/api/v1/tasks/x/complete"),
        ("POST", "/api/v1/contacts/merges/x/undo"),
    ]:
        r = await client.request(method, path, headers=h)
        assert r.status in (400, 404), (method, path, r.status)
    for path in (
        "/api/v1/leads/99999/qualify",
        "/api/v1/deals/99999/won",
        "/api/v1/tasks/99999/complete",
        "/api/v1/contacts/merges/99999/undo",
        "/api/v1/deals/99999999999/won",
    ):
        r = await client.post(path, headers=h)
        assert r.status == 404, path
        assert set((await r.json())["error"]) == {"code", "message"}
    for path in (
        "/api/v1/leads/1/reject",
        "/api/v1/deals",
        "/api/v1/deals/1/stage",
        "/api/v1/deals/1/lost",
        "/api/v1/pipelines",
        "/api/v1/tasks",
        "/api/v1/contacts/1/merge",
    ):
        r = await client.post(path, data=b"{not json", headers=h)
        assert r.status == 400, path
        assert (await r.json())["error"]["code"] == "malformed_json"
    assert (await client.get("/api/v1/deals")).status == 401
    assert (await client.get("/api/v1/leads?status=nope", headers=h)).status == 422
