"""A site's pool of tracking numbers over HTTP: the admin's routes (validation, access) and the
widget's ``phone-number`` route (held, renewed, another visitor, ran out, the visit recorded).

Both backends. The swap on a real page is in ``tests/e2e/test_number_insertion.py``.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.crm_sync.number_models import NumberReservation
from hub.http import CTX
from tests.helpers import Op, make_api_channel, make_operator
from tests.test_operator_socket import connect, recv_until
from tests.test_widget_api import (
    ORIGIN,
    OTHER_ORIGIN,
    expect_error,
    make_widget_channel,
    start_session,
    visitor_headers,
)

DEFAULT = "+74950000000"


def pool_url(channel_id: int, tail: str = "") -> str:
    return f"/api/v1/channels/{channel_id}/number-pool{tail}"


async def add(client: TestClient, admin: Op, channel_id: int, number: str) -> dict[str, Any]:  # type: ignore[type-arg]
    resp = await client.post(
        pool_url(channel_id, "/numbers"), json={"number": number}, headers=admin.headers
    )
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def ask(
    client: TestClient,  # type: ignore[type-arg]
    token: str,
    url: str = f"{ORIGIN}/",
    referrer: str = "",
) -> dict[str, Any]:
    resp = await client.post(
        "/api/widget/v1/phone-number",
        json={"page": {"url": url, "referrer": referrer, "title": "Shop"}},
        headers=visitor_headers(token),
    )
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def test_admins_manage_a_pool_and_nobody_else(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    manager = await make_operator(client, role="manager")
    operator = await make_operator(client)
    site = (await make_widget_channel(client, admin))["id"]

    pool = await add(client, admin, site, "8 (495) 123-00-01")
    assert pool["channel_id"] == site and pool["default_number"] is None
    [first] = pool["numbers"]
    assert first["number"] == "+74951230001" and first["held_until"] is None
    resp = await client.patch(
        pool_url(site), json={"default_number": "+7 495 000-00-00"}, headers=admin.headers
    )
    assert resp.status == 200 and (await resp.json())["default_number"] == DEFAULT

    for who in (manager, operator):
        for method, tail, body in (
            ("GET", "", None),
            ("PATCH", "", {"default_number": None}),
            ("POST", "/numbers", {"number": "+74951230009"}),
            ("DELETE", f"/numbers/{first['id']}", None),
        ):
            resp = await client.request(
                method, pool_url(site, tail), json=body, headers=who.headers
            )
            await expect_error(resp, 403, "admin_required")
    await expect_error(await client.get(pool_url(site)), 401, "missing_token")

    # Bad input changes nothing.
    for body, status, code in (
        ({"number": "+74951230001"}, 409, "number_in_pool"),  # in the pool already
        ({"number": "84950000000"}, 409, "number_in_pool"),  # the default
        ({"number": "not a phone"}, 422, "invalid_phone"),
        ({"number": "+74951230002", "kind": "x"}, 422, "validation_error"),
        ({"number": "+74951230002", "label": "x" * 201}, 422, "validation_error"),
    ):
        resp = await client.post(pool_url(site, "/numbers"), json=body, headers=admin.headers)
        await expect_error(resp, status, code)
    resp = await client.patch(
        pool_url(site), json={"default_number": "+74951230001"}, headers=admin.headers
    )
    await expect_error(resp, 409, "number_in_pool")
    api = (await make_api_channel(client, admin))["id"]
    resp = await client.post(
        pool_url(api, "/numbers"), json={"number": "+74951230002"}, headers=admin.headers
    )
    await expect_error(resp, 422, "number_insertion_unsupported")
    await expect_error(
        await client.get(pool_url(999999), headers=admin.headers), 404, "channel_not_found"
    )
    for days in ("0", "91"):
        resp = await client.get(pool_url(site) + f"?days={days}", headers=admin.headers)
        await expect_error(resp, 422, "invalid_query")
    # Another site's pool: its own numbers only; a number is in one pool.
    other = (await make_widget_channel(client, admin, name="Other"))["id"]
    resp = await client.post(
        pool_url(other, "/numbers"), json={"number": "+74951230001"}, headers=admin.headers
    )
    await expect_error(resp, 409, "number_in_pool")
    resp = await client.delete(pool_url(other, f"/numbers/{first['id']}"), headers=admin.headers)
    await expect_error(resp, 404, "number_not_found")

    got = await client.get(pool_url(site), headers=admin.headers)
    data = await got.json()
    assert [n["number"] for n in data["numbers"]] == ["+74951230001"]
    assert data["default_number"] == DEFAULT and data["reservation_seconds"] == 1800
    resp = await client.delete(pool_url(site, f"/numbers/{first['id']}"), headers=admin.headers)
    assert resp.status == 200 and (await resp.json())["numbers"] == []


async def test_visitors_hold_numbers_and_the_pool_runs_out(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)
    site = channel["id"]
    a, b, c = [(await start_session(client, channel))["visitor_token"] for _ in range(3)]
    # No pool yet: nothing to show, and the page keeps its own number.
    assert (await ask(client, a))["kind"] == "none"
    await add(client, admin, site, "+74951230001")
    await add(client, admin, site, "+74951230002")

    landing = f"{ORIGIN}/winter?utm_source=yandex&utm_medium=cpc&utm_campaign=sale&gclid=g1"
    first = await ask(client, a, landing, "https://ya.ru/search?q=shop")
    assert first["kind"] == "pool" and first["number"] == "+74951230001"
    assert first["international"] == "+7 495 123-00-01"
    assert first["national"] == "8 (495) 123-00-01"
    assert first["renew_in_seconds"] == 600
    # He stays (a reload, another page): the same number, held longer.
    again = await ask(client, a, f"{ORIGIN}/contacts", f"{ORIGIN}/winter")
    assert again["number"] == first["number"] and again["expires_at"] >= first["expires_at"]
    second = await ask(client, b)
    assert second["kind"] == "pool" and second["number"] == "+74951230002"
    staff, _ready = await connect(client, admin.token)
    # Every number held: no default set yet, so nothing; then the default. Staff are told
    # once that the pool ran out, not again for the next miss.
    assert (await ask(client, c))["kind"] == "none"
    await client.patch(pool_url(site), json={"default_number": DEFAULT}, headers=admin.headers)
    ran_out = await ask(client, c)
    assert ran_out == {
        "kind": "default",
        "number": DEFAULT,
        "international": "+7 495 000-00-00",
        "national": "8 (495) 000-00-00",
        "expires_at": None,
        "renew_in_seconds": None,
    }

    async def query(session: AsyncSession) -> list[NumberReservation]:
        return list(await session.scalars(select(NumberReservation).order_by(NumberReservation.id)))

    held = await client.app[CTX].read(query)
    assert [r.number for r in held] == ["+74951230001", "+74951230002"]
    assert held[0].utm == {"utm_source": "yandex", "utm_medium": "cpc", "utm_campaign": "sale"}
    assert held[0].referrer == "https://ya.ru/search?q=shop"
    assert held[0].landing_page == landing and held[0].page == f"{ORIGIN}/contacts"
    assert held[0].visitor_id is not None and held[0].visitor_id != held[1].visitor_id

    pool = await (await client.get(pool_url(site), headers=admin.headers)).json()
    usage = pool["usage"]
    assert (usage["pool_size"], usage["held_now"], usage["free_now"]) == (2, 2, 0)
    assert (usage["reservations"], usage["ran_out"]) == (2, 2)
    assert len(usage["days"]) == 14 and usage["days"][-1]["reservations"] == 2
    assert all(n["held_until"] for n in pool["numbers"])

    # A number taken out of the pool: its holder gets the other on his next renewal… which
    # is held; so he sees the default, and the first visitor keeps his.
    resp = await client.delete(
        pool_url(site, f"/numbers/{pool['numbers'][1]['id']}"), headers=admin.headers
    )
    assert resp.status == 200
    assert (await ask(client, b))["kind"] == "default"
    assert (await ask(client, a))["number"] == "+74951230001"
    told = await recv_until(
        staff,
        lambda f: f["event"] == "number_pool.updated" and len(f["data"]["pool"]["numbers"]) == 1,
    )
    pool_events = [f for f in told if f["event"].startswith("number_pool.")]
    assert [f["event"] for f in pool_events] == [
        "number_pool.ran_out",
        "number_pool.updated",
        "number_pool.updated",
    ]
    assert pool_events[0]["data"] == {"channel_id": site, "pool_size": 2}
    await staff.close()


async def test_the_route_is_the_visitors_own(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)
    token = (await start_session(client, channel))["visitor_token"]
    resp = await client.post("/api/widget/v1/phone-number", json={}, headers={"Origin": ORIGIN})
    await expect_error(resp, 401, "invalid_visitor_token")
    resp = await client.post(
        "/api/widget/v1/phone-number", json={}, headers=visitor_headers(token, OTHER_ORIGIN)
    )
    await expect_error(resp, 403, "origin_not_allowed")
    resp = await client.post(
        "/api/widget/v1/phone-number",
        json={"page": {"url": "x" * 4001}},
        headers=visitor_headers(token),
    )
    await expect_error(resp, 422, "validation_error")
    resp = await client.post(
        "/api/widget/v1/phone-number", json={"number": "+7"}, headers=visitor_headers(token)
    )
    await expect_error(resp, 422, "validation_error")
    # A default and no numbers yet: the default shows, and nothing ran out.
    resp = await client.patch(
        pool_url(channel["id"]), json={"default_number": DEFAULT}, headers=admin.headers
    )
    assert resp.status == 200, await resp.text()
    assert (await ask(client, token))["kind"] == "default"
    pool = await (await client.get(pool_url(channel["id"]), headers=admin.headers)).json()
    assert pool["usage"]["ran_out"] == 0 and pool["usage"]["pool_size"] == 0
