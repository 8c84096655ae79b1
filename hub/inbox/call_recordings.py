"""A call's recording, fetched from its provider, kept as the call's audio attachment.

The file is in the media store like every other file (``hub.media``); the attachment is on
the call's own message, so the inbox plays it where the call shows and a contact's files list
it. Attached once: a second recording of the same call (a provider sending it twice) adds
nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.events import Event, MessageUpdated, Recipients
from hub.inbox.attachments import attachments_of
from hub.inbox.items import items_of
from hub.inbox.models import Attachment, AttachmentKind, Contact, Conversation, Message
from hub.inbox.serialize import message_dict
from hub.media import StoredFile

RECORDING_META = {"call_recording": True}


async def attach_recording(
    ctx: HubContext, message_id: int, stored: StoredFile, content_type: str, filename: str
) -> dict[str, Any] | None:
    """Attach the stored recording to the call's message and announce the message again;
    None if the message is gone or has its recording already."""
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any] | None:
        events.clear()
        msg = await session.get(Message, message_id)
        if msg is None:
            return None
        had = await session.scalar(
            select(Attachment.id).where(
                Attachment.message_id == message_id, Attachment.kind == AttachmentKind.AUDIO.value
            )
        )
        if had is not None:
            return None
        session.add(
            Attachment(
                message_id=message_id,
                conversation_id=msg.conversation_id,
                filename=filename,
                content_type=content_type,
                size=stored.size,
                sha256=stored.sha256,
                storage_key=stored.key,
                kind=AttachmentKind.AUDIO.value,
                meta=dict(RECORDING_META),
            )
        )
        await session.flush()
        conv = await session.get(Conversation, msg.conversation_id)
        assert conv is not None
        contact = await session.get(Contact, msg.sender_contact_id or 0)
        names = {contact.id: contact.name} if contact else {}
        files = await attachments_of(session, [msg.id])
        item = (await items_of(session, [msg.id])).get(msg.id)
        data = message_dict(msg, contact_names=names, attachments=files.get(msg.id), item=item)
        recipients = Recipients.for_conversation(conv.team_id, conv.assignee_id)
        events.append(MessageUpdated(recipients, conv.id, data))
        return data

    data = await ctx.write(unit, key=("message", message_id))
    await ctx.publish(*events)
    return data
