"""Leads and deals through the REST API: qualify, link, reject, create, change, move, win,
lose, reopen; bad input changes nothing; every change leaves an outbox record."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hub.crm_sync.models import Deal, StageChange
from hub.http import CTX
from tests.crm_helpers import make_deal, make_lead, outbox, stages
from tests.helpers import Op, make_api_channel, make_operator


async def _setup(client: TestClient) -> tuple[Op, dict[str, Any]]:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    return admin, await make_api_channel(client, admin)


async def test_qualify_makes_a_deal_in_one_click(client: TestClient) -> None:  # type: ignore[type-arg]
    admin, channel = await _setup(client)
    op = await make_operator(client, role="manager", name="Oleg")
    lead = await make_lead(client, channel, admin, "q1", name="Ivan Petrov")
    resp = await client.post(f"/api/v1/leads/{lead['id']}/qualify", headers=op.headers)
    assert resp.status == 201, await resp.text()
    deal = await resp.json()
    first = (await stages(client, op))[0]
    assert deal["title"] == "Ivan Petrov"
    assert deal["owner_id"] == op.id and deal["owner"]["name"] == "Oleg"
    assert deal["stage_id"] == first["id"] and deal["stage"]["name"] == "New"
    assert (deal["amount"], deal["currency"], deal["status"]) == ("0.00", "RUB", "open")
    assert deal["conversation_id"] == lead["conversation_id"]
    assert deal["source"]["channel"] == "api"
    again = await client.post(f"/api/v1/leads/{lead['id']}/qualify", headers=op.headers)
    assert again.status == 409
    assert (await again.json())["error"]["code"] == "lead_decided"
    leads = await (await client.get("/api/v1/leads?status=qualified", headers=op.headers)).json()
    assert leads["items"][0]["deal_id"] == deal["id"]
    assert (await client.get("/api/v1/leads", headers=op.headers)).status == 200
    records = await outbox(client)
    assert ("deal.created", "deal", deal["id"]) in records
    assert ("lead.updated", "lead", lead["id"]) in records


async def test_reject_and_link(client: TestClient) -> None:  # type: ignore[type-arg]
    admin, channel = await _setup(client)
    spam = await make_lead(client, channel, admin, "spam")
    no_reason = await client.post(
        f"/api/v1/leads/{spam['id']}/reject", json={"reason": "  "}, headers=admin.headers
    )
    assert no_reason.status == 422
    resp = await client.post(
        f"/api/v1/leads/{spam['id']}/reject", json={"reason": "spam"}, headers=admin.headers
    )
    assert resp.status == 200
    assert (await resp.json())["status"] == "rejected"
    assert (await resp.json())["reject_reason"] == "spam"
    deal = await make_deal(client, channel, admin, "buyer")
    colleague = await make_lead(client, channel, admin, "colleague", name="Colleague")
    linked = await client.post(
        f"/api/v1/leads/{colleague['id']}/link", json={"deal_id": deal["id"]}, headers=admin.headers
    )
    assert linked.status == 200, await linked.text()
    assert (await linked.json())["status"] == "linked"
    full = await (await client.get(f"/api/v1/deals/{deal['id']}", headers=admin.headers)).json()
    assert colleague["conversation_id"] in [c["id"] for c in full["conversations"]]
    missing = await client.post(
        f"/api/v1/leads/{spam['id']}/link", json={"deal_id": 999999}, headers=admin.headers
    )
    assert missing.status == 404


async def test_create_patch_and_money(client: TestClient) -> None:  # type: ignore[type-arg]
    admin, channel = await _setup(client)
    deal = await make_deal(client, channel, admin, "m1")
    resp = await client.patch(
        f"/api/v1/deals/{deal['id']}",
        json={"amount": "150000.00", "title": "Печь для бани", "currency": "rub"},
        headers=admin.headers,
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert (body["amount"], body["currency"], body["title"]) == (
        "150000.00",
        "RUB",
        "Печь для бани",
    )
    stored = await client.app[CTX].read(lambda s: s.get(Deal, deal["id"]))
    assert stored.amount_minor == 15_000_000
    for bad, code in [
        ({"amount": "-5"}, "invalid_amount"),
        ({"amount": "1.234"}, "invalid_amount"),
        ({"currency": "RUBX"}, "validation_error"),
        ({"currency": "R1"}, "invalid_currency"),
        ({"title": " "}, "invalid_title"),
        ({}, "empty_patch"),
        ({"owner_id": 999999}, "owner_not_found"),
        ({"color": "red"}, "validation_error"),
    ]:
        r = await client.patch(f"/api/v1/deals/{deal['id']}", json=bad, headers=admin.headers)
        assert r.status == 422, (bad, await r.text())
        assert (await r.json())["error"]["code"] == code, bad
    after = await client.app[CTX].read(lambda s: s.get(Deal, deal["id"]))
    assert after.amount_minor == 15_000_000 and after.title == "Печь для бани"
    direct = await client.post(
        "/api/v1/deals",
        json={"contact_id": deal["contact_id"], "title": "Second", "amount": 2500.5},
        headers=admin.headers,
    )
    assert direct.status == 201, await direct.text()
    assert (await direct.json())["amount"] == "2500.50"
    assert (await direct.json())["owner_id"] == admin.id
    for bad in (
        {"contact_id": 999999, "title": "x"},
        {"contact_id": deal["contact_id"], "stage_id": 999999},
        {"contact_id": deal["contact_id"], "pipeline_id": 999999},
        {"contact_id": deal["contact_id"], "conversation_id": 999999},
    ):
        r = await client.post("/api/v1/deals", json=bad, headers=admin.headers)
        assert r.status in (404, 422), (bad, r.status)
    count = await client.app[CTX].read(lambda s: s.scalar(select(func.count(Deal.id))))
    assert count == 2


async def test_stage_moves_forward_freely_backward_with_reason(client: TestClient) -> None:  # type: ignore[type-arg]
    admin, channel = await _setup(client)
    deal = await make_deal(client, channel, admin, "s1")
    st = await stages(client, admin)
    url = f"/api/v1/deals/{deal['id']}/stage"
    fwd = await client.post(url, json={"stage_id": st[2]["id"]}, headers=admin.headers)
    assert fwd.status == 200 and (await fwd.json())["stage_id"] == st[2]["id"]
    back = await client.post(url, json={"stage_id": st[1]["id"]}, headers=admin.headers)
    assert back.status == 422
    assert (await back.json())["error"]["code"] == "reason_required"
    back = await client.post(
        url, json={"stage_id": st[1]["id"], "reason": "price talk again"}, headers=admin.headers
    )
    assert back.status == 200
    for body, code in [
        ({"stage_id": st[1]["id"]}, "same_stage"),
        ({"stage_id": st[5]["id"]}, "use_won_or_lost"),
        ({"stage_id": 999999}, "stage_not_found"),
        ({"stage": 1}, "validation_error"),
    ]:
        r = await client.post(url, json=body, headers=admin.headers)
        assert r.status in (409, 422), body
        assert (await r.json())["error"]["code"] == code
    full = await (await client.get(f"/api/v1/deals/{deal['id']}", headers=admin.headers)).json()
    moves = [(c["direction"], c["to_stage_name"], c["reason"]) for c in full["stage_changes"]]
    assert moves == [
        ("initial", "New", None),
        ("forward", "Proposal sent", None),
        ("backward", "Qualified", "price talk again"),
    ]
    assert all(c["operator_id"] == admin.id and c["created_at"] for c in full["stage_changes"])
    kinds = [e["type"] for e in full["timeline"]]
    assert kinds.count("stage_change") == 3 and "conversation" in kinds


async def test_won_lost_reopen(client: TestClient) -> None:  # type: ignore[type-arg]
    admin, channel = await _setup(client)
    st = await stages(client, admin)
    deal = await make_deal(client, channel, admin, "w1")
    await client.post(
        f"/api/v1/deals/{deal['id']}/stage", json={"stage_id": st[3]["id"]}, headers=admin.headers
    )
    no_reason = await client.post(
        f"/api/v1/deals/{deal['id']}/lost", json={"reason": ""}, headers=admin.headers
    )
    assert no_reason.status == 422
    lost = await client.post(
        f"/api/v1/deals/{deal['id']}/lost", json={"reason": "too expensive"}, headers=admin.headers
    )
    assert lost.status == 200
    body = await lost.json()
    assert body["status"] == "lost" and body["stage"]["kind"] == "lost"
    assert body["lost_reason"] == "Too expensive"  # the configured spelling
    assert body["lost_stage_id"] == st[3]["id"]
    assert body["closed_at"] is not None
    again = await client.post(f"/api/v1/deals/{deal['id']}/won", headers=admin.headers)
    assert again.status == 409
    bad_reopen = await client.post(
        f"/api/v1/deals/{deal['id']}/reopen", json={}, headers=admin.headers
    )
    assert bad_reopen.status == 422
    reopened = await client.post(
        f"/api/v1/deals/{deal['id']}/reopen", json={"reason": "came back"}, headers=admin.headers
    )
    assert reopened.status == 200
    body = await reopened.json()
    assert body["status"] == "open" and body["stage_id"] == st[3]["id"]
    assert body["lost_reason"] is None
    won = await client.post(f"/api/v1/deals/{deal['id']}/won", headers=admin.headers)
    assert won.status == 200
    assert (await won.json())["stage"]["kind"] == "won"
    directions = (
        await client.app[CTX].read(
            lambda s: s.scalars(
                select(StageChange.direction)
                .where(StageChange.deal_id == deal["id"])
                .order_by(StageChange.id)
            )
        )
    ).all()
    assert directions == ["initial", "forward", "lost", "backward", "won"]
    events = [e for e, entity, _ in await outbox(client) if entity == "deal"]
    assert events == [
        "deal.created",
        "deal.updated",
        "deal.updated",
        "deal.updated",
        "deal.updated",
    ]
    lr = await (await client.get("/api/v1/lost-reasons", headers=admin.headers)).json()
    assert "Too expensive" in [r["name"] for r in lr["items"]]


async def test_board_list_with_stage_totals_and_filters(client: TestClient) -> None:  # type: ignore[type-arg]
    admin, channel = await _setup(client)
    other = await make_operator(client, role="manager")
    d1 = await make_deal(client, channel, admin, "b1")
    d2 = await make_deal(client, channel, admin, "b2")
    await client.patch(
        f"/api/v1/deals/{d1['id']}", json={"amount": "100.10"}, headers=admin.headers
    )
    await client.patch(
        f"/api/v1/deals/{d2['id']}",
        json={"amount": "50", "owner_id": other.id},
        headers=admin.headers,
    )
    board = await (await client.get("/api/v1/deals?status=open", headers=admin.headers)).json()
    assert {d["id"] for d in board["items"]} == {d1["id"], d2["id"]}
    assert board["stages"] == [{"stage_id": d1["stage_id"], "count": 2, "sums": {"RUB": "150.10"}}]
    mine = await (await client.get("/api/v1/deals?owner=me", headers=admin.headers)).json()
    assert [d["id"] for d in mine["items"]] == [d1["id"]]
    theirs = await (
        await client.get(f"/api/v1/deals?owner={other.id}", headers=admin.headers)
    ).json()
    assert [d["id"] for d in theirs["items"]] == [d2["id"]]
    by_source = await (
        await client.get("/api/v1/deals?source=widget", headers=admin.headers)
    ).json()
    assert by_source["items"] == [] and by_source["stages"] == []
    for q in ("owner=x", "status=closed", "pipeline_id=abc"):
        r = await client.get(f"/api/v1/deals?{q}", headers=admin.headers)
        assert r.status in (400, 422), q


async def test_pipelines(client: TestClient) -> None:  # type: ignore[type-arg]
    admin, channel = await _setup(client)
    op = await make_operator(client)
    st = await stages(client, op)
    assert [(s["name"], s["kind"]) for s in st] == [
        ("New", "open"),
        ("Qualified", "open"),
        ("Proposal sent", "open"),
        ("Negotiation", "open"),
        ("Contract", "open"),
        ("Won", "won"),
        ("Lost", "lost"),
    ]
    body = {"name": "Retail", "stages": ["Заявка", "Замер", "Монтаж"]}
    assert (await client.post("/api/v1/pipelines", json=body, headers=op.headers)).status == 403
    resp = await client.post("/api/v1/pipelines", json=body, headers=admin.headers)
    assert resp.status == 201
    made = await resp.json()
    assert [s["kind"] for s in made["stages"]] == ["open", "open", "open", "won", "lost"]
    for bad in (
        {"name": "x", "stages": []},
        {"name": "x", "stages": ["a", "A"]},
        {"name": "", "stages": ["a"]},
    ):
        r = await client.post("/api/v1/pipelines", json=bad, headers=admin.headers)
        assert r.status == 422, bad
    listed = await (await client.get("/api/v1/pipelines", headers=op.headers)).json()
    assert len(listed["items"]) == 2
    lead = await make_lead(client, channel, admin, "p1")
    body = {"contact_id": lead["contact_id"], "pipeline_id": made["id"], "stage_id": st[0]["id"]}
    wrong = await client.post("/api/v1/deals", json=body, headers=admin.headers)
    assert wrong.status == 422
    assert (await wrong.json())["error"]["code"] == "stage_not_in_pipeline"
    body["stage_id"] = made["stages"][1]["id"]
    right = await client.post("/api/v1/deals", json=body, headers=admin.headers)
    assert right.status == 201
    assert (await right.json())["stage"]["name"] == "Замер"


async def test_contact_card_lists_leads_and_deals(client: TestClient) -> None:  # type: ignore[type-arg]
    admin, channel = await _setup(client)
    deal = await make_deal(client, channel, admin, "card")
    card = await (
        await client.get(f"/api/v1/contacts/{deal['contact_id']}", headers=admin.headers)
    ).json()
    assert [lead["status"] for lead in card["leads"]] == ["qualified"]
    assert [d["id"] for d in card["deals"]] == [deal["id"]]
    shown = card["deals"][0]
    assert shown["stage"]["name"] == "New" and shown["amount"] == "0.00"
    assert shown["conversation"]["id"] == deal["conversation_id"]
    assert shown["conversation"]["channel"]["type"] == "api"
    assert card["merged_into_id"] is None


async def test_lost_reasons_are_kept_by_managers(client: TestClient) -> None:  # type: ignore[type-arg]
    admin, channel = await _setup(client)
    op = await make_operator(client)
    body = {"name": "Купил у соседа"}
    assert (await client.post("/api/v1/lost-reasons", json=body, headers=op.headers)).status == 403
    resp = await client.post("/api/v1/lost-reasons", json=body, headers=admin.headers)
    assert resp.status == 201
    made = await resp.json()
    dup = await client.post(
        "/api/v1/lost-reasons", json={"name": "купил У СОСЕДА"}, headers=admin.headers
    )
    assert dup.status == 409
    names = [
        r["name"]
        for r in (await (await client.get("/api/v1/lost-reasons", headers=op.headers)).json())[
            "items"
        ]
    ]
    assert names[-1] == "Купил у соседа" and len(names) == 7
    deal = await make_deal(client, channel, admin, "lr")
    lost = await client.post(
        f"/api/v1/deals/{deal['id']}/lost", json={"reason": "купил у соседа"}, headers=admin.headers
    )
    assert (await lost.json())["lost_reason"] == made["name"]
