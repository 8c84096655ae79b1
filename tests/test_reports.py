"""Reports against a hand-computed data set, on both backends.

Every expected figure below is worked out by hand from the rows seeded in ``seed`` (the
arithmetic is in the comments), then compared exactly with what the API answers. The period is
November 2026 in Moscow time: ``from=2026-11-01&to=2026-11-30`` is
[2026-10-31 21:00Z, 2026-11-30 21:00Z).
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.crm_sync.report_period import parse_period, parse_working_hours
from hub.crm_sync.report_sql import money, nearest_rank, round_div
from hub.errors import InvalidInput
from hub.http import CTX
from hub.inbox.models import Conversation, Message
from tests.crm_seed import Seeder, at
from tests.helpers import make_operator
from tests.report_dataset import NOV, TG, WEB_SPRING, WEB_WINTER, World, seed


@pytest.fixture
async def world(client: TestClient) -> World:  # type: ignore[type-arg]
    async def unit(session: AsyncSession) -> World:
        return await seed(Seeder(session))

    return await client.app[CTX].write(unit)


async def get(client: TestClient, path: str, expect: int = 200) -> Any:  # type: ignore[type-arg]
    manager = await make_operator(client, role="manager")
    resp = await client.get(path, headers=manager.headers)
    assert resp.status == expect, await resp.text()
    return await resp.json()


async def test_funnel_matches_the_hand_computed_figures(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    data = await get(client, f"/api/v1/reports/funnel?{NOV}")
    assert data["period"] == {"from": "2026-10-31T21:00:00Z", "to": "2026-11-30T21:00:00Z"}
    assert data["leads_in"] == 6  # all but Dec 1 00:00 and Oct 31 23:59:59 Moscow
    assert data["leads_converted"] == 4  # the leads of d1, d2, d3, d4
    assert data["deals_created"] == 8  # 6 B2B (not Oct 20, not Dec 2) + 2 Retail
    # Closed in November: won d1, d3, Oct's USD deal, Retail won = 4; lost d2, d5, Retail = 3.
    assert (data["deals_won"], data["deals_lost"]) == (4, 3)
    assert data["win_rate"] == 0.5714  # 4 / 7
    assert data["won_amount"] == [
        {"currency": "RUB", "amount": "254999.99"},  # 15000000 + 9999999 + 500000 kopecks
        {"currency": "USD", "amount": "2000.00"},
    ]
    # Lengths: 691200, 345600, 864030, 43200, 1123200, 172800, 21600; sum 3261630 / 7 =
    # 465947.14 -> 465947; sorted, rank ceil(0.5 * 7) = 4 -> 345600.
    assert data["deal_length"] == {"count": 7, "avg_seconds": 465947, "median_seconds": 345600}
    # The hub's default pipeline is there too, with no deals; the seeded two are read by id.
    by_id = {p["pipeline_id"]: p for p in data["pipelines"]}
    b2b, retail = by_id[world.p1["id"]], by_id[world.p2["id"]]
    assert all(
        s["reached"] == 0 for p in data["pipelines"] if p not in (b2b, retail) for s in p["stages"]
    )
    assert b2b["pipeline_id"] == world.p1["id"] and retail["pipeline_id"] == world.p2["id"]
    # B2B cohort d1..d5, d7: d1 and d3 won (reach everything), d2 furthest at Qualified,
    # d4, d5 at New, d7 at New (its move to Qualified is after the period).
    assert [(s["name"], s["reached"], s["conversion_to_next"]) for s in b2b["stages"]] == [
        ("New", 6, 0.5),  # 3 / 6
        ("Qualified", 3, 0.6667),  # 2 / 3
        ("Proposal", 2, 1.0),
        ("Negotiation", 2, 1.0),
        ("Won", 2, None),
    ]
    assert b2b["stages"][0]["stage_id"] == world.p1["New"]
    assert b2b["stages"][-1]["stage_id"] == world.p1["Won"]
    assert [(s["name"], s["reached"], s["conversion_to_next"]) for s in retail["stages"]] == [
        ("Lead", 2, 0.5),
        ("Offer", 1, 1.0),
        ("Won", 1, None),
    ]
    # Lost in November, by stage position, then stage id: B2B New, Retail Lead, B2B Qualified.
    assert data["lost_reasons"] == [
        {"stage_id": world.p1["New"], "stage": "New", "reason": "Спам", "count": 1},
        {"stage_id": world.p2["Lead"], "stage": "Lead", "reason": "Дорого", "count": 1},
        {"stage_id": world.p1["Qualified"], "stage": "Qualified", "reason": "Дорого", "count": 1},
    ]
    # Conversations c1..c6: answered 300, 1200, 45, 3600, 10; c4 unanswered.
    # Sorted 10, 45, 300, 1200, 3600: median rank 3 -> 300; p90 rank ceil(4.5) = 5 -> 3600;
    # average 5155 / 5 = 1031.
    assert data["first_response"] == {
        "conversations": 6,
        "answered": 5,
        "unanswered": 1,
        "avg_seconds": 1031,
        "median_seconds": 300,
        "p90_seconds": 3600,
        "working_hours": False,
    }


async def test_funnel_of_one_pipeline(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    data = await get(client, f"/api/v1/reports/funnel?{NOV}&pipeline_id={world.p2['id']}")
    assert data["leads_in"] == 6  # leads have no pipeline
    assert data["deals_created"] == 2
    assert (data["deals_won"], data["deals_lost"], data["win_rate"]) == (1, 1, 0.5)
    assert data["won_amount"] == [{"currency": "RUB", "amount": "5000.00"}]
    # 172800 and 21600: average 97200, median rank 1 -> 21600.
    assert data["deal_length"] == {"count": 2, "avg_seconds": 97200, "median_seconds": 21600}
    assert [p["name"] for p in data["pipelines"]] == ["Retail"]
    assert [r["reason"] for r in data["lost_reasons"]] == ["Дорого"]


async def test_per_operator(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    data = await get(client, f"/api/v1/reports/operators?{NOV}")
    anna, boris = data["items"]
    assert (anna["operator_id"], anna["name"]) == (world.anna, "Anna")
    assert (boris["operator_id"], boris["name"]) == (world.boris, "Boris")
    # Anna owns d1, d2, d5, d7 and Retail's won deal; closed: d1 won, d2 lost, d5 lost,
    # Retail won.
    assert anna["deals_created"] == 5
    assert (anna["deals_won"], anna["deals_lost"], anna["win_rate"]) == (2, 2, 0.5)
    assert anna["won_amount"] == [{"currency": "RUB", "amount": "155000.00"}]  # 150000 + 5000
    # 691200, 345600, 43200, 172800: sum 1252800 / 4 = 313200; sorted rank 2 -> 172800.
    assert anna["deal_length"] == {"count": 4, "avg_seconds": 313200, "median_seconds": 172800}
    # Anna answered c1 (300), c3 (45), c6 (10): median rank 2 -> 45, p90 rank 3 -> 300,
    # average 355 / 3 = 118.3 -> 118.
    assert anna["first_response"] == {
        "conversations": 3, "answered": 3, "unanswered": 0,
        "avg_seconds": 118, "median_seconds": 45, "p90_seconds": 300,
    }  # fmt: skip
    # Boris owns d3, d4 and Retail's lost deal; closed: d3 won, the October USD deal won,
    # Retail lost.
    assert boris["deals_created"] == 3
    assert (boris["deals_won"], boris["deals_lost"], boris["win_rate"]) == (2, 1, 0.6667)
    assert boris["won_amount"] == [
        {"currency": "RUB", "amount": "99999.99"},
        {"currency": "USD", "amount": "2000.00"},
    ]
    # 864030, 1123200, 21600: sum 2008830 / 3 = 669610; sorted rank 2 -> 864030.
    assert boris["deal_length"] == {"count": 3, "avg_seconds": 669610, "median_seconds": 864030}
    # c2 (1200), c5 (3600): median rank 1 -> 1200, p90 rank 2 -> 3600, average 2400.
    assert boris["first_response"] == {
        "conversations": 2, "answered": 2, "unanswered": 0,
        "avg_seconds": 2400, "median_seconds": 1200, "p90_seconds": 3600,
    }  # fmt: skip
    assert "leads_in" not in boris  # leads have no owner


def _fr(n: int, answered: int, avg: int | None, med: int | None, p90: int | None) -> Any:
    return {
        "conversations": n, "answered": answered, "unanswered": n - answered,
        "avg_seconds": avg, "median_seconds": med, "p90_seconds": p90,
    }  # fmt: skip


async def test_per_source(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    data = await get(client, f"/api/v1/reports/sources?{NOV}")
    rows = {(i["source_channel"], i["utm_source"], i["utm_campaign"]): i for i in data["items"]}
    assert list(rows) == [
        TG,  # 2 leads, 3 deals
        WEB_WINTER,  # 2 leads, 2 deals
        ("api", None, None),  # 1 lead, 1 deal ("api" < "widget")
        WEB_SPRING,  # 1 lead, 1 deal
        ("widget", None, None),  # 0 leads, 1 deal
        (None, None, None),  # 0, 0 ("None" < "email")
        ("email", None, None),
    ]
    tg = rows[TG]
    # Leads: Nov 1 00:00 Moscow and Nov 16. Deals: d1, d5, Retail lost; d1 won, 2 lost.
    assert (tg["leads_in"], tg["deals_created"], tg["deals_won"], tg["deals_lost"]) == (2, 3, 1, 2)
    assert tg["win_rate"] == 0.3333
    assert tg["won_amount"] == [{"currency": "RUB", "amount": "150000.00"}]
    # 691200, 43200, 21600: sum 756000 / 3 = 252000; median rank 2 -> 43200.
    assert tg["deal_length"] == {"count": 3, "avg_seconds": 252000, "median_seconds": 43200}
    assert tg["first_response"] == _fr(2, 2, 1950, 300, 3600)  # c1 300, c5 3600
    web = rows[WEB_WINTER]
    assert (web["leads_in"], web["deals_created"], web["deals_won"], web["deals_lost"]) == (
        2, 2, 0, 1,
    )  # fmt: skip
    assert web["win_rate"] == 0.0 and web["won_amount"] == []
    assert web["deal_length"] == {"count": 1, "avg_seconds": 345600, "median_seconds": 345600}
    assert web["first_response"] == _fr(2, 1, 1200, 1200, 1200)  # c2 1200, c4 unanswered
    spring = rows[WEB_SPRING]
    assert (spring["deals_won"], spring["win_rate"]) == (1, 1.0)
    assert spring["won_amount"] == [{"currency": "RUB", "amount": "99999.99"}]
    assert spring["first_response"] == _fr(1, 1, 45, 45, 45)
    api = rows[("api", None, None)]
    assert (api["leads_in"], api["deals_created"], api["win_rate"]) == (1, 1, None)
    assert api["deal_length"] == {"count": 0, "avg_seconds": None, "median_seconds": None}
    assert api["first_response"] == _fr(0, 0, None, None, None)
    assert rows[("email", None, None)]["won_amount"] == [{"currency": "USD", "amount": "2000.00"}]
    assert rows[(None, None, None)]["first_response"] == _fr(1, 1, 10, 10, 10)  # c6


async def test_first_response_in_working_hours(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    client.app[CTX].settings.working_hours = "mon-fri 09:00-18:00"  # Moscow, UTC+3

    async def unit(session: AsyncSession) -> None:
        s = Seeder(session)
        anna = await s.operator("Anna")
        # Friday 13 Nov 17:30 Moscow -> Monday 16 Nov 09:15 Moscow: 30 + 15 min = 2700 s.
        c1, _ = await s.conversation("2026-11-13 14:30")
        await s.message(c1, "incoming", "2026-11-13 14:30")
        await s.message(c1, "outgoing", "2026-11-16 06:15", anna)
        # Monday 16 Nov 07:00 Moscow (before opening) -> 09:00:40 Moscow: 40 s.
        c2, _ = await s.conversation("2026-11-16 04:00")
        await s.message(c2, "incoming", "2026-11-16 04:00")
        await s.message(c2, "outgoing", "2026-11-16 06:00:40", anna)
        # Within hours: Tuesday 17 Nov 12:00 -> 12:10 Moscow: 600 s.
        c3, _ = await s.conversation("2026-11-17 09:00")
        await s.message(c3, "incoming", "2026-11-17 09:00")
        await s.message(c3, "outgoing", "2026-11-17 09:10", anna)

    await client.app[CTX].write(unit)
    data = await get(client, f"/api/v1/reports/funnel?{NOV}")
    # 40, 600, 2700: median rank 2 -> 600; p90 rank 3 -> 2700; average 3340 / 3 = 1113.3.
    assert data["first_response"] == {
        **_fr(3, 3, 1113, 600, 2700), "working_hours": True,
    }  # fmt: skip


async def test_operators_are_refused_and_bad_input_is_explained(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    operator = await make_operator(client, role="operator")
    for name in ("funnel", "operators", "sources"):
        resp = await client.get(f"/api/v1/reports/{name}", headers=operator.headers)
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "manager_required"
    for query in ("from=yesterday", "from=2026-11-30&to=2026-11-01", "to=2026-13-01",
                  "from=2020-01-01&to=2026-01-01"):  # fmt: skip
        data = await get(client, f"/api/v1/reports/funnel?{query}", expect=422)
        assert data["error"]["code"] == "invalid_period", query
    data = await get(client, "/api/v1/reports/sources?pipeline_id=99999", expect=404)
    assert data["error"]["code"] == "pipeline_not_found"
    data = await get(client, "/api/v1/reports/funnel")  # the last 30 days, nothing in them
    assert data["deals_created"] == 0 and data["win_rate"] is None
    assert data["first_response"]["median_seconds"] is None


def test_nearest_rank_and_rounding() -> None:
    assert nearest_rank([(10, 1), (20, 1), (30, 1), (40, 1)], 50) == 20  # rank 2
    assert nearest_rank([(10, 1), (20, 1), (30, 1), (40, 1)], 90) == 40  # rank ceil(3.6) = 4
    assert nearest_rank([(5, 9), (100, 1)], 90) == 5  # rank 9 of 10
    assert nearest_rank([(5, 9), (100, 1)], 91) == 100  # rank ceil(9.1) = 10
    assert nearest_rank([], 50) is None
    assert (round_div(7, 2), round_div(5, 3), round_div(0, 0)) == (4, 2, None)
    assert (money(15_000_000), money(5), money(-150)) == ("150000.00", "0.05", "-1.50")


def test_period_and_working_hours_parsing() -> None:
    now = at("2026-11-29 12:00")
    p = parse_period(None, None, "Europe/Moscow", now=now)
    assert (p.start, p.end) == (at("2026-10-30 12:00"), now)
    p = parse_period("2026-11-01T09:00:00", "2026-11-02T00:00:00Z", "Europe/Moscow", now=now)
    assert (p.start, p.end) == (at("2026-11-01 06:00"), at("2026-11-02 00:00"))
    with pytest.raises(InvalidInput):
        parse_period("2026-11-01", "2026-11-01T00:00:00+03:00", "Europe/Moscow", now=now)
    hours = parse_working_hours("mon-fri 09:00-18:00; sat 10:00-14:00", "Europe/Moscow")
    assert hours is not None
    # Saturday 14 Nov 13:00 Moscow -> Monday 16 Nov 10:00 Moscow: 1 h + 1 h.
    assert hours.seconds_between(at("2026-11-14 10:00"), at("2026-11-16 07:00")) == 7200
    assert parse_working_hours("", "Europe/Moscow") is None
    for bad in ("weekdays 9-18", "mon-fri 18:00-09:00", "xyz 09:00-10:00"):
        with pytest.raises(InvalidInput):
            parse_working_hours(bad, "Europe/Moscow")


async def test_first_response_columns_follow_the_messages(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    """The columns the report reads hold, for every conversation of the data set, what its
    messages say: the first customer message, the first operator reply at or after it (notes,
    activities, replies before the customer wrote and automatic ones do not count), and who
    sent that reply (the earliest id among replies at the same time)."""

    async def unit(session: AsyncSession) -> tuple[list[Any], list[Any]]:
        convs = (
            await session.execute(
                select(
                    Conversation.id,
                    Conversation.first_incoming_at,
                    Conversation.first_reply_at,
                    Conversation.first_replier_id,
                ).order_by(Conversation.id)
            )
        ).all()
        msgs = (
            await session.execute(
                select(
                    Message.conversation_id, Message.kind, Message.created_at,
                    Message.sender_operator_id,
                ).order_by(Message.created_at, Message.id)
            )
        ).all()  # fmt: skip
        return list(convs), list(msgs)

    convs, msgs = await client.app[CTX].read(unit)
    expected = []
    for cid, *_ in convs:
        own = [m for m in msgs if m.conversation_id == cid]
        t_in = next((m.created_at for m in own if m.kind == "incoming"), None)
        reply = next(
            (
                m
                for m in own
                if t_in is not None
                and m.kind == "outgoing"
                and m.sender_operator_id is not None
                and m.created_at >= t_in
            ),
            None,
        )
        expected.append(
            (
                cid,
                t_in,
                reply.created_at if reply else None,
                reply.sender_operator_id if reply else None,
            )
        )
    assert [tuple(c) for c in convs] == expected
    answered = [e for e in expected if e[2] is not None]
    assert len(answered) >= 5 and any(e[1] is None for e in expected)
