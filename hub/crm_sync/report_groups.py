"""The funnel's figures per operator (``/reports/operators``) and per source
(``/reports/sources``), with the definitions of ``hub.crm_sync.reports``.

* Per operator, deals count for their **owner**; first response counts for the operator who
  sent the first reply. Operators with nothing in the period are left out; deals without an
  owner show under ``operator_id: null``.
* Per source, the key is (channel, UTM source, UTM campaign): of the lead for leads, of the deal
  for deals, of the conversation's lead for first response.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Hashable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth import Principal
from hub.context import HubContext
from hub.crm_sync.models import Deal, DealStatus, Lead
from hub.crm_sync.report_period import Period, parse_working_hours
from hub.crm_sync.report_sql import durations, ratio, seconds_between
from hub.crm_sync.reports import check_pipeline, closed_in, require_manager, won_sums
from hub.crm_sync.response_times import empty_first_response, first_response
from hub.inbox.models import Operator


def _blank() -> dict[str, Any]:
    return {"leads_in": 0, "deals_created": 0, "deals_won": 0, "deals_lost": 0}


async def _deal_figures(
    session: AsyncSession,
    period: Period,
    pipeline_id: int | None,
    keys: list[Any],
    rows_out: dict[Hashable, dict[str, Any]],
) -> dict[Hashable, list[tuple[int, int]]]:
    """Deals created, won, lost, sums (and the deal-length histogram) per key."""
    dialect = session.get_bind().dialect.name

    def key_of(row: Any) -> Hashable:
        return row[0] if len(keys) == 1 else tuple(row[: len(keys)])

    created_where = [Deal.created_at >= period.start, Deal.created_at < period.end]
    if pipeline_id is not None:
        created_where.append(Deal.pipeline_id == pipeline_id)
    for row in await session.execute(
        select(*keys, func.count()).where(*created_where).group_by(*keys)
    ):
        rows_out.setdefault(key_of(row), _blank())["deals_created"] = row[-1]
    closed = closed_in(period, pipeline_id)
    sums: dict[Hashable, list[tuple[str, int]]] = defaultdict(list)
    for row in await session.execute(
        select(*keys, Deal.status, Deal.currency, func.count(), func.sum(Deal.amount_minor))
        .where(*closed)
        .group_by(*keys, Deal.status, Deal.currency)
    ):
        *_, status, currency, n, total = row
        figures = rows_out.setdefault(key_of(row), _blank())
        figures["deals_won" if status == DealStatus.WON.value else "deals_lost"] += n
        if status == DealStatus.WON.value:
            sums[key_of(row)].append((currency, int(total)))
    for key, figures in rows_out.items():
        figures["win_rate"] = ratio(
            figures["deals_won"], figures["deals_won"] + figures["deals_lost"]
        )
        figures["won_amount"] = won_sums(sums.get(key, []))
    length = seconds_between(Deal.created_at, Deal.closed_at, dialect)
    hist: dict[Hashable, list[tuple[int, int]]] = defaultdict(list)
    for row in await session.execute(
        select(*keys, length, func.count()).where(*closed).group_by(*keys, length)
    ):
        hist[key_of(row)].append((int(row[-2]), int(row[-1])))
    return hist


def _finish(
    rows: dict[Hashable, dict[str, Any]],
    hist: dict[Hashable, list[tuple[int, int]]],
    response: dict[Hashable, dict[str, Any]],
) -> None:
    for key in response:
        rows.setdefault(key, _blank())
    for key, figures in rows.items():
        figures.setdefault("win_rate", None)
        figures.setdefault("won_amount", [])
        length = durations(sorted(hist.get(key, [])))
        figures["deal_length"] = {k: length[k] for k in ("count", "avg_seconds", "median_seconds")}
        figures["first_response"] = response.get(key, empty_first_response())


async def by_operator(
    ctx: HubContext, actor: Principal, period: Period, pipeline_id: int | None = None
) -> dict[str, Any]:
    require_manager(actor)
    hours = parse_working_hours(ctx.settings.working_hours, ctx.settings.timezone)

    async def deals(session: AsyncSession) -> tuple[Any, Any]:
        rows: dict[Hashable, dict[str, Any]] = {}
        hist = await _deal_figures(session, period, pipeline_id, [Deal.owner_id], rows)
        return rows, hist

    await ctx.read(lambda session: check_pipeline(session, pipeline_id))
    (rows, hist), response = await asyncio.gather(
        ctx.read(deals),
        ctx.read(lambda session: first_response(session, period, group="operator", hours=hours)),
    )
    response = {k: v for k, v in response.items() if k is not None}
    _finish(rows, hist, response)

    async def names_of(session: AsyncSession) -> dict[int, str]:
        ids = [k for k in rows if isinstance(k, int)]
        found = await session.execute(
            select(Operator.id, Operator.name).where(Operator.id.in_(ids))
        )
        return {int(i): str(n) for i, n in found.all()}

    names = await ctx.read(names_of)
    items = [
        {"operator_id": key, "name": names.get(key) if isinstance(key, int) else None, **fig}
        for key, fig in rows.items()
    ]
    items.sort(key=lambda i: (i["operator_id"] is None, (i["name"] or "").lower()))
    return {"period": period.to_dict(), "pipeline_id": pipeline_id, "items": items}


async def by_source(
    ctx: HubContext, actor: Principal, period: Period, pipeline_id: int | None = None
) -> dict[str, Any]:
    require_manager(actor)
    hours = parse_working_hours(ctx.settings.working_hours, ctx.settings.timezone)

    async def leads_and_deals(session: AsyncSession) -> tuple[Any, Any]:
        rows: dict[Hashable, dict[str, Any]] = {}
        lead_keys = [Lead.source_channel, Lead.utm_source, Lead.utm_campaign]
        for *key, n in await session.execute(
            select(*lead_keys, func.count())
            .where(Lead.created_at >= period.start, Lead.created_at < period.end)
            .group_by(*lead_keys)
        ):
            rows.setdefault(tuple(key), _blank())["leads_in"] = n
        keys = [Deal.source_channel, Deal.utm_source, Deal.utm_campaign]
        hist = await _deal_figures(session, period, pipeline_id, keys, rows)
        return rows, hist

    await ctx.read(lambda session: check_pipeline(session, pipeline_id))
    (rows, hist), response = await asyncio.gather(
        ctx.read(leads_and_deals),
        ctx.read(lambda session: first_response(session, period, group="source", hours=hours)),
    )
    _finish(rows, hist, response)
    items = [
        {"source_channel": k[0], "utm_source": k[1], "utm_campaign": k[2], **fig}
        for k, fig in rows.items()
        if isinstance(k, tuple)
    ]
    items.sort(
        key=lambda i: (
            -i["leads_in"],
            -i["deals_created"],
            str(i["source_channel"]),
            str(i["utm_source"]),
            str(i["utm_campaign"]),
        )
    )
    return {"period": period.to_dict(), "pipeline_id": pipeline_id, "items": items}
