"""Where a call came from: the call's attribution, its lead's first touch, the caller's card.

In order of what says most: the website visit that held the tracking number when the call
came (dynamic number insertion: ``number_pool.attribution_for_call``; the caller then joins
that visitor's contact), then the visit the provider attributed the call to (Calltouch sends
its UTM, page and referrer), then the tracking number's label (an admin's source and campaign
for the advert that prints it, ``tracking_numbers``). The number is the tracking number the
provider names, else the number the customer dialled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.call_event import CallEvent
from hub.context import HubContext
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


async def _pool_visit(ctx: HubContext, ev: CallEvent, number: str) -> VisitAttribution | None:
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
