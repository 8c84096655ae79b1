"""Pipelines and their stages, and the lost reasons list: read by everyone, made by managers.

A new pipeline gets the open stages it is given, in order, then a won and a lost stage, so
every pipeline can close a deal either way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync.models import LostReason, Pipeline, Stage, StageKind
from hub.crm_sync.serialize import lost_reason_dict, pipeline_dict
from hub.errors import Conflict, Forbidden, InvalidInput
from hub.events import Event, PipelineCreated, Recipients
from hub.inbox.auth import Principal
from hub.inbox.models import Operator

MAX_STAGES = 20


async def list_pipelines(ctx: HubContext) -> dict[str, Any]:
    async def query(session: AsyncSession) -> dict[str, Any]:
        pipelines = (await session.scalars(select(Pipeline).order_by(Pipeline.id))).all()
        stages = (await session.scalars(select(Stage))).all()
        by_pipeline: dict[int, list[Stage]] = {}
        for stage in stages:
            by_pipeline.setdefault(stage.pipeline_id, []).append(stage)
        return {"items": [pipeline_dict(p, by_pipeline.get(p.id, [])) for p in pipelines]}

    return await ctx.read(query)


async def list_lost_reasons(ctx: HubContext) -> dict[str, Any]:
    async def query(session: AsyncSession) -> dict[str, Any]:
        rows = await session.scalars(
            select(LostReason)
            .where(LostReason.is_active.is_(True))
            .order_by(LostReason.position, LostReason.id)
        )
        return {"items": [lost_reason_dict(r) for r in rows]}

    return await ctx.read(query)


async def add_lost_reason(ctx: HubContext, actor: Principal, name: str) -> dict[str, Any]:
    """A new reason at the end of the list (managers and admins); names are unique, any case."""
    if not actor.is_staff:
        raise Forbidden("only managers and admins keep the lost reasons", code="forbidden")
    name = name.strip()[:200]
    if not name:
        raise InvalidInput("the reason needs a name", code="invalid_name")

    async def unit(session: AsyncSession) -> dict[str, Any]:
        rows = (await session.scalars(select(LostReason))).all()
        if any(r.name.casefold() == name.casefold() for r in rows):
            raise Conflict(f"the reason {name!r} exists", code="reason_exists")
        reason = LostReason(
            name=name, position=max((r.position for r in rows), default=-1) + 1, is_active=True
        )
        session.add(reason)
        await session.flush()
        return lost_reason_dict(reason)

    return await ctx.write(unit, key="lost_reasons")


def _clean_names(names: list[str]) -> list[str]:
    cleaned = [n.strip()[:200] for n in names]
    if not cleaned or len(cleaned) > MAX_STAGES or any(not n for n in cleaned):
        raise InvalidInput(
            f"a pipeline has 1 to {MAX_STAGES} open stages with names", code="invalid_stages"
        )
    if len({n.casefold() for n in cleaned}) != len(cleaned):
        raise InvalidInput("stage names repeat", code="invalid_stages")
    return cleaned


async def create_pipeline(
    ctx: HubContext,
    actor: Principal,
    *,
    name: str,
    stages: list[str],
    won_name: str = "Won",
    lost_name: str = "Lost",
    is_default: bool = False,
) -> dict[str, Any]:
    if not actor.is_staff:
        raise Forbidden("only managers and admins make pipelines", code="forbidden")
    name = name.strip()
    if not name:
        raise InvalidInput("the pipeline needs a name", code="invalid_name")
    open_names = _clean_names(stages)
    closing = [won_name.strip()[:200] or "Won", lost_name.strip()[:200] or "Lost"]
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        if is_default:
            await session.execute(
                update(Pipeline)
                .values(is_default=False)
                .execution_options(synchronize_session=False)
            )
        pipeline = Pipeline(name=name[:200], is_default=is_default)
        session.add(pipeline)
        await session.flush()
        kinds = [StageKind.OPEN] * len(open_names) + [StageKind.WON, StageKind.LOST]
        rows = [
            Stage(pipeline_id=pipeline.id, name=n, position=i, kind=k.value)
            for i, (n, k) in enumerate(zip([*open_names, *closing], kinds, strict=True))
        ]
        session.add_all(rows)
        await session.flush()
        data = pipeline_dict(pipeline, rows)
        everyone = (
            await session.scalars(select(Operator.id).where(Operator.is_active.is_(True)))
        ).all()
        events.append(PipelineCreated(Recipients(True, frozenset(), frozenset(everyone)), data))
        return data

    data = await ctx.write(unit)
    await ctx.publish(*events)
    return data
