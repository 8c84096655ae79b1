"""What the operator sees of scheduled emails: their JSON, who receives their events, and the
lists (his own; staff: everyone's, as they see every conversation).

Only its author and staff see a scheduled email; anyone else gets a 404, as for other
operators' resources, so ids cannot be probed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.email.schedule_time import wall_clock
from hub.channels.email.scheduled_models import ScheduledEmail, ScheduleStatus
from hub.context import HubContext
from hub.db import utcnow
from hub.errors import NotFound
from hub.events import Recipients
from hub.inbox.access import get_visible_conversation
from hub.inbox.auth import Principal
from hub.inbox.models import Operator
from hub.inbox.serialize import iso

#: Emails waiting per operator: enough for a campaign of follow-ups, and one page of the list.
MAX_PENDING = 200


def recipients(row: ScheduledEmail) -> Recipients:
    """Its author and staff: who may see it."""
    return Recipients(True, frozenset(), frozenset({row.operator_id}))


def scheduled_dict(row: ScheduledEmail, author: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "status": row.status,
        "operator": {"id": row.operator_id, "name": author},
        "channel_id": row.channel_id,
        "contact_id": row.contact_id,
        "conversation_id": row.conversation_id,
        "to": row.to_address,
        "subject": row.subject,
        "body": row.body,
        "reply_to_id": row.reply_to_id,
        "tracking": row.tracking,
        "send_at": iso(row.send_at),
        "time_zone": row.time_zone,
        "local_send_at": wall_clock(row.send_at, row.time_zone),
        "sending": row.status == ScheduleStatus.SCHEDULED.value and leased(row),
        "message_id": row.message_id,
        "error": row.error,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "sent_at": iso(row.sent_at),
    }


def leased(row: ScheduledEmail) -> bool:
    return row.lease_until is not None and row.lease_until > utcnow()


async def author_name(session: AsyncSession, operator_id: int) -> str:
    return await session.scalar(select(Operator.name).where(Operator.id == operator_id)) or ""


async def own_scheduled(
    session: AsyncSession, actor: Principal, scheduled_id: int
) -> ScheduledEmail:
    """The row, if the actor wrote it or is staff; answered as missing otherwise."""
    row = await session.get(ScheduledEmail, scheduled_id, populate_existing=True)
    if row is None or not (actor.is_staff or row.operator_id == actor.operator_id):
        raise NotFound(
            f"scheduled email {scheduled_id} not found", code="scheduled_email_not_found"
        )
    return row


async def get_scheduled(ctx: HubContext, actor: Principal, scheduled_id: int) -> dict[str, Any]:
    async def query(session: AsyncSession) -> dict[str, Any]:
        row = await own_scheduled(session, actor, scheduled_id)
        return scheduled_dict(row, await author_name(session, row.operator_id))

    return await ctx.read(query)


async def list_scheduled(
    ctx: HubContext,
    actor: Principal,
    *,
    status: str | None = ScheduleStatus.SCHEDULED.value,
    conversation_id: int | None = None,
    operator_id: int | None = None,
    limit: int = MAX_PENDING,
) -> dict[str, Any]:
    """The scheduled emails the actor may see, soonest first: his own, or (staff) anyone's or
    ``operator_id``'s; of one conversation when it is given (which he must be able to see).
    ``status`` None lists every status. ``time_zone`` is the company's, the form's default."""

    async def query(session: AsyncSession) -> dict[str, Any]:
        stmt = select(ScheduledEmail, Operator.name).join(
            Operator, Operator.id == ScheduledEmail.operator_id
        )
        if conversation_id is not None:
            await get_visible_conversation(session, actor, conversation_id)
            stmt = stmt.where(ScheduledEmail.conversation_id == conversation_id)
        if not actor.is_staff:
            stmt = stmt.where(ScheduledEmail.operator_id == actor.operator_id)
        elif operator_id is not None:
            stmt = stmt.where(ScheduledEmail.operator_id == operator_id)
        if status is not None:
            stmt = stmt.where(ScheduledEmail.status == status)
        rows = await session.execute(
            stmt.order_by(ScheduledEmail.send_at, ScheduledEmail.id).limit(limit)
        )
        return {
            "items": [scheduled_dict(row, name) for row, name in rows.all()],
            "time_zone": ctx.company.timezone,
        }

    return await ctx.read(query)
