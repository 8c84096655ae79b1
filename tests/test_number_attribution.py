"""``attribution_for_call``: the visit that held a tracking number when a call came in.

The seam the calls channel asks when a call arrives; reservations are written here as the
reservation action writes them, so the times can be set exactly (inside, at the edges, after
expiry, two overlapping). Both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.widget.models import WidgetVisitor
from hub.crm_sync.number_models import NumberPool, NumberReservation, PoolNumber
from hub.crm_sync.number_pool import VisitAttribution, attribution_for_call
from hub.http import CTX
from hub.inbox.models import Contact
from tests.helpers import make_operator
from tests.test_widget_api import make_widget_channel, start_session

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
NUMBER = "+74951230001"


async def _visitors(client: TestClient, count: int) -> tuple[int, list[int]]:  # type: ignore[type-arg]
    """A widget channel with a pool of one number, and ``count`` visitors of it."""
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)
    for _ in range(count):
        await start_session(client, channel)

    async def unit(session: AsyncSession) -> list[int]:
        session.add(NumberPool(channel_id=channel["id"], default_number="+74950000000"))
        await session.flush()
        session.add(PoolNumber(channel_id=channel["id"], number=NUMBER))
        rows = await session.scalars(
            select(WidgetVisitor.id)
            .where(WidgetVisitor.channel_id == channel["id"])
            .order_by(WidgetVisitor.id)
        )
        return list(rows)

    return channel["id"], await client.app[CTX].write(unit)


async def _hold(
    client: TestClient,  # type: ignore[type-arg]
    channel_id: int,
    visitor_id: int,
    start: datetime,
    minutes: int,
    **visit: Any,
) -> None:
    async def unit(session: AsyncSession) -> None:
        session.add(
            NumberReservation(
                channel_id=channel_id,
                number=NUMBER,
                visitor_id=visitor_id,
                ttl_seconds=600,
                reserved_at=start,
                last_seen_at=start,
                expires_at=start + timedelta(minutes=minutes),
                **visit,
            )
        )

    await client.app[CTX].write(unit)


async def _ask(
    client: TestClient,  # type: ignore[type-arg]
    at: datetime,
    number: str = NUMBER,
) -> VisitAttribution | None:
    async def query(session: AsyncSession) -> VisitAttribution | None:
        return await attribution_for_call(session, number, at)

    return await client.app[CTX].read(query)


async def test_a_call_inside_a_reservation_is_its_visit(client: TestClient) -> None:  # type: ignore[type-arg]
    channel_id, (visitor,) = await _visitors(client, 1)
    await _hold(
        client,
        channel_id,
        visitor,
        T0,
        30,
        utm={"utm_source": "yandex", "utm_campaign": "winter", "gclid": "x", "utm_term": ""},
        referrer="https://ya.ru/search",
        landing_page="https://shop.example/?utm_source=yandex",
        page="https://shop.example/contacts",
    )
    expected = VisitAttribution(
        visitor_contact_id=None,
        utm={"utm_source": "yandex", "utm_campaign": "winter"},
        referrer="https://ya.ru/search",
        page="https://shop.example/contacts",
    )
    assert await _ask(client, T0 + timedelta(minutes=5)) == expected
    # Both ends belong to it; any spelling of the number finds it.
    assert await _ask(client, T0) == expected
    assert await _ask(client, T0 + timedelta(minutes=30), "8 (495) 123-00-01") == expected
    # Before it, after it expired, on another number, or a number that is none: nothing.
    assert await _ask(client, T0 - timedelta(seconds=1)) is None
    assert await _ask(client, T0 + timedelta(minutes=30, seconds=1)) is None
    assert await _ask(client, T0 + timedelta(minutes=5), "+74951230002") is None
    assert await _ask(client, T0 + timedelta(minutes=5), "anonymous") is None
    # A naive time is UTC.
    assert await _ask(client, (T0 + timedelta(minutes=5)).replace(tzinfo=None)) == expected


async def test_overlapping_reservations_give_the_newest(client: TestClient) -> None:  # type: ignore[type-arg]
    channel_id, (first, second) = await _visitors(client, 2)
    await _hold(client, channel_id, first, T0, 30, utm={"utm_source": "old"})
    await _hold(
        client, channel_id, second, T0 + timedelta(minutes=10), 30, utm={"utm_source": "new"}
    )
    before = await _ask(client, T0 + timedelta(minutes=9))
    assert before is not None and before.utm == {"utm_source": "old"}
    during = await _ask(client, T0 + timedelta(minutes=20))
    assert during is not None and during.utm == {"utm_source": "new"}
    # The newer one ended later too; the first still covers nothing past its own end.
    late = await _ask(client, T0 + timedelta(minutes=35))
    assert late is not None and late.utm == {"utm_source": "new"}


async def test_the_contact_is_the_visitors_now_through_merges(client: TestClient) -> None:  # type: ignore[type-arg]
    """He got the number before he wrote; when he calls, his visitor has a contact, which a
    merge may have joined into another."""
    channel_id, (visitor,) = await _visitors(client, 1)
    await _hold(client, channel_id, visitor, T0, 30, page="https://shop.example/")
    at = T0 + timedelta(minutes=1)
    found = await _ask(client, at)
    assert found is not None and found.visitor_contact_id is None

    async def unit(session: AsyncSession) -> tuple[int, int]:
        loser, winner = Contact(name="Visitor"), Contact(name="Caller")
        session.add_all([loser, winner])
        await session.flush()
        await session.execute(
            update(WidgetVisitor).where(WidgetVisitor.id == visitor).values(contact_id=loser.id)
        )
        return loser.id, winner.id

    loser, winner = await client.app[CTX].write(unit)
    found = await _ask(client, at)
    assert found is not None and found.visitor_contact_id == loser

    async def merge(session: AsyncSession) -> None:
        await session.execute(
            update(Contact).where(Contact.id == loser).values(merged_into_id=winner)
        )

    await client.app[CTX].write(merge)
    found = await _ask(client, at)
    assert found is not None and found.visitor_contact_id == winner
    assert found.utm == {} and found.referrer is None and found.page == "https://shop.example/"


async def test_usage_counts_per_day_of_the_hubs_zone(client: TestClient) -> None:  # type: ignore[type-arg]
    """A number given at 21:30 UTC is given the next day in Moscow (HUB_TIMEZONE)."""
    channel_id, (visitor,) = await _visitors(client, 1)
    day = (datetime.now(UTC) - timedelta(days=3)).date()
    evening = datetime.combine(day, time(21, 30), UTC)
    await _hold(client, channel_id, visitor, evening, 30)
    admin = await make_operator(client, role="admin")
    resp = await client.get(
        f"/api/v1/channels/{channel_id}/number-pool?days=7", headers=admin.headers
    )
    assert resp.status == 200, await resp.text()
    days = {d["date"]: d["reservations"] for d in (await resp.json())["usage"]["days"]}
    assert days[day.isoformat()] == 0
    assert days[(day + timedelta(days=1)).isoformat()] == 1
    assert sum(days.values()) == 1 and len(days) == 7
