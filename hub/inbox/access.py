"""Who may see which conversation, as SQL conditions and as plain checks.

Operators see the conversations of their teams and those assigned to them; managers and admins
see all. A conversation someone may not see is reported as not found, so ids cannot be probed.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, true
from sqlalchemy.ext.asyncio import AsyncSession

from hub.errors import NotFound
from hub.inbox.auth import Principal
from hub.inbox.models import Conversation


def visible_conversations(principal: Principal) -> ColumnElement[bool]:
    if principal.is_staff:
        return true()
    conditions: list[ColumnElement[bool]] = [Conversation.assignee_id == principal.operator_id]
    if principal.team_ids:
        conditions.append(Conversation.team_id.in_(principal.team_ids))
    return or_(*conditions)


def can_see(principal: Principal, conv: Conversation) -> bool:
    return (
        principal.is_staff
        or conv.assignee_id == principal.operator_id
        or (conv.team_id is not None and conv.team_id in principal.team_ids)
    )


async def get_visible_conversation(
    session: AsyncSession, principal: Principal, conversation_id: int
) -> Conversation:
    conv = await session.get(Conversation, conversation_id)
    if conv is None or not can_see(principal, conv):
        raise NotFound(f"conversation {conversation_id} not found", code="conversation_not_found")
    return conv
