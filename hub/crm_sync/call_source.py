"""Where a call came from: the call's attribution and its lead's first touch.

In order of what says most: the visit the provider attributed the call to (Calltouch sends
its UTM, page and referrer), then the tracking number's label (an admin's source and campaign
for the advert that prints it, ``tracking_numbers``). The number is the tracking number the
provider names, else the number the customer dialled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.channels.call_event import CallEvent
from hub.context import HubContext
from hub.crm_sync.tracking_numbers import labels

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
    #: What the call shows (``method``: provider or tracking_number, and the values).
    attribution: dict[str, Any] = field(default_factory=dict)
    #: What the lead's source is read from (``first_touch`` of the call's conversation).
    first_touch: dict[str, Any] = field(default_factory=dict)


def _visit(method: str, number: str | None, values: dict[str, Any]) -> CallSource:
    clean = {k: str(v)[:2000] for k, v in values.items() if v}
    touch = {_TOUCH[k]: v for k, v in clean.items() if k in _TOUCH}
    return CallSource({"method": method, "tracking_number": number, **clean}, touch)


async def source_of(ctx: HubContext, ev: CallEvent) -> CallSource | None:
    number = ev.tracking_number or ev.called
    if ev.attribution:
        return _visit("provider", number, dict(ev.attribution))
    label = await labels(ctx).get(number)
    if label:
        return _visit("tracking_number", number, dict(label))
    return None
