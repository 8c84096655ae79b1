"""An email's HTML as the inbox shows it: in a sandboxed frame of its own, remote images off.

The HTML was sanitised when it was stored (``items.sanitize_html``), its images' addresses
parked in ``data-hub-src``. The inbox frames it from its own address (``GET
/api/v1/messages/{id}/email.html``) rather than inline, so the document gets its own
Content-Security-Policy: no script, no connection, no image from outside unless the operator
asked for them (``images``), as a remote image tells the sender when and where his email was
read.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.errors import NotFound
from hub.inbox.access import get_visible_conversation
from hub.inbox.auth import Principal
from hub.inbox.item_models import EmailItem
from hub.inbox.items import unpark_images
from hub.inbox.models import Message

_HEAD = '<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer">'


def frame_policy(images: bool) -> str:
    """The frame's Content-Security-Policy: inline styles of the email, and nothing else from
    anywhere unless images were asked for."""
    img = "https: http: data:" if images else "data:"
    return (
        f"default-src 'none'; img-src {img}; style-src 'unsafe-inline'; "
        "frame-ancestors 'self'; sandbox"
    )


async def email_page(ctx: HubContext, actor: Principal, message_id: int, images: bool) -> str:
    """The email of a message the operator may see, as a page; remote images only if asked."""

    async def query(session: AsyncSession) -> str:
        msg = await session.get(Message, message_id)
        email = await session.get(EmailItem, message_id) if msg is not None else None
        if msg is None or email is None:
            raise NotFound(f"message {message_id} has no email", code="email_not_found")
        await get_visible_conversation(session, actor, msg.conversation_id)
        return email.html

    html = await ctx.read(query)
    if images:
        html = unpark_images(html)
    return _HEAD + html
