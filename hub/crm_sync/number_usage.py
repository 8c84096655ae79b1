"""How a site's pool of tracking numbers is used: held now, given out per day, ran out per day.

A pool too small for its site's visitors runs out, and then calls come in on the default number
with no visit to attribute them to; these figures tell the admin to add numbers. Days are the
hub's (``HUB_TIMEZONE``): the database counts per quarter hour of UTC, which every zone's
midnight falls on, and the quarters are summed into local days here, the same on both backends.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.crm_sync.number_models import NumberPoolMiss, NumberReservation, PoolNumber
from hub.crm_sync.report_period import zone
from hub.crm_sync.report_sql import epoch_seconds
from hub.db import utcnow
from hub.inbox.serialize import iso

QUARTER_S = 900
MAX_DAYS = 90


async def _per_quarter(
    session: AsyncSession, column: Any, channel_column: Any, channel_id: int, since: datetime
) -> Counter[int]:
    dialect = session.get_bind().dialect.name
    quarter = epoch_seconds(column, dialect) // QUARTER_S
    rows = await session.execute(
        select(quarter, func.count())
        .where(channel_column == channel_id, column >= since)
        .group_by(quarter)
    )
    return Counter({int(q): int(n) for q, n in rows.all()})


def _local_days(quarters: Counter[int], tz_name: str) -> Counter[str]:
    tz = zone(tz_name)
    days: Counter[str] = Counter()
    for quarter, count in quarters.items():
        day = datetime.fromtimestamp(quarter * QUARTER_S, UTC).astimezone(tz).date()
        days[day.isoformat()] += count
    return days


async def pool_usage(
    session: AsyncSession, channel_id: int, tz_name: str, days: int
) -> dict[str, Any]:
    """Numbers held now, and reservations and misses on each of the last ``days`` local days
    (today included, oldest first)."""
    now = utcnow()
    tz = zone(tz_name)
    today = now.astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tz).astimezone(UTC)
    size = await session.scalar(
        select(func.count(PoolNumber.id)).where(PoolNumber.channel_id == channel_id)
    )
    held = await session.scalar(
        select(func.count(func.distinct(PoolNumber.id)))
        .join(NumberReservation, NumberReservation.number == PoolNumber.number)
        .where(PoolNumber.channel_id == channel_id, NumberReservation.expires_at > now)
    )
    given = _local_days(
        await _per_quarter(
            session,
            NumberReservation.reserved_at,
            NumberReservation.channel_id,
            channel_id,
            since,
        ),
        tz_name,
    )
    missed = _local_days(
        await _per_quarter(
            session, NumberPoolMiss.at, NumberPoolMiss.channel_id, channel_id, since
        ),
        tz_name,
    )
    last_miss = await session.scalar(
        select(func.max(NumberPoolMiss.at)).where(NumberPoolMiss.channel_id == channel_id)
    )
    dates = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    return {
        "pool_size": size or 0,
        "held_now": held or 0,
        "free_now": max((size or 0) - (held or 0), 0),
        "reservations": sum(given[d] for d in dates),
        "ran_out": sum(missed[d] for d in dates),
        "last_ran_out_at": iso(last_miss),
        "days": [{"date": d, "reservations": given[d], "ran_out": missed[d]} for d in dates],
    }
