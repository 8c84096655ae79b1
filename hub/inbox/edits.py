"""A customer edited a message he sent: the inbox shows the new text and keeps the original."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db import utcnow
from hub.events import Event, MessageUpdated, Recipients
from hub.inbox.attachments import attachments_of
from hub.inbox.models import Contact, Conversation, Message, MessageKind
from hub.inbox.serialize import iso, message_dict


async def edit_incoming(
    ctx: HubContext, channel_id: int, provider_message_id: str, body: str
) -> dict[str, Any] | None:
    """Replace the text of the customer message the channel knows by ``provider_message_id``;
    ``meta.original_body`` keeps the first text, ``meta.edited_at`` the time. ``None`` when the
    hub never stored that message (sent before the channel was connected)."""
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any] | None:
        events.clear()
        msg = await session.scalar(
            select(Message).where(
                Message.channel_id == channel_id,
                Message.provider_message_id == provider_message_id,
                Message.kind == MessageKind.INCOMING.value,
            )
        )
        if msg is None:
            return None
        conv = await session.get(Conversation, msg.conversation_id)
        assert conv is not None
        if msg.body != body:
            meta = dict(msg.meta or {})
            meta.setdefault("original_body", msg.body)
            meta["edited_at"] = iso(utcnow())
            msg.body = body
            msg.meta = meta
            await session.flush()
        contact = await session.get(Contact, msg.sender_contact_id or 0)
        names = {contact.id: contact.name} if contact else {}
        files = await attachments_of(session, [msg.id])
        data = message_dict(msg, contact_names=names, attachments=files.get(msg.id))
        recipients = Recipients.for_conversation(conv.team_id, conv.assignee_id)
        events.append(MessageUpdated(recipients, conv.id, data))
        return data

    data = await ctx.write(unit, key=channel_id)
    await ctx.publish(*events)
    return data
