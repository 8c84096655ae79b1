"""What the manager's contact page reads besides the card: the company's time zone for dates
(``GET /api/v1/locale``), and the contact's website visitors on the site now with the page,
browser, system and device of each (``GET /api/v1/contacts/{id}/visitors``), and with a GeoIP
database (``HUB_GEOIP_DATABASE``) the city and country of his address, kept with his touch."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from hub.app import create_app
from hub.settings import Settings
from tests.geoip_db import MOSCOW_IP, UNMAPPED_IP, write_city_database
from tests.helpers import FRAME_CAP_S, make_operator, make_team
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
    # The tab's close is handled after the socket ends: looked at again until it is.
    async with asyncio.timeout(FRAME_CAP_S):
        for _ in itertools.count():
            if not (await _online(client, admin, contact_id))[1]:
                break
            await asyncio.sleep(0.05)
    assert (await _online(client, admin, contact_id))[1] == []


async def test_a_visitor_s_city_and_country_come_from_his_address(
    aiohttp_client: Any, settings: Settings, tmp_path: Path
) -> None:
    """Behind a proxy the address is the last X-Forwarded-For entry (the one the proxy vouches
    for): Moscow's gets Москва / Moscow on the visitor and on the contact's touches; a public
    address the database does not have, and a private one, get no city and no country."""
    geoip = write_city_database(tmp_path / "city.mmdb")
    app = create_app(settings.model_copy(update={"geoip_database": geoip, "behind_proxy": True}))
    client = await aiohttp_client(app)
    admin = await make_operator(client, role="admin")
    # The pages show the credit GeoLite2's licence asks for beside a city.
    locale = await (await client.get("/api/v1/locale", headers=admin.headers)).json()
    assert locale["geoip_credit"] == {
        "text": "GeoLite2 data created by MaxMind",
        "url": "https://www.maxmind.com",
    }
    channel = await make_widget_channel(client, admin)
    page = {"url": f"{ORIGIN}/pechi", "title": "Печи", "referrer": ""}
    forwarded = {
        "moscow": f"10.0.0.7, {MOSCOW_IP}",
        "unmapped": f"{MOSCOW_IP}, {UNMAPPED_IP}",  # the first entry is the client's own word
        "private": f"{MOSCOW_IP}, 10.20.30.40",
    }
    contacts: dict[str, int] = {}
    sockets = []
    for who, header in forwarded.items():
        resp = await client.post(
            "/api/widget/v1/sessions",
            json={"website_token": channel["website_token"], "page": page},
            headers={"Origin": ORIGIN, "User-Agent": ANDROID_CHROME, "X-Forwarded-For": header},
        )
        assert resp.status == 200, await resp.text()
        ws, _ = await open_visitor(client, (await resp.json())["visitor_token"])
        sockets.append(ws)
        await send_over(ws, f"c-{who}", "Здравствуйте")
        convs = await (await client.get("/api/v1/conversations", headers=admin.headers)).json()
        [contacts[who]] = {c["contact_id"] for c in convs["items"]} - set(contacts.values())

    status, [moscow] = await _online(client, admin, contacts["moscow"])
    assert status == 200
    assert moscow["city"] == {"en": "Moscow", "ru": "Москва"}
    assert moscow["country"] == {"en": "Russia", "ru": "Россия"}
    assert moscow["country_code"] == "RU" and moscow["browser"] == "Chrome 131"
    card = await (
        await client.get(f"/api/v1/contacts/{contacts['moscow']}", headers=admin.headers)
    ).json()
    for touch in ("first_touch", "last_touch"):
        assert card["attributes"][touch]["city"] == {"en": "Moscow", "ru": "Москва"}
        assert card["attributes"][touch]["country_code"] == "RU"
    for who in ("unmapped", "private"):
        _, [item] = await _online(client, admin, contacts[who])
        assert item["browser"] == "Chrome 131"
        assert not {"city", "country", "country_code"} & set(item), (who, item)
        card = await (
            await client.get(f"/api/v1/contacts/{contacts[who]}", headers=admin.headers)
        ).json()
        assert "city" not in card["attributes"]["last_touch"]
        assert "country" not in card["attributes"]["last_touch"]
    for ws in sockets:
        await ws.close()
