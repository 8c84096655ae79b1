"""Call tracking: a telephony channel's events become calls on their callers' timelines,
their sources become leads, and missed calls become "call back" tasks.

``record_call_events`` is the named write a calls channel's webhook calls: it works out where
a call came from (the visit that held the tracking number, the provider's attribution, or the
number's label: ``call_source``), folds the events into their calls through the write lane
(``hub.inbox.call_fold``), and then follows up what the fold changed (``follow_up``): a call
that became missed makes a "call back" task for the right operator, due after the time the
channel sets; a call that became answered closes the open "call back" tasks for its number
(the widget's callback requests' too, which carry the same title). The lead itself is made by
the lead intake from the call's new conversation, whose ``first_touch`` is the call's source.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.call_event import CallEvent
from hub.context import HubContext
from hub.crm_sync import call_source
from hub.crm_sync.models import Deal, DealStatus, Task, TaskStatus
from hub.crm_sync.serialize import task_dict
from hub.crm_sync.tasks import add_callback_task, callback_title
from hub.db import utcnow
from hub.events import Event, Recipients, TaskUpdated
from hub.inbox.call_fold import CallIn, Folded, FoldWrites

UNANSWERED = ("missed", "busy")


@dataclass(frozen=True, slots=True)
class CallPolicy:
    """What a channel sets for its missed calls (``hub.channels.calls.config``)."""

    answer_within_s: int | None = None
    callback_due_minutes: int = 15
    callback_operator_id: int | None = None

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> CallPolicy:
        return cls(
            config.get("answer_within_s"),
            int(config.get("callback_due_minutes", 15)),
            config.get("callback_operator_id"),
        )


def _fold_writes(ctx: HubContext) -> FoldWrites:
    """The context's one handler, so events share batches."""
    handler = ctx.batch_handlers.get("calls")
    if not isinstance(handler, FoldWrites):
        handler = ctx.batch_handlers["calls"] = FoldWrites(ctx.announce)
    return handler


async def record_call_events(
    ctx: HubContext, policy: CallPolicy, events: Sequence[CallEvent]
) -> list[Folded | None]:
    """Fold ``events`` into their calls, committed and announced; then follow them up."""
    items = []
    for ev in events:
        source = await call_source.source_of(ctx, ev) if ev.names_parties else None
        items.append(
            CallIn(
                ev,
                {"first_touch": source.first_touch} if source and source.first_touch else {},
                source.attribution if source else {},
            )
        )
    handler = _fold_writes(ctx)
    results = await asyncio.gather(
        *(
            ctx.writer.run_item(handler, item, ("call", item.event.channel_id, item.event.call_id))
            for item in items
        )
    )
    await ctx.publish()  # the batch announced its events: wait for the bus, as messages do
    await follow_up(ctx, policy, results)
    return list(results)


def _needs_callback(policy: CallPolicy, done: Folded, now: datetime) -> bool:
    call = done.call or {}
    if not call.get("from") or call.get("direction") != "inbound":
        return False  # a hidden number cannot be called back; an outbound call is ours
    status = call.get("status")
    if status in UNANSWERED:
        return done.before not in UNANSWERED
    started = call.get("started_at")
    if status == "ringing" and policy.answer_within_s is not None and started:
        rang = (now - datetime.fromisoformat(started)).total_seconds()
        return rang >= policy.answer_within_s
    return False


async def follow_up(ctx: HubContext, policy: CallPolicy, results: Sequence[Folded | None]) -> None:
    """Tasks for what the fold changed: one pass per call, however many of its events came."""
    now = utcnow()
    seen: set[int] = set()
    missed: list[Folded] = []
    answered: list[Folded] = []
    for done in results:
        if done is None or done.message_id is None or done.message_id in seen:
            continue
        if done.outcome not in ("opened", "changed"):
            continue
        seen.add(done.message_id)
        status = (done.call or {}).get("status")
        if status == "answered" and done.before != "answered" and (done.call or {}).get("from"):
            answered.append(done)
        elif _needs_callback(policy, done, now):
            missed.append(done)
    if not (missed or answered):
        return
    events: list[Event] = []

    async def unit(session: AsyncSession) -> None:
        events.clear()
        for done in missed:
            await _add_task(session, policy, done, now, events)
        for done in answered:
            await close_callbacks(session, str((done.call or {})["from"]), now, events)

    await ctx.write(unit)
    await ctx.publish(*events)


def _recipients(task: Task) -> Recipients:
    """Staff, its assignee and its author (as ``tasks`` sends its task events)."""
    ops = frozenset(o for o in (task.assignee_id, task.created_by_id) if o is not None)
    return Recipients(True, frozenset(), ops)


async def _add_task(
    session: AsyncSession, policy: CallPolicy, done: Folded, now: datetime, events: list[Event]
) -> None:
    assert done.contact_id is not None and done.call is not None
    deal_id = await session.scalar(
        select(Deal.id)
        .where(Deal.contact_id == done.contact_id, Deal.status == DealStatus.OPEN.value)
        .order_by(Deal.id.desc())
        .limit(1)
    )
    task = await add_callback_task(
        session,
        contact_id=done.contact_id,
        phone=str(done.call["from"]),
        assignee_id=done.assignee_id or policy.callback_operator_id,
        deal_id=deal_id,
        due_at=now + timedelta(minutes=policy.callback_due_minutes),
    )
    if task is not None:
        events.append(TaskUpdated(_recipients(task), task_dict(task, now)))


async def close_callbacks(
    session: AsyncSession, phone: str, now: datetime, events: list[Event]
) -> None:
    """Complete the open "call back" tasks for ``phone``, whoever's contact they are on (a
    widget's request and a missed call of the same person before their contacts merged)."""
    tasks = await session.scalars(
        select(Task).where(
            Task.kind == "callback",
            Task.title == callback_title(phone),
            Task.status == TaskStatus.OPEN.value,
        )
    )
    for task in tasks:
        task.status = TaskStatus.DONE.value
        task.done_at = now
        events.append(TaskUpdated(_recipients(task), task_dict(task, now)))
    await session.flush()
