"""Calls left ringing too long count as missed: the sweep behind a calls channel's
``answer_within_s``.

A provider reports a call that nobody answers when it ends, which may be minutes later or
never (a lost event). Every ``HUB_CALL_SWEEP_INTERVAL_S`` the sweep finds the inbound calls of
channels that set ``answer_within_s`` still ringing past it, and folds a "missed" into each,
through the same fold as the provider's events (``record_call_events``): the call shows as
missed, its "call back" task is made, and if the call is answered after all, the answer (a
stronger stage) wins and closes the task, as for any missed call.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.call_event import CallEvent
from hub.context import HubContext
from hub.crm_sync.call_tracking import CallPolicy, record_call_events
from hub.db import utcnow
from hub.inbox.item_models import CallItem
from hub.inbox.models import Channel
from hub.worker import PeriodicWorker

#: Calls older than this are left as they are (a hub that was down for a day does not fill
#: the task list with yesterday's calls).
LOOK_BACK = timedelta(hours=6)
BATCH = 200


async def sweep_ringing(ctx: HubContext) -> int:
    """Fold "missed" into every call ringing past its channel's limit; how many."""
    now = utcnow()

    async def query(session: AsyncSession) -> list[tuple[int, dict[str, object], list[str]]]:
        channels = (await session.execute(select(Channel.id, Channel.config))).all()
        out = []
        for channel_id, config in channels:
            limit = (config or {}).get("answer_within_s")
            if not isinstance(limit, int) or "provider" not in (config or {}):
                continue
            rows = await session.scalars(
                select(CallItem.provider_call_id)
                .where(
                    CallItem.channel_id == channel_id,
                    CallItem.status == "ringing",
                    CallItem.direction == "inbound",
                    CallItem.started_at <= now - timedelta(seconds=limit),
                    CallItem.started_at >= now - LOOK_BACK,
                )
                .limit(BATCH)
            )
            ids = [str(r) for r in rows if r]
            if ids:
                out.append((channel_id, dict(config), ids))
        return out

    found = await ctx.read(query)
    done = 0
    for channel_id, config, call_ids in found:
        events = [
            CallEvent(channel_id=channel_id, call_id=call_id, kind="end", stage="missed")
            for call_id in call_ids
        ]
        await record_call_events(ctx, CallPolicy.of(config), events)
        done += len(events)
    return done


class CallSweep(PeriodicWorker):
    """The background loop; ``run_once`` is one pass (tests call it directly)."""

    name = "call-sweep"

    def __init__(self, ctx: HubContext) -> None:
        super().__init__(
            interval_s=ctx.settings.call_sweep_interval_s,
            backoff_s=ctx.settings.worker_backoff_s,
        )
        self._ctx = ctx

    def busy(self, done: int) -> bool:
        return done >= BATCH

    async def run_once(self) -> int:
        return await sweep_ringing(self._ctx)
