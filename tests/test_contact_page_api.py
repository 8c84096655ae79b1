"""What the manager's contact page reads besides the card: the company's time zone for dates
(``GET /api/v1/locale``), and the contact's website visitors on the site now with the page,
browser, system and device of each (``GET /api/v1/contacts/{id}/visitors``)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

from tests.helpers import make_operator, make_team
from tests.test_widget_api import ORIGIN, make_widget_channel, open_visitor, send_over

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


async def _online(client: Any, op: Any, contact_id: int) -> tuple[int, list[dict[str, Any]]]:
    resp = await client.get(f"/api/v1/contacts/{contact_id}/visitors", headers=op.headers)
    return resp.status, (await resp.json()).get("items", [])


async def test_a_visitor_on_the_site_shows_his_page_browser_and_device(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    # The pages' dates are in the company's zone, which they ask for once.
    resp = await client.get("/api/v1/locale", headers=admin.headers)
    assert await resp.json() == {"timezone": "Europe/Moscow", "language": "en"}
    assert (await client.get("/api/v1/locale")).status == 401
    channel = await make_widget_channel(client, admin, name="ПечиПро")
    page = {
        "url": f"{ORIGIN}/pechi/banya?utm_source=yandex",
        "title": "Печи для бани",
        "referrer": "",
    }
    resp = await client.post(
        "/api/widget/v1/sessions",
        json={"website_token": channel["website_token"], "page": page},
        headers={"Origin": ORIGIN, "User-Agent": ANDROID_CHROME},
    )
    token = (await resp.json())["visitor_token"]
    ws, _ = await open_visitor(client, token)
    ack = await send_over(ws, "c-1", "Сколько стоит?")
    convs = await (await client.get("/api/v1/conversations", headers=admin.headers)).json()
    contact_id = convs["items"][0]["contact_id"]
    assert ack["message"]["body"] == "Сколько стоит?"

    status, items = await _online(client, admin, contact_id)
    assert status == 200
    [item] = items
    assert item["channel_name"] == "ПечиПро" and item["page_title"] == "Печи для бани"
    assert (item["browser"], item["os"], item["device"]) == ("Chrome 131", "Android", "phone")
    card = await (await client.get(f"/api/v1/contacts/{contact_id}", headers=admin.headers)).json()
    assert card["attributes"]["last_touch"]["device"] == "phone"
    assert card["attributes"]["first_touch"]["utm_source"] == "yandex"

    # An operator outside the channel's teams may not see the contact at all.
    outsider = await make_operator(client, team_ids=[await make_team(client)])
    assert (await _online(client, outsider, contact_id))[0] == 404

    await ws.close()
    for _ in range(100):  # the tab's close is handled after the socket ends
        if not (await _online(client, admin, contact_id))[1]:
            break
        await asyncio.sleep(0.05)
    assert (await _online(client, admin, contact_id))[1] == []
