"""After an operator resolves a widget conversation, the visitor's open tabs ask him to rate it.

The inbox tells its resolution listeners (``HubContext.resolution_listeners``); this one looks
up whose conversation it was and, for a widget conversation, pushes ``rating_request`` to the
tabs of that identity only (never to the rest of his contact). A tab opened later learns the
same from the session and ``messages`` answers (``hub.inbox.ratings.pending_rating``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.widget.config import TYPE
from hub.channels.widget.live import WidgetLive
from hub.context import HubContext
from hub.inbox.models import Channel, ContactIdentity, Conversation


@dataclass(frozen=True, slots=True)
class RatingAsker:
    ctx: HubContext
    live: WidgetLive

    async def __call__(self, conversation_id: int, resolution_id: int) -> None:
        async def query(session: AsyncSession) -> tuple[int, str] | None:
            conv = await session.get(Conversation, conversation_id)
            channel = await session.get(Channel, conv.channel_id) if conv else None
            identity = await session.get(ContactIdentity, conv.identity_id or 0) if conv else None
            if channel is None or channel.type != TYPE or identity is None:
                return None
            return channel.id, identity.external_id

        found = await self.ctx.read(query)
        if found is not None:
            frame = {
                "type": "rating_request",
                "resolution_id": resolution_id,
                "conversation_id": conversation_id,
            }
            await self.live.push(found[0], found[1], frame)
