"""Customers rate resolved conversations: once per resolution, 1 to 5, with an optional comment.

A customer-side client (the widget) asks ``pending_rating`` whether its identity's newest
conversation waits for a rating, and sends one with ``rate``. Both read by the identity (a
channel and the id it knows the customer by), never by the contact: a customer rates only his
own conversations. A second rating of the same resolution is refused with 409
``already_rated`` and changes nothing (the first stands); a conversation resolved again after
the customer wrote once more is a new resolution, rated anew.

A rating is stored (``rating_models``), shown in the conversation as an activity, announced
(``conversation.rated``), listed on the contact (``contact_ratings``) and counted per operator
in the reports (``hub.crm_sync.report_ratings``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.errors import Conflict, InvalidInput, NotFound
from hub.events import ConversationRated, Event, MessageCreated
from hub.inbox.access import visible_conversations
from hub.inbox.actions import add_activity, recipients_of
from hub.inbox.auth import Principal
from hub.inbox.models import (
    Contact,
    ContactIdentity,
    Conversation,
    ConversationStatus,
    Message,
    MessageKind,
    Operator,
)
from hub.inbox.rating_models import ConversationRating
from hub.inbox.serialize import iso, message_dict

MAX_COMMENT_CHARS = 2000
#: The newest activities of a resolved conversation looked through for its resolution (a few
#: notes of assignment or a rating may come after it).
_RECENT_ACTIVITIES = 50


def is_resolution(msg: Message) -> bool:
    """The activity a resolve wrote (``hub.inbox.handoff.set_status``)."""
    meta = msg.meta or {}
    return (
        msg.kind == MessageKind.ACTIVITY.value
        and meta.get("action") == "status"
        and meta.get("status") == ConversationStatus.RESOLVED.value
    )


def rating_dict(row: ConversationRating, operator_name: str | None = None) -> dict[str, Any]:
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "resolution_id": row.resolution_id,
        "score": row.score,
        "comment": row.comment,
        "operator_id": row.operator_id,
        "operator_name": operator_name,
        "created_at": iso(row.created_at),
    }


def _identity(channel_id: int, external_id: str) -> Any:
    return (
        select(ContactIdentity.id)
        .where(ContactIdentity.channel_id == channel_id, ContactIdentity.external_id == external_id)
        .scalar_subquery()
    )


async def pending_rating(
    ctx: HubContext, channel_id: int, external_id: str
) -> dict[str, int] | None:
    """``{"resolution_id", "conversation_id"}`` when this identity's newest conversation is
    resolved and its resolution not rated yet; else None."""

    async def query(session: AsyncSession) -> dict[str, int] | None:
        conv = await session.scalar(
            select(Conversation)
            .where(Conversation.identity_id == _identity(channel_id, external_id))
            .order_by(Conversation.id.desc())
            .limit(1)
        )
        if conv is None or conv.status != ConversationStatus.RESOLVED.value:
            return None
        recent = await session.scalars(
            select(Message)
            .where(
                Message.conversation_id == conv.id,
                Message.kind == MessageKind.ACTIVITY.value,
            )
            .order_by(Message.id.desc())
            .limit(_RECENT_ACTIVITIES)
        )
        resolution = next((m for m in recent if is_resolution(m)), None)
        if resolution is None:
            return None
        rated = await session.scalar(
            select(ConversationRating.id).where(ConversationRating.resolution_id == resolution.id)
        )
        return None if rated else {"resolution_id": resolution.id, "conversation_id": conv.id}

    return await ctx.read(query)


def _clean(score: object, comment: object) -> tuple[int, str]:
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise InvalidInput("score must be a whole number from 1 to 5", code="invalid_score")
    if not isinstance(comment, str):
        raise InvalidInput("comment must be text", code="invalid_comment")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise InvalidInput(
            f"the comment is longer than {MAX_COMMENT_CHARS} characters", code="comment_too_long"
        )
    return score, comment


def _activity_text(score: int, comment: str) -> str:
    text = f"The customer rated the conversation {score} of 5"
    return f"{text}: {comment}" if comment else text


async def rate(
    ctx: HubContext,
    channel_id: int,
    external_id: str,
    resolution_id: int,
    score: object,
    comment: object = "",
) -> dict[str, Any]:
    """Store the customer's rating of a resolution of his own conversation (see the module);
    ``resolution_not_found`` for any other id, ``already_rated`` the second time."""
    score, comment = _clean(score, comment)
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        resolution = await session.get(Message, resolution_id)
        conv = await session.get(Conversation, resolution.conversation_id) if resolution else None
        identity = await session.get(ContactIdentity, conv.identity_id or 0) if conv else None
        if (
            resolution is None
            or conv is None
            or identity is None
            or not is_resolution(resolution)
            or (identity.channel_id, identity.external_id) != (channel_id, external_id)
        ):
            raise NotFound(f"resolution {resolution_id} not found", code="resolution_not_found")
        taken = await session.scalar(
            select(ConversationRating.id).where(ConversationRating.resolution_id == resolution_id)
        )
        if taken is not None:
            raise Conflict("this resolution is rated already", code="already_rated")
        row = ConversationRating(
            conversation_id=conv.id,
            resolution_id=resolution_id,
            operator_id=conv.assignee_id or resolution.sender_operator_id,
            score=score,
            comment=comment,
        )
        session.add(row)
        await session.flush()
        meta = {
            "action": "rating",
            "score": score,
            "comment": comment,
            "rating_id": row.id,
            "resolution_id": resolution_id,
        }
        activity = await add_activity(session, conv, None, _activity_text(score, comment), meta)
        credited = await session.get(Operator, row.operator_id) if row.operator_id else None
        data = rating_dict(row, credited.name if credited else None)
        recipients = recipients_of(conv)
        events.append(MessageCreated(recipients, conv.id, message_dict(activity)))
        events.append(ConversationRated(recipients, conv.id, conv.contact_id, data))
        return data

    try:
        data = await ctx.write(unit, key=("resolution", resolution_id))
    except IntegrityError as exc:
        # Rated at the same moment through another process: the first one stands.
        raise Conflict("this resolution is rated already", code="already_rated") from exc
    await ctx.publish(*events)
    return data


async def contact_ratings(ctx: HubContext, principal: Principal, contact_id: int) -> dict[str, Any]:
    """The ratings of a contact's conversations the principal may see, newest first, with
    their average and count; ``contact_not_found`` for a contact he may not see."""

    async def query(session: AsyncSession) -> dict[str, Any]:
        contact = await session.get(Contact, contact_id)
        visible = (
            select(Conversation.id)
            .where(Conversation.contact_id == contact_id, visible_conversations(principal))
            .limit(1)
        )
        if contact is None or (not principal.is_staff and await session.scalar(visible) is None):
            raise NotFound(f"contact {contact_id} not found", code="contact_not_found")
        rows = (
            await session.execute(
                select(ConversationRating, Operator.name)
                .join(Conversation, Conversation.id == ConversationRating.conversation_id)
                .outerjoin(Operator, Operator.id == ConversationRating.operator_id)
                .where(Conversation.contact_id == contact_id, visible_conversations(principal))
                .order_by(ConversationRating.id.desc())
                .limit(200)
            )
        ).all()
        summary = (
            await session.execute(
                select(func.count(), func.avg(ConversationRating.score))
                .join(Conversation, Conversation.id == ConversationRating.conversation_id)
                .where(Conversation.contact_id == contact_id, visible_conversations(principal))
            )
        ).one()
        return {
            "count": int(summary[0]),
            "average": round(float(summary[1]), 2) if summary[1] is not None else None,
            "items": [rating_dict(row, name) for row, name in rows],
        }

    return await ctx.read(query)
