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
from hub.inbox.contacts import surviving_contact
from hub.inbox.inbound_sql import BatchSql

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
        handler = ctx.batch_handlers["calls"] = FoldWrites(ctx.announce, close_answered)
    return handler


TASK_COLUMNS = (
    "id",
    "title",
    "kind",
    "due_at",
    "assignee_id",
    "deal_id",
    "contact_id",
    "status",
    "created_by_id",
    "created_at",
    "done_at",
)


def close_answered(sql: BatchSql, folded: list[Folded | None], now: datetime) -> list[Event]:
    """In the fold's transaction: complete the open "call back" tasks for the numbers whose
    call became answered, whoever's contact they are on (a widget's request and a missed call
    of the same person before their contacts merged): one statement for the batch."""
    phones = sorted(
        {
            str(done.call["from"])
            for done in folded
            if done is not None
            and done.outcome in ("opened", "changed")
            and done.call is not None
            and done.call.get("from")
            and done.call.get("status") == "answered"
            and done.before != "answered"
        }
    )
    if not phones:
        return []
    test, titles = sql.any_of([callback_title(p) for p in phones])
    rows = sql.fetch(
        "UPDATE tasks SET status = ?, done_at = ? WHERE kind = 'callback' AND status = ?"
        f" AND title {test} RETURNING {', '.join(TASK_COLUMNS)}",
        [TaskStatus.DONE.value, sql.time(now), TaskStatus.OPEN.value, *titles],
    )
    events: list[Event] = []
    for row in rows:
        values = dict(zip(TASK_COLUMNS, row, strict=True))
        for name in ("due_at", "created_at", "done_at"):
            values[name] = sql.read_time(values[name])
        task = Task(**values)
        events.append(TaskUpdated(_recipients(task), task_dict(task, now)))
    return events


async def record_call_events(
    ctx: HubContext, policy: CallPolicy, events: Sequence[CallEvent]
) -> list[Folded | None]:
    """Fold ``events`` into their calls, committed and announced; then follow them up."""
    items = []
    for ev in events:
        source = await call_source.source_of(ctx, ev) if ev.names_parties else None
        if source is None:
            items.append(CallIn(ev))
            continue
        touch = source.first_touch
        items.append(
            CallIn(
                ev,
                {"first_touch": touch} if touch else {},
                source.attribution,
                # A visit (not a number's label) shows on the caller's card as his latest touch.
                {"last_touch": touch}
                if touch and source.attribution["method"] != "tracking_number"
                else {},
                source.visitor_contact_id,
            )
        )
    handler = _fold_writes(ctx)
    writes = [
        ctx.writer.run_item(handler, item, ("call", item.event.channel_id, item.event.call_id))
        for item in items
    ]
    # A webhook brings one event as a rule: awaited as it is, without a task of its own.
    results = [await writes[0]] if len(writes) == 1 else await asyncio.gather(*writes)
    await ctx.publish()  # the batch announced its events: wait for the bus, as messages do
    await follow_up(ctx, policy, results)
    return list(results)


def _needs_callback(done: Folded) -> bool:
    """A call that became missed or busy (the provider said so, or it rang past the channel's
    ``answer_within_s``: ``call_sweep``) and can be called back."""
    call = done.call or {}
    if not call.get("from") or call.get("direction") != "inbound":
        return False  # a hidden number cannot be called back; an outbound call is ours
    return call.get("status") in UNANSWERED and done.before not in UNANSWERED


async def follow_up(ctx: HubContext, policy: CallPolicy, results: Sequence[Folded | None]) -> None:
    """The "call back" tasks of calls that became missed (the answered ones closed theirs in
    the fold's transaction: ``close_answered``): one pass per call, however many of its
    events came."""
    now = utcnow()
    seen: set[int] = set()
    missed: list[Folded] = []
    for done in results:
        if done is None or done.message_id is None or done.message_id in seen:
            continue
        if done.outcome not in ("opened", "changed"):
            continue
        seen.add(done.message_id)
        if _needs_callback(done):
            missed.append(done)
    if not missed:
        return
    events: list[Event] = []

    async def unit(session: AsyncSession) -> None:
        events.clear()
        for done in missed:
            await _add_task(session, policy, done, now, events)

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
    # The fold read the caller's contact; the lead intake may have merged it into another since
    # (a new caller with a known customer's phone): the task is the surviving contact's.
    contact = await surviving_contact(session, done.contact_id)
    contact_id = done.contact_id if contact is None else contact.id
    deal_id = await session.scalar(
        select(Deal.id)
        .where(Deal.contact_id == contact_id, Deal.status == DealStatus.OPEN.value)
        .order_by(Deal.id.desc())
        .limit(1)
    )
    task = await add_callback_task(
        session,
        contact_id=contact_id,
        phone=str(done.call["from"]),
        assignee_id=done.assignee_id or policy.callback_operator_id,
        deal_id=deal_id,
        due_at=now + timedelta(minutes=policy.callback_due_minutes),
    )
    if task is not None:
        events.append(TaskUpdated(_recipients(task), task_dict(task, now)))
