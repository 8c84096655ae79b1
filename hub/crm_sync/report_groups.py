"""The funnel's figures per operator (``/reports/operators``) and per source
(``/reports/sources``), with the definitions of ``hub.crm_sync.reports``.

* Per operator, deals count for their **owner**; first response counts for the operator who
  sent the first reply; customers' ratings for the operator they were credited to
  (``hub.crm_sync.report_ratings``). Operators with nothing in the period are left out; deals
  without an owner show under ``operator_id: null``.
* Per source, the key is (channel, UTM source, UTM campaign): of the lead for leads, of the deal
  for deals, of the conversation's lead for first response.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync.deal_stats import ClosedStats, closed_stats
from hub.crm_sync.models import Deal, Lead
from hub.crm_sync.report_period import Period
from hub.crm_sync.report_ratings import empty_rating, ratings_by_operator
from hub.crm_sync.report_sql import report_read
from hub.crm_sync.reports import check_pipeline, require_manager
from hub.crm_sync.response_times import empty_first_response, first_response
from hub.inbox.auth import Principal
from hub.inbox.models import Operator


def _blank() -> dict[str, Any]:
    return {"leads_in": 0, "deals_created": 0, "deals_won": 0, "deals_lost": 0}


async def _deal_figures(
    session: AsyncSession,
    period: Period,
    pipeline_id: int | None,
    keys: list[Any],
    rows_out: dict[Hashable, dict[str, Any]],
) -> None:
    """Deals created per key, then the closed deals' figures per key."""
    created_where = [Deal.created_at >= period.start, Deal.created_at < period.end]
    if pipeline_id is not None:
        created_where.append(Deal.pipeline_id == pipeline_id)
    for row in await session.execute(
        select(*keys, func.count()).where(*created_where).group_by(*keys)
    ):
        key: Hashable = row[0] if len(keys) == 1 else tuple(row[: len(keys)])
        rows_out.setdefault(key, _blank())["deals_created"] = row[-1]
    for key, stats in (await closed_stats(session, period, pipeline_id, keys)).items():
        rows_out.setdefault(key, _blank()).update(stats.figures())


def _finish(rows: dict[Hashable, dict[str, Any]], response: dict[Hashable, dict[str, Any]]) -> None:
    for key in response:
        rows.setdefault(key, _blank())
    empty = ClosedStats().figures()
    for key, figures in rows.items():
        for name, value in empty.items():
            figures.setdefault(name, value)
        figures["first_response"] = response.get(key, empty_first_response())


async def by_operator(
    ctx: HubContext, actor: Principal, period: Period, pipeline_id: int | None = None
) -> dict[str, Any]:
    require_manager(actor)
    hours = ctx.company.hours

    async def deals(session: AsyncSession) -> dict[Hashable, dict[str, Any]]:
        rows: dict[Hashable, dict[str, Any]] = {}
        await _deal_figures(session, period, pipeline_id, [Deal.owner_id], rows)
        return rows

    await report_read(ctx, lambda session: check_pipeline(session, pipeline_id))
    rows, response, rated = await asyncio.gather(
        report_read(ctx, deals),
        report_read(
            ctx, lambda session: first_response(session, period, group="operator", hours=hours)
        ),
        report_read(ctx, lambda session: ratings_by_operator(session, period)),
    )
    response = {k: v for k, v in response.items() if k is not None}
    for key in rated:
        rows.setdefault(key, _blank())  # an operator with ratings alone has a row too
    _finish(rows, response)
    for key, figures in rows.items():
        figures["rating"] = (
            rated.get(key, empty_rating()) if isinstance(key, int) else empty_rating()
        )

    async def names_of(session: AsyncSession) -> dict[int, str]:
        ids = [k for k in rows if isinstance(k, int)]
        found = await session.execute(
            select(Operator.id, Operator.name).where(Operator.id.in_(ids))
        )
        return {int(i): str(n) for i, n in found.all()}

    names = await report_read(ctx, names_of)
    # Leads have no owner: "leads in" is a per-source figure, not a per-operator one.
    items = [
        {
            "operator_id": key,
            "name": names.get(key) if isinstance(key, int) else None,
            **{k: v for k, v in fig.items() if k != "leads_in"},
        }
        for key, fig in rows.items()
    ]
    items.sort(key=lambda i: (i["operator_id"] is None, (i["name"] or "").lower()))
    return {"period": period.to_dict(), "pipeline_id": pipeline_id, "items": items}


async def by_source(
    ctx: HubContext, actor: Principal, period: Period, pipeline_id: int | None = None
) -> dict[str, Any]:
    require_manager(actor)
    hours = ctx.company.hours

    async def leads_and_deals(session: AsyncSession) -> dict[Hashable, dict[str, Any]]:
        rows: dict[Hashable, dict[str, Any]] = {}
        lead_keys = [Lead.source_channel, Lead.utm_source, Lead.utm_campaign]
        for *key, n in await session.execute(
            select(*lead_keys, func.count())
            .where(Lead.created_at >= period.start, Lead.created_at < period.end)
            .group_by(*lead_keys)
        ):
            rows.setdefault(tuple(key), _blank())["leads_in"] = n
        keys = [Deal.source_channel, Deal.utm_source, Deal.utm_campaign]
        await _deal_figures(session, period, pipeline_id, keys, rows)
        return rows

    await report_read(ctx, lambda session: check_pipeline(session, pipeline_id))
    rows, response = await asyncio.gather(
        report_read(ctx, leads_and_deals),
        report_read(
            ctx, lambda session: first_response(session, period, group="source", hours=hours)
        ),
    )
    _finish(rows, response)
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
