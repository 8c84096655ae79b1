"""Tasks remind their owners: when an open task falls due, its assignee gets ``task.due`` live.

Each pass claims the open tasks whose due time has come and that nobody was told of yet, by
setting ``reminded_at`` in one UPDATE that re-checks ``reminded_at IS NULL`` row by row, and
announces only the rows it claimed. With several processes two passes may look at once: the
database gives each row to one of them (PostgreSQL re-reads a row another transaction changed
before updating it, SQLite writes one transaction at a time), so a task is announced once. A
task made already due (a callback "now") is announced at the next pass. A task without an
assignee is announced to staff, who hand it out.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync.models import Task, TaskStatus
from hub.crm_sync.serialize import task_dict
from hub.db import utcnow
from hub.events import Event, Recipients, TaskDue
from hub.worker import PeriodicWorker

#: Tasks one pass announces at most (the next pass takes the rest at once).
REMIND_BATCH = 200


def due_recipients(task: Task) -> Recipients:
    """Its assignee; staff when it has none."""
    if task.assignee_id is None:
        return Recipients(True, frozenset(), frozenset())
    return Recipients(False, frozenset(), frozenset({task.assignee_id}))


async def remind_due(ctx: HubContext) -> int:
    """Announce the open tasks that fell due since the last pass; how many."""
    events: list[Event] = []

    async def unit(session: AsyncSession) -> int:
        events.clear()
        now = utcnow()
        due = (
            select(Task.id)
            .where(
                Task.status == TaskStatus.OPEN.value,
                Task.reminded_at.is_(None),
                Task.due_at <= now,
            )
            .order_by(Task.due_at, Task.id)
            .limit(REMIND_BATCH)
        )
        ids = list((await session.scalars(due)).all())
        if not ids:
            return 0
        claimed = (
            await session.scalars(
                update(Task)
                .where(Task.id.in_(ids), Task.reminded_at.is_(None))
                .values(reminded_at=now)
                .returning(Task.id)
                .execution_options(synchronize_session=False)
            )
        ).all()
        if not claimed:
            return 0
        tasks = (
            await session.scalars(
                select(Task)
                .where(Task.id.in_(claimed))
                .order_by(Task.due_at, Task.id)
                .execution_options(populate_existing=True)
            )
        ).all()
        for task in tasks:
            events.append(TaskDue(due_recipients(task), task_dict(task, now)))
        return len(tasks)

    count = await ctx.write(unit)
    ctx.announce(*events)  # a worker answers nobody: no need to wait for the bus
    return count


class TaskReminder(PeriodicWorker):
    """Tells owners of tasks that fell due, every ``HUB_TASK_REMINDER_INTERVAL_S``."""

    name = "task-reminder"
    #: Tasks fall due in minutes or days: a write unit at every start-up would be for nothing.
    pass_at_start = False

    def __init__(self, ctx: HubContext) -> None:
        super().__init__(
            interval_s=ctx.settings.task_reminder_interval_s,
            backoff_s=ctx.settings.worker_backoff_s,
        )
        self._ctx = ctx

    def busy(self, done: int) -> bool:
        return done >= REMIND_BATCH  # a full batch may have left more

    async def run_once(self) -> int:
        return await remind_due(self._ctx)
