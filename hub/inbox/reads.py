"""Unread per operator: how far each operator has read each conversation, and what is left.

An operator's read marker (``ConversationRead``) is the newest message id he has seen in a
conversation. Nothing is written per operator when a customer writes: his unread count is
computed when it is asked for, from the marker and message ids. It is the number of customer
messages after both his marker and the conversation's last reply (a reply answers what came
before it, whoever sent it), that is ``min(unread_count, customer messages after the marker)``,
as ``Conversation.unread_count`` already counts the customer messages since the last reply.
Without a marker it is ``unread_count`` itself, so an installation that never had markers shows
what it showed before, and the count asks the messages table only for conversations he opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import Integer, and_, case, exists, func, or_, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db import utcnow
from hub.errors import InvalidInput, NotFound
from hub.events import ConversationRead as ConversationReadEvent
from hub.events import Event, Recipients
from hub.inbox.access import get_visible_conversation, visible_conversations
from hub.inbox.auth import Principal
from hub.inbox.models import (
    Conversation as Conv,
)
from hub.inbox.models import (
    ConversationRead,
    ConversationStatus,
    Message,
    MessageKind,
)

#: The inbox's assignee tabs, in the order they are shown.
TABS = ("mine", "unassigned", "all")


class Unreadable(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def unread_count(self) -> int: ...


async def unread_counts(
    session: AsyncSession, operator_id: int, convs: Sequence[Unreadable]
) -> dict[int, int]:
    """The operator's unread count of each conversation, in two small queries at most."""
    out = {c.id: 0 for c in convs}
    waiting = {c.id: c.unread_count for c in convs if c.unread_count > 0}
    if not waiting:
        return out
    out.update(waiting)  # no marker: the customer messages since the last reply
    mark = ConversationRead
    markers = dict(
        (
            await session.execute(
                select(mark.conversation_id, mark.last_read_message_id).where(
                    mark.operator_id == operator_id, mark.conversation_id.in_(waiting)
                )
            )
        ).all()
    )
    if not markers:
        return out
    after = dict(
        (
            await session.execute(
                select(Message.conversation_id, func.count(Message.id))
                .join(
                    mark,
                    and_(
                        mark.conversation_id == Message.conversation_id,
                        mark.operator_id == operator_id,
                    ),
                )
                .where(
                    Message.conversation_id.in_(markers),
                    Message.id > mark.last_read_message_id,
                    Message.kind == MessageKind.INCOMING.value,
                )
                .group_by(Message.conversation_id)
            )
        ).all()
    )
    for conv_id in markers:
        out[conv_id] = min(waiting[conv_id], after.get(conv_id, 0))
    return out


def _has_unread(operator_id: int) -> Any:
    """SQL: the conversation (joined with the operator's marker) has messages he has not read."""
    newer = select(Message.id).where(
        Message.conversation_id == Conv.id,
        Message.id > ConversationRead.last_read_message_id,
        Message.kind == MessageKind.INCOMING.value,
    )
    return and_(
        Conv.unread_count > 0,
        or_(ConversationRead.last_read_message_id.is_(None), exists(newer)),
    )


def _count(cond: Any) -> Any:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0).cast(Integer)


async def tab_counts(ctx: HubContext, principal: Principal, status: str | None) -> dict[str, Any]:
    """For each assignee tab, the conversations of ``status`` (open by default) and how many
    of them have messages the operator has not read; the title's count (unread in "mine" and
    "unassigned": the work waiting for him) and the tab the inbox opens on ("mine", or
    "unassigned" when "mine" is empty and "unassigned" is not)."""
    status = status or ConversationStatus.OPEN.value
    if status not in {s.value for s in ConversationStatus}:
        raise InvalidInput(f"unknown status {status!r}", code="invalid_status")
    me = principal.operator_id
    # One row per conversation, its unread flag worked out once, then counted per tab.
    rows = (
        select(
            Conv.assignee_id.label("assignee_id"),
            case((_has_unread(me), 1), else_=0).label("unread"),
        )
        .select_from(Conv)
        .outerjoin(
            ConversationRead,
            and_(ConversationRead.conversation_id == Conv.id, ConversationRead.operator_id == me),
        )
        .where(visible_conversations(principal), Conv.status == status)
        .subquery()
    )
    mine = rows.c.assignee_id == me
    free = rows.c.assignee_id.is_(None)
    unread = rows.c.unread == 1
    stmt = select(
        _count(mine),
        _count(free),
        func.count(),
        _count(and_(mine, unread)),
        _count(and_(free, unread)),
        _count(unread),
    ).select_from(rows)
    row = (await ctx.read(lambda s: s.execute(stmt))).one()
    totals, unreads = row[:3], row[3:]
    tabs = {
        tab: {"total": int(total), "unread": int(count)}
        for tab, total, count in zip(TABS, totals, unreads, strict=True)
    }
    landing = "unassigned" if not tabs["mine"]["total"] and tabs["unassigned"]["total"] else "mine"
    return {
        "status": status,
        "tabs": tabs,
        "unread": tabs["mine"]["unread"] + tabs["unassigned"]["unread"],
        "landing": landing,
    }


def _upsert(dialect: str, operator_id: int, conversation_id: int, message_id: int) -> Any:
    """Insert the marker, or move it forward (never back: a slower tab's older read).
    PostgreSQL's dialect is imported here, not with the module: a SQLite hub never loads it
    (``tests/test_startup.py``)."""
    insert: Any = sqlite.insert
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        insert = postgresql.insert
    stmt = insert(ConversationRead).values(
        operator_id=operator_id,
        conversation_id=conversation_id,
        last_read_message_id=message_id,
        read_at=utcnow(),
    )
    newer = stmt.excluded.last_read_message_id > ConversationRead.last_read_message_id
    return stmt.on_conflict_do_update(
        index_elements=[ConversationRead.operator_id, ConversationRead.conversation_id],
        set_={
            "last_read_message_id": case(
                (newer, stmt.excluded.last_read_message_id),
                else_=ConversationRead.last_read_message_id,
            ),
            "read_at": stmt.excluded.read_at,
        },
    )


async def mark_read(
    ctx: HubContext, principal: Principal, conversation_id: int, message_id: int | None = None
) -> dict[str, Any]:
    """The operator read a conversation he may see, up to ``message_id`` (one of its
    messages) or to its newest message; his other tabs are told (``conversation.read``)."""
    events: list[Event] = []
    me = principal.operator_id

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        conv = await get_visible_conversation(session, principal, conversation_id)
        if message_id is None:
            newest = select(func.max(Message.id)).where(Message.conversation_id == conv.id)
            target = await session.scalar(newest) or 0
        else:
            found = await session.scalar(
                select(Message.id).where(
                    Message.id == message_id, Message.conversation_id == conv.id
                )
            )
            if found is None:
                raise NotFound(
                    f"message {message_id} is not in this conversation", code="message_not_found"
                )
            target = message_id
        await session.execute(_upsert(session.get_bind().dialect.name, me, conv.id, target))
        marker = await session.scalar(
            select(ConversationRead.last_read_message_id).where(
                ConversationRead.operator_id == me, ConversationRead.conversation_id == conv.id
            )
        )
        left = (await unread_counts(session, me, [conv]))[conv.id]
        data = {
            "conversation_id": conv.id,
            "last_read_message_id": int(marker or 0),
            "my_unread_count": left,
        }
        events.append(
            ConversationReadEvent(
                Recipients(False, frozenset(), frozenset({me})),
                conv.id,
                me,
                data["last_read_message_id"],
                left,
            )
        )
        return data

    data = await ctx.write(unit, key=("read", me, conversation_id))
    await ctx.publish(*events)
    return data
