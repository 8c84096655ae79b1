"""The calls report: answered and missed calls per operator and per tracking number, and how
long missed calls waited to be called back, for a period (managers and admins).

Calls come from the calls channels' timeline items (``message_calls`` rows with a provider
call id), by the time each started (else when it was stored). A missed call counts as called
back by the first later answered call with the same number, whichever way it went (the
customer called again and got through, or an operator called him); its wait runs from the
missed call's end (else start) to that call's answer (else start).
"""

from __future__ import annotations

from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync.report_period import Period
from hub.crm_sync.reports import require_manager
from hub.crm_sync.tracking_numbers import TrackingNumber
from hub.inbox.auth import Principal
from hub.inbox.item_models import CallItem
from hub.inbox.models import Message

UNANSWERED = ("missed", "busy")
#: Calls read at most, for a period (a report, not an export).
MAX_CALLS = 100_000


def _when(call: CallItem, stored: datetime) -> datetime:
    return call.started_at or call.answered_at or call.ended_at or stored


def _count(groups: dict[str, dict[str, int]], key: str, status: str) -> None:
    row = groups.setdefault(key, {"answered": 0, "missed": 0})
    if status == "answered":
        row["answered"] += 1
    elif status in UNANSWERED:
        row["missed"] += 1


async def calls_report(
    ctx: HubContext, actor: Principal, period: Period, _pipeline_id: int | None = None
) -> dict[str, Any]:
    require_manager(actor)

    async def query(session: AsyncSession) -> dict[str, Any]:
        rows = (
            await session.execute(
                select(CallItem, Message.created_at)
                .join(Message, Message.id == CallItem.message_id)
                .where(CallItem.provider_call_id.is_not(None))
                .order_by(Message.id)
                .limit(MAX_CALLS)
            )
        ).all()
        labels = {n.number: n for n in await session.scalars(select(TrackingNumber))}
        return _figures(period, [(call, stored) for call, stored in rows], labels)

    return await ctx.read(query)


def _figures(
    period: Period,
    rows: list[tuple[CallItem, datetime]],
    labels: dict[str, TrackingNumber],
) -> dict[str, Any]:
    in_period = [(c, _when(c, s)) for c, s in rows if period.start <= _when(c, s) < period.end]
    operators: dict[str, dict[str, int]] = {}
    numbers: dict[str, dict[str, int]] = {}
    for call, _at in in_period:
        if call.direction != "inbound":
            continue
        if call.status == "answered":
            _count(operators, call.operator or "", "answered")
        number = call.tracking_number or call.to_number
        _count(numbers, number, call.status)
    waits: list[float] = []
    open_missed = 0
    answered_by_number: dict[str, list[datetime]] = {}
    for call, stored in rows:
        if call.status == "answered" and call.from_number:
            answered_by_number.setdefault(call.from_number, []).append(
                call.answered_at or _when(call, stored)
            )
    missed = [
        (c, at)
        for c, at in in_period
        if c.direction == "inbound" and c.status in UNANSWERED and c.from_number
    ]
    for call, at in missed:
        since = call.ended_at or at
        later = [t for t in answered_by_number.get(call.from_number, []) if t >= since]
        if later:
            waits.append((min(later) - since).total_seconds())
        else:
            open_missed += 1
    return {
        "period": period.to_dict(),
        "by_operator": [
            {"operator": name or None, **counts} for name, counts in sorted(operators.items())
        ],
        "by_tracking_number": [
            {
                "tracking_number": number or None,
                "source": labels[number].source if number in labels else None,
                "campaign": labels[number].campaign if number in labels else None,
                **counts,
            }
            for number, counts in sorted(numbers.items())
        ],
        "callbacks": {
            "missed": len(missed),
            "called_back": len(waits),
            "not_called_back": open_missed,
            "median_s": round(median(waits)) if waits else None,
            "max_s": round(max(waits)) if waits else None,
        },
    }
