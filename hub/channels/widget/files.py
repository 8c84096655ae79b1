"""A visitor's files: the ones he attaches, and the ones of his conversations he may read.

His upload is checked as an operator's is (``HUB_MAX_ATTACHMENT_BYTES`` while it streams in, a
clean name, a type checked against its bytes, ``hub.inbox.sniff``) and becomes an attachment of
his message, through the same inbound path as a Telegram photo. He reads back only the files of
customer messages and operator replies in his own identity's conversations (never a note's,
never an operator's unsent upload, never another identity's of his contact); anything else is
"not found", so ids cannot be probed.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.widget.visitors import VISIBLE_KINDS, Visitor, own_identity
from hub.context import HubContext
from hub.errors import NotFound
from hub.inbox.attachments import AttachmentFile
from hub.inbox.models import Attachment, Conversation, Message


async def open_visitor_attachment(
    ctx: HubContext, visitor: Visitor, attachment_id: int
) -> AttachmentFile:
    """The file of an attachment of a message the visitor may read (see the module)."""

    async def query(session: AsyncSession) -> Attachment | None:
        return await session.scalar(
            select(Attachment)
            .join(Message, Message.id == Attachment.message_id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Attachment.id == attachment_id,
                Message.kind.in_(VISIBLE_KINDS),
                Conversation.identity_id == own_identity(visitor),
            )
        )

    att = await ctx.read(query)
    if att is None:
        raise NotFound(f"attachment {attachment_id} not found", code="attachment_not_found")
    path = ctx.media.path(att.storage_key)
    if not path.is_file():
        raise NotFound(f"attachment {attachment_id} has no file", code="attachment_not_found")
    return AttachmentFile(path, att.filename, att.content_type, att.kind, att.size)
