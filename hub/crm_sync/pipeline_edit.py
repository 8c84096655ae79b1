"""Changing pipelines after they are made: their name and default, their stages (added,
renamed, moved, removed) and the lost reasons list (renamed, retired). Managers and admins.

A pipeline's open stages stay numbered 0, 1, … in order, then its won and its lost stage, which
can be renamed but not moved or removed, so every pipeline can still close a deal either way. A
stage that a deal is on or ever passed through is not removed (its history and the reports name
it): move the deals first, or rename it. A retired lost reason leaves the list; deals lost for it
keep its name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync.models import Deal, LostReason, Pipeline, Stage, StageChange, StageKind
from hub.crm_sync.pipelines import MAX_STAGES
from hub.crm_sync.serialize import lost_reason_dict, pipeline_dict
from hub.errors import Conflict, Forbidden, InvalidInput, NotFound
from hub.events import Event, LostReasonsUpdated, PipelineUpdated, Recipients
from hub.inbox.auth import Principal
from hub.inbox.models import Operator


def _require_staff(actor: Principal) -> None:
    if not actor.is_staff:
        raise Forbidden("only managers and admins change pipelines", code="forbidden")


def _clean_name(name: str, what: str) -> str:
    clean = name.strip()[:200]
    if not clean:
        raise InvalidInput(f"the {what} needs a name", code="invalid_name")
    return clean


async def _everyone(session: AsyncSession) -> Recipients:
    ids = (await session.scalars(select(Operator.id).where(Operator.is_active.is_(True)))).all()
    return Recipients(True, frozenset(), frozenset(ids))


async def _stages(session: AsyncSession, pipeline_id: int) -> list[Stage]:
    rows = await session.scalars(select(Stage).where(Stage.pipeline_id == pipeline_id))
    return sorted(rows, key=lambda s: (s.position, s.id))


def _renumber(open_stages: list[Stage], closing: list[Stage]) -> None:
    for position, stage in enumerate([*open_stages, *closing]):
        stage.position = position


def _split(stages: list[Stage]) -> tuple[list[Stage], list[Stage]]:
    open_stages = [s for s in stages if s.kind == StageKind.OPEN.value]
    return open_stages, [s for s in stages if s.kind != StageKind.OPEN.value]


def _check_unique(stages: list[Stage], name: str, skip: Stage | None = None) -> None:
    if any(s is not skip and s.name.casefold() == name.casefold() for s in stages):
        raise Conflict(f"the pipeline has a stage named {name!r}", code="stage_exists")


async def _finish(session: AsyncSession, pipeline: Pipeline, events: list[Event]) -> dict[str, Any]:
    await session.flush()
    data = pipeline_dict(pipeline, await _stages(session, pipeline.id))
    events.append(PipelineUpdated(await _everyone(session), data))
    return data


async def _write(
    ctx: HubContext, unit: Any, events: list[Event], key: str = "pipelines"
) -> dict[str, Any]:
    data: dict[str, Any] = await ctx.write(unit, key=key)
    await ctx.publish(*events)
    return data


async def _pipeline(session: AsyncSession, pipeline_id: int) -> Pipeline:
    pipeline = await session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise NotFound(f"pipeline {pipeline_id} not found", code="pipeline_not_found")
    return pipeline


async def _stage(session: AsyncSession, stage_id: int) -> Stage:
    stage = await session.get(Stage, stage_id)
    if stage is None:
        raise NotFound(f"stage {stage_id} not found", code="stage_not_found")
    return stage


async def update_pipeline(
    ctx: HubContext,
    actor: Principal,
    pipeline_id: int,
    *,
    name: str | None = None,
    is_default: bool | None = None,
) -> dict[str, Any]:
    """Rename a pipeline or make it the default (the one new deals go to); there is always
    one default, so a default is replaced, never just unset."""
    _require_staff(actor)
    clean = _clean_name(name, "pipeline") if name is not None else None
    if is_default is False:
        raise InvalidInput(
            "make another pipeline the default instead", code="default_pipeline_required"
        )
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        pipeline = await _pipeline(session, pipeline_id)
        if clean is not None:
            pipeline.name = clean
        if is_default and not pipeline.is_default:
            await session.execute(
                update(Pipeline)
                .where(Pipeline.id != pipeline_id)
                .values(is_default=False)
                .execution_options(synchronize_session=False)
            )
            pipeline.is_default = True
        return await _finish(session, pipeline, events)

    return await _write(ctx, unit, events)


async def add_stage(
    ctx: HubContext, actor: Principal, pipeline_id: int, name: str, position: int | None = None
) -> dict[str, Any]:
    """A new open stage at ``position`` among the open ones (0 first), at their end without."""
    _require_staff(actor)
    clean = _clean_name(name, "stage")
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        pipeline = await _pipeline(session, pipeline_id)
        stages = await _stages(session, pipeline_id)
        _check_unique(stages, clean)
        open_stages, closing = _split(stages)
        if len(open_stages) >= MAX_STAGES:
            raise InvalidInput(
                f"a pipeline has at most {MAX_STAGES} open stages", code="invalid_stages"
            )
        stage = Stage(pipeline_id=pipeline_id, name=clean, position=0, kind=StageKind.OPEN.value)
        session.add(stage)
        at = len(open_stages) if position is None else max(0, min(position, len(open_stages)))
        open_stages.insert(at, stage)
        _renumber(open_stages, closing)
        return await _finish(session, pipeline, events)

    return await _write(ctx, unit, events)


async def update_stage(
    ctx: HubContext,
    actor: Principal,
    stage_id: int,
    *,
    name: str | None = None,
    position: int | None = None,
) -> dict[str, Any]:
    """Rename a stage, or move an open one to ``position`` among the open ones (0 first)."""
    _require_staff(actor)
    clean = _clean_name(name, "stage") if name is not None else None
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        stage = await _stage(session, stage_id)
        pipeline = await _pipeline(session, stage.pipeline_id)
        stages = await _stages(session, stage.pipeline_id)
        if clean is not None:
            _check_unique(stages, clean, skip=stage)
            stage.name = clean
        if position is not None:
            if stage.kind != StageKind.OPEN.value:
                raise InvalidInput(
                    "the won and lost stages stay at the end", code="closing_stage_fixed"
                )
            open_stages, closing = _split(stages)
            open_stages.remove(stage)
            open_stages.insert(max(0, min(position, len(open_stages))), stage)
            _renumber(open_stages, closing)
        return await _finish(session, pipeline, events)

    return await _write(ctx, unit, events)


async def remove_stage(ctx: HubContext, actor: Principal, stage_id: int) -> dict[str, Any]:
    """Remove an open stage no deal is on or ever passed through; answers the pipeline."""
    _require_staff(actor)
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        stage = await _stage(session, stage_id)
        pipeline = await _pipeline(session, stage.pipeline_id)
        if stage.kind != StageKind.OPEN.value:
            raise InvalidInput("the won and lost stages stay", code="closing_stage_fixed")
        open_stages, closing = _split(await _stages(session, stage.pipeline_id))
        if len(open_stages) == 1:
            raise InvalidInput("a pipeline keeps at least one open stage", code="invalid_stages")
        used = await session.scalar(
            select(Deal.id)
            .where(or_(Deal.stage_id == stage_id, Deal.lost_stage_id == stage_id))
            .limit(1)
        ) or await session.scalar(
            select(StageChange.id)
            .where(or_(StageChange.to_stage_id == stage_id, StageChange.from_stage_id == stage_id))
            .limit(1)
        )
        if used is not None:
            raise Conflict(
                "deals are on this stage or passed through it: move them, or rename the stage",
                code="stage_in_use",
            )
        open_stages.remove(stage)
        await session.delete(stage)
        _renumber(open_stages, closing)
        return await _finish(session, pipeline, events)

    return await _write(ctx, unit, events)


async def update_lost_reason(
    ctx: HubContext,
    actor: Principal,
    reason_id: int,
    *,
    name: str | None = None,
    active: bool | None = None,
) -> dict[str, Any]:
    """Rename a lost reason or retire it (``active: false``: it leaves the list, deals lost
    for it keep it) or bring it back."""
    _require_staff(actor)
    clean = _clean_name(name, "reason") if name is not None else None
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        reason = await session.get(LostReason, reason_id)
        if reason is None:
            raise NotFound(f"lost reason {reason_id} not found", code="lost_reason_not_found")
        rows = (await session.scalars(select(LostReason))).all()
        if clean is not None:
            if any(r is not reason and r.name.casefold() == clean.casefold() for r in rows):
                raise Conflict(f"the reason {clean!r} exists", code="reason_exists")
            reason.name = clean
        if active is not None:
            reason.is_active = active
        await session.flush()
        listed = sorted((r for r in rows if r.is_active), key=lambda r: (r.position, r.id))
        items = tuple(lost_reason_dict(r) for r in listed)
        events.append(LostReasonsUpdated(await _everyone(session), items))
        return {**lost_reason_dict(reason), "active": reason.is_active}

    return await _write(ctx, unit, events, key="lost_reasons")
