"""Sales reports for managers: the funnel of a period (``GET /api/v1/reports/funnel``).

Definitions, for the period ``[from, to)``:

* **leads in**: leads created in the period (leads belong to no pipeline, so a pipeline filter
  leaves them alone); **converted**: those of them that became or joined a deal.
* **deals created**: deals created in the period (of the pipeline, if one is chosen).
* **stage conversion** (per pipeline): the deals created in the period are the cohort. A deal
  *reached* an open stage if, before ``to``, it was ever moved into that stage or into a later
  open stage of its pipeline (``stage_changes``, the initial placement included), or it was won
  before ``to``: a deal that skips a stage still passed it, and a deal moved back keeps the
  furthest stage it reached. The conversion from stage k to the next is
  ``reached(k+1) / reached(k)``; after the last open stage comes ``won``.
* **won, lost, win rate, sums, deal length**: deals *closed* in the period (``closed_at``):
  win rate is ``won / (won + lost)``, the won sum is per currency, and deal length is
  ``closed_at - created_at`` in whole seconds (average rounded, median by nearest rank).
* **lost reasons by stage**: deals lost in the period, by the stage they were lost at
  (``lost_stage_id``) and reason.
* **first response**: see ``hub.crm_sync.response_times``.

Everything heavy is aggregated by the database with the indexes on ``created_at`` and
``closed_at`` and the report columns the write path keeps (``hub.crm_sync.report_columns``);
Python combines a few grouped rows.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync.deal_stats import ClosedStats, closed_in, closed_stats
from hub.crm_sync.models import Deal, DealStatus, Lead, Pipeline, Stage, StageChange, StageKind
from hub.crm_sync.report_period import Period
from hub.crm_sync.report_sql import ratio, report_read
from hub.crm_sync.response_times import empty_first_response, first_response
from hub.errors import Forbidden, NotFound
from hub.inbox.auth import Principal


def require_manager(actor: Principal) -> None:
    """Reports show every operator's figures: managers and admins only (403 for operators)."""
    if not actor.is_staff:
        raise Forbidden("reports are for managers and admins", code="manager_required")


def _created_in(period: Period, pipeline_id: int | None) -> list[Any]:
    where = [Deal.created_at >= period.start, Deal.created_at < period.end]
    if pipeline_id is not None:
        where.append(Deal.pipeline_id == pipeline_id)
    return where


async def check_pipeline(session: AsyncSession, pipeline_id: int | None) -> None:
    if pipeline_id is not None and await session.get(Pipeline, pipeline_id) is None:
        raise NotFound(f"pipeline {pipeline_id} not found", code="pipeline_not_found")


async def _stages(
    session: AsyncSession, period: Period, pipeline_id: int | None
) -> list[dict[str, Any]]:
    pipes = select(Pipeline).order_by(Pipeline.id)
    if pipeline_id is not None:
        pipes = pipes.where(Pipeline.id == pipeline_id)
    pipelines = list(await session.scalars(pipes))
    stage_rows = await session.scalars(
        select(Stage)
        .where(Stage.pipeline_id.in_([p.id for p in pipelines]))
        .order_by(Stage.pipeline_id, Stage.position, Stage.id)
    )
    by_pipe: dict[int, list[Stage]] = defaultdict(list)
    for stage in stage_rows:
        by_pipe[stage.pipeline_id].append(stage)
    open_stages = [s for p in pipelines for s in by_pipe[p.id] if s.kind == StageKind.OPEN.value]
    won_by: dict[int, int] = defaultdict(int)
    at_most: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    if open_stages:
        # The furthest open stage of its own pipeline each deal was moved into before the end:
        # kept on the deal (reach_position) for a deal whose last move came before the end,
        # which is every deal for a period up to now; for the others (a period in the past)
        # read from ix_stage_changes_reach alone (the few stages are mapped to positions here).
        position = case(
            *[
                (and_(StageChange.to_stage_id == s.id, Deal.pipeline_id == s.pipeline_id),
                 s.position)
                for s in open_stages
            ]
        )  # fmt: skip
        maxpos = (
            select(func.max(position))
            .where(StageChange.deal_id == Deal.id, StageChange.created_at < period.end)
            .correlate(Deal)
            .scalar_subquery()
        )
        reach = case(
            (or_(Deal.last_move_at.is_(None), Deal.last_move_at < period.end), Deal.reach_position),
            else_=maxpos,
        )
        won = case(
            (and_(Deal.status == DealStatus.WON.value, Deal.closed_at < period.end), 1), else_=0
        )
        cohort = (
            select(Deal.pipeline_id, won.label("won"), reach.label("maxpos"))
            .where(*_created_in(period, pipeline_id))
            .cte("cohort")
            .prefix_with("MATERIALIZED")
        )
        rows = await session.execute(
            select(cohort.c.pipeline_id, cohort.c.won, cohort.c.maxpos, func.count()).group_by(
                cohort.c.pipeline_id, cohort.c.won, cohort.c.maxpos
            )
        )
        for pid, is_won, maxpos_value, n in rows.all():
            if is_won:
                won_by[pid] += n
            elif maxpos_value is not None:
                at_most[pid][maxpos_value] += n
    out = []
    for pipe in pipelines:
        steps: list[dict[str, Any]] = []
        for stage in by_pipe[pipe.id]:
            if stage.kind != StageKind.OPEN.value:
                continue
            further = sum(n for pos, n in at_most[pipe.id].items() if pos >= stage.position)
            steps.append(
                {
                    "stage_id": stage.id,
                    "name": stage.name,
                    "kind": stage.kind,
                    "reached": won_by[pipe.id] + further,
                }
            )
        won_stage = next((s for s in by_pipe[pipe.id] if s.kind == StageKind.WON.value), None)
        steps.append(
            {
                "stage_id": won_stage.id if won_stage else None,
                "name": won_stage.name if won_stage else "won",
                "kind": StageKind.WON.value,
                "reached": won_by[pipe.id],
            }
        )
        for here, after in zip(steps, [*steps[1:], None], strict=True):
            here["conversion_to_next"] = (
                ratio(after["reached"], here["reached"]) if after is not None else None
            )
        out.append({"pipeline_id": pipe.id, "name": pipe.name, "stages": steps})
    return out


async def closed_figures(
    session: AsyncSession, period: Period, pipeline_id: int | None
) -> dict[str, Any]:
    """Won, lost, win rate, won sums and deal length of the deals closed in the period."""
    stats = await closed_stats(session, period, pipeline_id, [])
    return stats.get(None, ClosedStats()).figures()


async def _lost_reasons(
    session: AsyncSession, period: Period, pipeline_id: int | None
) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Deal.lost_stage_id, Stage.name, Deal.lost_reason, func.count().label("n"))
        .outerjoin(Stage, Stage.id == Deal.lost_stage_id)
        .where(*closed_in(period, pipeline_id), Deal.status == DealStatus.LOST.value)
        .group_by(Deal.lost_stage_id, Stage.name, Stage.position, Deal.lost_reason)
        .order_by(Stage.position, func.count().desc(), Deal.lost_stage_id, Deal.lost_reason)
    )
    return [
        {"stage_id": sid, "stage": name, "reason": reason, "count": n}
        for sid, name, reason, n in rows.all()
    ]


async def funnel(
    ctx: HubContext, actor: Principal, period: Period, pipeline_id: int | None = None
) -> dict[str, Any]:
    require_manager(actor)
    hours = ctx.company.hours

    async def counts(session: AsyncSession) -> dict[str, Any]:
        leads = (
            await session.execute(
                select(func.count(), func.count(Lead.deal_id)).where(
                    Lead.created_at >= period.start, Lead.created_at < period.end
                )
            )
        ).one()
        created = await session.scalar(
            select(func.count()).select_from(Deal).where(*_created_in(period, pipeline_id))
        )
        return {
            "leads_in": leads[0],
            "leads_converted": leads[1],
            "deals_created": int(created or 0),
            **await closed_figures(session, period, pipeline_id),
            "lost_reasons": await _lost_reasons(session, period, pipeline_id),
        }

    async def response(session: AsyncSession) -> dict[str, Any]:
        figures = await first_response(session, period, hours=hours)
        return {**figures.get(None, empty_first_response()), "working_hours": hours is not None}

    await report_read(ctx, lambda session: check_pipeline(session, pipeline_id))
    # Three independent reads on three connections: the database works on them at once.
    main, stages, first = await asyncio.gather(
        report_read(ctx, counts),
        report_read(ctx, lambda session: _stages(session, period, pipeline_id)),
        report_read(ctx, response),
    )
    return {
        "period": period.to_dict(),
        "pipeline_id": pipeline_id,
        **main,
        "pipelines": stages,
        "first_response": first,
    }
