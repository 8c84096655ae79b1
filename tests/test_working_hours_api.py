"""The company's working hours and time zone, set by an admin: ``GET`` and ``PUT
/api/v1/settings/working-hours``. Admins only; bad input is a 422 that changes nothing; a saved
value is used at once by this process and, through ``working_hours.updated``, by a second hub on
the same database and bus.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.app import HOURS, create_app
from hub.http import CTX
from hub.inbox.company_models import CompanySettings
from hub.settings import Settings
from tests.helpers import Op, make_operator
from tests.test_api_channel import expect_error
from tests.test_operator_socket import connect, recv_until

Client = TestClient  # type: ignore[type-arg]
PATH = "/api/v1/settings/working-hours"
#: The last resort of a wait for the second hub, never the expected time.
CAP_S = 30.0
ENV_SPEC = "mon-fri 09:00-18:00"


def week(**days: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Every weekday, closed unless given: ``week(mon=[("09:00", "18:00")])``."""
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return [
        {"day": d, "hours": [{"opens": a, "closes": b} for a, b in days.get(d, [])]} for d in names
    ]


@pytest.fixture
async def app(settings: Settings) -> web.Application:
    return create_app(settings.model_copy(update={"working_hours": ENV_SPEC, "routing": False}))


async def put(client: Client, who: Op, body: Any) -> Any:
    return await client.put(PATH, json=body, headers=who.headers)


async def stored_rows(client: Client) -> int:
    async def query(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count()).select_from(CompanySettings)) or 0)

    return await client.app[CTX].read(query)


async def test_only_admins_read_and_set_the_hours(client: Client) -> None:
    operator = await make_operator(client)
    manager = await make_operator(client, role="manager")
    body = {"timezone": "Asia/Tokyo", "days": week(mon=[("09:00", "18:00")])}
    await expect_error(await client.get(PATH), 401, "missing_token")
    await expect_error(await client.put(PATH, json=body), 401, "missing_token")
    for who in (operator, manager):
        await expect_error(await client.get(PATH, headers=who.headers), 403, "admin_required")
        await expect_error(await put(client, who, body), 403, "admin_required")
    assert await stored_rows(client) == 0
    # Every operator still reads them as the hub uses them: the environment's, for now.
    seen = await (await client.get("/api/v1/working-hours", headers=operator.headers)).json()
    assert seen["source"] == "environment" and seen["spec"] == ENV_SPEC


BAD: list[tuple[str, Any]] = [
    ("not a zone", {"timezone": "Mars/Olympus", "days": week(mon=[("09:00", "18:00")])}),
    ("a path, not a zone", {"timezone": "../etc/passwd", "days": []}),
    ("no zone", {"days": week(mon=[("09:00", "18:00")])}),
    ("a day twice", {"timezone": "UTC", "days": [*week(mon=[("09:00", "18:00")])[:6], week()[0]]}),
    ("a day missing", {"timezone": "UTC", "days": week(mon=[("09:00", "18:00")])[:6]}),
    ("an unknown day", {"timezone": "UTC", "days": [*week()[:6], {"day": "sun7", "hours": []}]}),
    ("every day closed", {"timezone": "UTC", "days": week()}),
    ("closes before it opens", {"timezone": "UTC", "days": week(tue=[("18:00", "09:00")])}),
    ("opens and closes at once", {"timezone": "UTC", "days": week(tue=[("09:00", "09:00")])}),
    (
        "overlapping",
        {"timezone": "UTC", "days": week(wed=[("09:00", "13:00"), ("12:00", "18:00")])},
    ),
    ("not HH:MM", {"timezone": "UTC", "days": week(thu=[("9", "18:00")])}),
    ("past midnight", {"timezone": "UTC", "days": week(thu=[("09:00", "24:30")])}),
    ("a minute 60", {"timezone": "UTC", "days": week(thu=[("09:60", "18:00")])}),
    ("a number, not a time", {"timezone": "UTC", "days": week(fri=[(900, "18:00")])}),  # type: ignore[list-item]
    ("an extra field", {"timezone": "UTC", "days": [], "spec": "mon 09:00-18:00"}),
]


@pytest.mark.parametrize(("why", "body"), BAD, ids=[why for why, _ in BAD])
async def test_bad_hours_are_refused_and_change_nothing(
    client: Client, why: str, body: Any
) -> None:
    admin = await make_operator(client, role="admin")
    good = {"timezone": "Asia/Tokyo", "days": week(mon=[("10:00", "11:00")])}
    first = await put(client, admin, good)
    assert first.status == 200, await first.text()
    before = await (await client.get(PATH, headers=admin.headers)).json()
    version = client.app[CTX].company.version

    resp = await put(client, admin, body)
    await expect_error(resp, 422, "validation_error")
    assert await (await client.get(PATH, headers=admin.headers)).json() == before, why
    assert client.app[CTX].company.version == version and await stored_rows(client) == 1


async def test_malformed_json_is_refused(client: Client) -> None:
    admin = await make_operator(client, role="admin")
    resp = await client.put(PATH, data=b"{not json", headers=admin.headers)
    await expect_error(resp, 400, "malformed_json")
    assert await stored_rows(client) == 0


async def test_saved_hours_are_used_at_once_and_announced(client: Client) -> None:
    admin = await make_operator(client, role="admin")
    operator = await make_operator(client)
    ws, _ = await connect(client, admin.token)
    op_ws, _ = await connect(client, operator.token)
    shown = await (await client.get(PATH, headers=admin.headers)).json()
    assert shown["source"] == "environment" and shown["spec"] == ENV_SPEC
    assert shown["timezone"] == "Europe/Moscow"

    body = {
        "timezone": "Asia/Vladivostok",
        "days": week(
            mon=[("09:00", "13:00"), ("14:00", "18:00")], sat=[("10:00", "24:00")], sun=[]
        ),
    }
    resp = await put(client, admin, body)
    assert resp.status == 200, await resp.text()
    saved = await resp.json()
    assert saved["source"] == "admin" and saved["timezone"] == "Asia/Vladivostok"
    assert saved["spec"] == "mon 09:00-13:00; mon 14:00-18:00; sat 10:00-24:00"
    assert saved["days"][0]["hours"] == body["days"][0]["hours"]
    assert saved["days"][5]["hours"] == [{"opens": "10:00", "closes": "24:00"}]
    assert saved["days"][1]["hours"] == [] and isinstance(saved["open_now"], bool)
    told = await recv_until(ws, lambda f: f.get("event") == "working_hours.updated")
    assert told[-1]["data"]["working_hours"]["spec"] == saved["spec"]
    # Every operator too: his pages write dates in the company's zone.
    told = await recv_until(op_ws, lambda f: f.get("event") == "working_hours.updated")
    assert told[-1]["data"]["working_hours"]["timezone"] == "Asia/Vladivostok"
    await ws.close()
    await op_ws.close()

    for path in (PATH, "/api/v1/working-hours"):
        assert await (await client.get(path, headers=admin.headers)).json() == saved
    locale = await (await client.get("/api/v1/locale", headers=admin.headers)).json()
    assert locale["timezone"] == "Asia/Vladivostok"

    # No working hours at all: the company answers any time.
    resp = await put(client, admin, {"timezone": "Europe/Berlin", "days": []})
    assert resp.status == 200, await resp.text()
    anytime = await resp.json()
    assert (anytime["spec"], anytime["days"], anytime["open_now"]) == ("", [], None)
    assert anytime["source"] == "admin" and await stored_rows(client) == 1


@pytest.fixture
async def second(aiohttp_client: Any, client: Client, settings: Settings) -> AsyncIterator[Client]:
    """A second hub on the same database and bus: with Redis, a bus of its own on the same
    streams, as another process has; embedded, the first hub's in-process bus."""
    other = create_app(settings.model_copy(update={"working_hours": ENV_SPEC, "routing": False}))
    if settings.redis_url is None:
        shared = client.app[CTX].bus
        other[CTX].bus = shared
        other.on_cleanup.insert(0, _unshare(other, shared))
    yield await aiohttp_client(other)


def _unshare(app: web.Application, shared: Any) -> Any:
    """The second hub closes a bus of its own, not the first hub's."""
    from hub.bus import MemoryBus

    async def cleanup(_app: web.Application) -> None:
        if app[CTX].bus is shared:
            app[CTX].bus = MemoryBus()

    return cleanup


async def test_a_second_hub_uses_the_saved_hours_without_a_restart(
    client: Client, second: Client
) -> None:
    admin = await make_operator(client, role="admin")
    assert second.app[CTX].company.spec == ENV_SPEC
    body = {"timezone": "America/New_York", "days": week(tue=[("08:30", "17:00")])}
    resp = await put(client, admin, body)
    assert resp.status == 200, await resp.text()
    version = client.app[CTX].company.version
    await asyncio.wait_for(second.app[HOURS].wait_for(version), CAP_S)

    seen = await (await second.get("/api/v1/working-hours", headers=admin.headers)).json()
    assert seen["timezone"] == "America/New_York" and seen["spec"] == "tue 08:30-17:00"
    assert seen["source"] == "admin"
    locale = await (await second.get("/api/v1/locale", headers=admin.headers)).json()
    assert locale["timezone"] == "America/New_York"

    # And back from the second hub to the first.
    resp = await put(second, admin, {"timezone": "Europe/Moscow", "days": []})
    assert resp.status == 200, await resp.text()
    await asyncio.wait_for(client.app[HOURS].wait_for(version + 1), CAP_S)
    assert client.app[CTX].company.spec == "" and client.app[CTX].company.hours is None
    assert client.app[CTX].company.timezone == "Europe/Moscow"


async def test_a_hub_that_starts_later_reads_the_saved_hours(
    aiohttp_client: Any, client: Client, settings: Settings
) -> None:
    admin = await make_operator(client, role="admin")
    resp = await put(
        client, admin, {"timezone": "Asia/Tokyo", "days": week(sun=[("00:00", "24:00")])}
    )
    assert resp.status == 200, await resp.text()
    later = await aiohttp_client(create_app(settings))  # its environment has no hours at all
    assert later.app[CTX].company.spec == "sun 00:00-24:00"
    assert later.app[CTX].company.timezone == "Asia/Tokyo"


async def test_two_hubs_saving_first_at_once_both_succeed_one_after_the_other(
    client: Client, second: Client
) -> None:
    """No row yet, and both hubs make it at once: the later save updates the row the earlier
    one made, it does not fail."""
    admin = await make_operator(client, role="admin")
    answers = await asyncio.gather(
        put(client, admin, {"timezone": "Asia/Tokyo", "days": []}),
        put(second, admin, {"timezone": "Europe/Paris", "days": []}),
    )
    assert [r.status for r in answers] == [200, 200], [await r.text() for r in answers]
    assert await stored_rows(client) == 1
    await asyncio.wait_for(client.app[HOURS].wait_for(2), CAP_S)
    await asyncio.wait_for(second.app[HOURS].wait_for(2), CAP_S)
    assert client.app[CTX].company.timezone == second.app[CTX].company.timezone


async def test_the_hours_travel_on_a_topic_of_their_own(client: Client) -> None:
    """Every process follows the hours; a message on the event stream is not for it to read:
    the saves go (also) to the small working-hours topic, and only they."""
    from hub.events import EVENTS_TOPIC, WORKING_HOURS_TOPIC
    from tests.helpers import customer_says, make_api_channel

    admin = await make_operator(client, role="admin")
    bus = client.app[CTX].bus
    hours_from = await bus.last_id(WORKING_HOURS_TOPIC)
    channel = await make_api_channel(client, admin)
    await customer_says(client, channel, "Hello", external_id="topic")
    body = {"timezone": "Asia/Tokyo", "days": week(mon=[("09:00", "18:00")])}
    resp = await put(client, admin, body)
    assert resp.status == 200, await resp.text()
    await customer_says(client, channel, "Again", external_id="topic")

    on_topic = await bus.read_after(WORKING_HOURS_TOPIC, hours_from)
    assert [p["event"] for _, p in on_topic] == ["working_hours.updated"]
    saved = on_topic[0][1]["data"]["working_hours"]
    assert (saved["timezone"], saved["spec"]) == ("Asia/Tokyo", "mon 09:00-18:00")
    # The operators' stream carries it as before, among the messages.
    stream = [p["event"] for _, p in await bus.read_after(EVENTS_TOPIC, "0-0")]
    assert "working_hours.updated" in stream and "message.created" in stream
