"""Where a call came from: the call's attribution, its lead's first touch, the caller's card.

In order of what says most: the website visit that held the tracking number when the call
came (dynamic number insertion: ``number_pool.attribution_for_call``; the caller then joins
that visitor's contact), then the visit the provider attributed the call to (Calltouch sends
its UTM, page and referrer), then the tracking number's label (an admin's source and campaign
for the advert that prints it, ``tracking_numbers``). The number is the tracking number the
provider names, else the number the customer dialled.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.call_event import CallEvent
from hub.context import HubContext
from hub.crm_sync.number_models import NumberReservation, PoolNumber
from hub.crm_sync.number_pool import VisitAttribution, attribution_for_call
from hub.crm_sync.tracking_numbers import labels
from hub.db import utcnow

#: A visit's keys as the lead's first touch names them (``rules.lead_source``).
_TOUCH = {
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "utm_term": "utm_term",
    "utm_content": "utm_content",
    "referrer": "referrer",
    "page": "url",
}


@dataclass(frozen=True, slots=True)
class CallSource:
    #: What the call shows (``method``: visit, provider or tracking_number, and the values).
    attribution: dict[str, Any] = field(default_factory=dict)
    #: What the lead's source is read from (``first_touch`` of the call's conversation).
    first_touch: dict[str, Any] = field(default_factory=dict)
    #: The website visitor's contact the caller is (dynamic number insertion).
    visitor_contact_id: int | None = None


def _visit(method: str, number: str | None, values: dict[str, Any]) -> CallSource:
    clean = {k: str(v)[:2000] for k, v in values.items() if v}
    touch = {_TOUCH[k]: v for k, v in clean.items() if k in _TOUCH}
    return CallSource({"method": method, "tracking_number": number, **clean}, touch)


#: A call's pool number is looked up only if it was in a pool or held lately: calls are many,
#: pool numbers few. The set is read at most every ``POOL_TTL_S`` per process; "lately" is
#: wide, as a provider may report a call long after it (a call past it is not attributed).
POOL_TTL_S = 5.0
HELD_WITHIN = timedelta(days=2)


class PoolNumbers:
    def __init__(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self._read_at = -POOL_TTL_S
        self._numbers: frozenset[str] = frozenset()
        self._loading: asyncio.Future[None] | None = None

    async def has(self, number: str) -> bool:
        if time.monotonic() - self._read_at >= POOL_TTL_S:
            if self._loading is None or self._loading.done():
                self._loading = asyncio.ensure_future(self._load())
            await asyncio.shield(self._loading)
        return number in self._numbers

    async def _load(self) -> None:
        started = time.monotonic()
        since = utcnow() - HELD_WITHIN

        async def query(session: AsyncSession) -> frozenset[str]:
            pooled = await session.scalars(select(PoolNumber.number))
            held = await session.scalars(
                select(NumberReservation.number)
                .where(NumberReservation.expires_at >= since)
                .distinct()
            )
            return frozenset([*pooled, *held])

        self._numbers = await self._ctx.read(query)
        self._read_at = started


def pool_numbers(ctx: HubContext) -> PoolNumbers:
    """The context's one cache."""
    found = ctx.caches.get("pool_numbers")
    if not isinstance(found, PoolNumbers):
        found = ctx.caches["pool_numbers"] = PoolNumbers(ctx)
    return found


async def _pool_visit(ctx: HubContext, ev: CallEvent, number: str) -> VisitAttribution | None:
    if not await pool_numbers(ctx).has(number):
        return None
    at = ev.started_at or ev.answered_at or ev.ended_at or utcnow()

    async def query(session: AsyncSession) -> VisitAttribution | None:
        return await attribution_for_call(session, number, at)

    return await ctx.read(query)


async def source_of(ctx: HubContext, ev: CallEvent) -> CallSource | None:
    number = ev.tracking_number or ev.called
    if number is not None:
        visit = await _pool_visit(ctx, ev, number)
        if visit is not None:
            values = {**visit.utm, "referrer": visit.referrer, "page": visit.page}
            found = _visit("visit", number, values)
            return CallSource(found.attribution, found.first_touch, visit.visitor_contact_id)
    if ev.attribution:
        return _visit("provider", number, dict(ev.attribution))
    label = await labels(ctx).get(number)
    if label:
        return _visit("tracking_number", number, dict(label))
    return None
