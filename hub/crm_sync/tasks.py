"""Tasks ("call back", "send the proposal"): made on a deal or a contact, with a due time and
an assignee, listed with an overdue flag, completed. Operators see the tasks assigned to them or
made by them; managers and admins see all (``access.visible_tasks``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync.access import get_visible_contact, get_visible_deal, visible_tasks
from hub.crm_sync.deals import check_owner
from hub.crm_sync.models import Deal, DealStatus, Task, TaskStatus
from hub.crm_sync.serialize import task_dict
from hub.db import MAX_ID, utcnow
from hub.errors import Conflict, InvalidInput, NotFound
from hub.events import Event, Recipients, TaskUpdated
from hub.inbox.auth import Principal
from hub.inbox.models import Conversation

MAX_TASKS = 500


@dataclass(frozen=True, slots=True)
class TaskFilter:
    status: str | None = "open"
    assignee: str | None = None  # "me" or an operator id
    deal_id: int | None = None
    contact_id: int | None = None
    overdue: bool = False
    #: Open tasks due before this time (ISO 8601 with its offset): the inbox's "due today".
    due_before: str | None = None
    limit: int = 100


def _recipients(task: Task) -> Recipients:
    ops = frozenset(o for o in (task.assignee_id, task.created_by_id) if o is not None)
    return Recipients(True, frozenset(), ops)


async def create_task(
    ctx: HubContext,
    actor: Principal,
    *,
    title: str,
    due_at: datetime | None = None,
    assignee_id: int | None = None,
    deal_id: int | None = None,
    contact_id: int | None = None,
    kind: str = "task",
) -> dict[str, Any]:
    """A task on a deal or a contact the actor may see; assigned to the actor unless given."""
    title = title.strip()
    if not title:
        raise InvalidInput("the task needs a title", code="invalid_title")
    if deal_id is None and contact_id is None:
        raise InvalidInput("a task belongs to a deal or a contact", code="task_needs_subject")
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        subject_contact = contact_id
        if deal_id is not None:
            deal = await get_visible_deal(session, actor, deal_id)
            if contact_id is not None and contact_id != deal.contact_id:
                raise InvalidInput("the deal is not the contact's", code="contact_mismatch")
            subject_contact = deal.contact_id
        elif contact_id is not None:
            await get_visible_contact(session, actor, contact_id)
        assignee = assignee_id if assignee_id is not None else actor.operator_id
        await check_owner(session, assignee, "assignee_not_found")
        task = Task(
            title=title[:300],
            kind=kind,
            due_at=due_at,
            assignee_id=assignee,
            deal_id=deal_id,
            contact_id=subject_contact,
            status=TaskStatus.OPEN.value,
            created_by_id=actor.operator_id,
            created_at=utcnow(),
        )
        session.add(task)
        await session.flush()
        data = task_dict(task, utcnow())
        events.append(TaskUpdated(_recipients(task), data))
        return data

    data = await ctx.write(unit)
    await ctx.publish(*events)
    return data


def callback_title(phone: str) -> str:
    """The title of a "call back" task: also what keeps one request from making two tasks."""
    return f"Call back {phone}".strip()


async def add_callback_task(
    session: AsyncSession,
    *,
    contact_id: int,
    phone: str,
    assignee_id: int | None,
    deal_id: int | None,
    due_at: datetime | None = None,
) -> Task | None:
    """Add a "call back" task for ``phone``, due when the customer asked (now if he did not
    say), unless one for it is open already (a request asked twice, or read twice by the lead
    intake, is one task, due when the first one asked)."""
    title = callback_title(phone)
    pending = select(Task.id).where(
        Task.kind == "callback",
        Task.contact_id == contact_id,
        Task.title == title,
        Task.status == TaskStatus.OPEN.value,
    )
    if await session.scalar(pending.limit(1)) is not None:
        return None
    now = utcnow()
    task = Task(
        title=title,
        kind="callback",
        due_at=due_at or now,
        assignee_id=assignee_id,
        contact_id=contact_id,
        deal_id=deal_id,
        status=TaskStatus.OPEN.value,
        created_at=now,
    )
    session.add(task)
    await session.flush()
    return task


async def callback_task(
    ctx: HubContext, *, conversation_id: int, phone: str, due_at: datetime | None = None
) -> dict[str, Any] | None:
    """A customer asked to be called back in a conversation he already had: a "call back" task
    for the conversation's assignee, on the contact's open deal if he has one. (The lead intake
    makes the task of a request that opens a new conversation.) While such a task for the same
    phone is open, another request adds none; ``None`` then."""
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any] | None:
        events.clear()
        conv = await session.get(Conversation, conversation_id)
        if conv is None:
            return None
        deal_id = await session.scalar(
            select(Deal.id)
            .where(Deal.contact_id == conv.contact_id, Deal.status == DealStatus.OPEN.value)
            .order_by(Deal.id.desc())
            .limit(1)
        )
        task = await add_callback_task(
            session,
            contact_id=conv.contact_id,
            phone=phone,
            assignee_id=conv.assignee_id,
            deal_id=deal_id,
            due_at=due_at,
        )
        if task is None:
            return None
        data = task_dict(task, utcnow())
        events.append(TaskUpdated(_recipients(task), data))
        return data

    data = await ctx.write(unit, key=("conversation", conversation_id))
    await ctx.publish(*events)
    return data


async def complete_task(ctx: HubContext, actor: Principal, task_id: int) -> dict[str, Any]:
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        task = await session.scalar(select(Task).where(Task.id == task_id, visible_tasks(actor)))
        if task is None:
            raise NotFound(f"task {task_id} not found", code="task_not_found")
        if task.status != TaskStatus.OPEN.value:
            raise Conflict(f"the task is {task.status} already", code="task_closed")
        task.status = TaskStatus.DONE.value
        task.done_at = utcnow()
        await session.flush()
        data = task_dict(task, utcnow())
        events.append(TaskUpdated(_recipients(task), data))
        return data

    data = await ctx.write(unit, key=("task", task_id))
    await ctx.publish(*events)
    return data


def _time(raw: str) -> datetime:
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput("due_before is not an ISO 8601 time", code="invalid_time") from exc
    if when.tzinfo is None:
        raise InvalidInput("due_before needs its UTC offset", code="invalid_time")
    return when.astimezone(UTC)


async def list_tasks(ctx: HubContext, actor: Principal, flt: TaskFilter) -> dict[str, Any]:
    """Soonest due first (tasks without a due time last)."""
    now = utcnow()
    conds = [visible_tasks(actor)]
    if flt.status is not None:
        if flt.status not in {s.value for s in TaskStatus}:
            raise InvalidInput(f"unknown status {flt.status!r}", code="invalid_status")
        conds.append(Task.status == flt.status)
    if flt.assignee == "me":
        conds.append(Task.assignee_id == actor.operator_id)
    elif flt.assignee is not None:
        if not (flt.assignee.isascii() and flt.assignee.isdigit()) or len(flt.assignee) > 10:
            raise InvalidInput("assignee must be me or an id", code="invalid_assignee")
        conds.append(Task.assignee_id == min(int(flt.assignee), MAX_ID))
    if flt.deal_id is not None:
        conds.append(Task.deal_id == flt.deal_id)
    if flt.contact_id is not None:
        conds.append(Task.contact_id == flt.contact_id)
    if flt.overdue:
        conds += [Task.status == TaskStatus.OPEN.value, Task.due_at < now]
    if flt.due_before is not None:
        conds += [Task.status == TaskStatus.OPEN.value, Task.due_at < _time(flt.due_before)]
    limit = max(1, min(flt.limit, MAX_TASKS))

    async def query(session: AsyncSession) -> dict[str, Any]:
        rows = await session.scalars(
            select(Task)
            .where(*conds)
            .order_by(Task.due_at.is_(None), Task.due_at, Task.id)
            .limit(limit)
        )
        return {"items": [task_dict(t, now) for t in rows]}

    return await ctx.read(query)
