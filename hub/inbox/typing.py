"""An operator typing a reply, shown to the customer where his channel can show it.

The inbox sends ``{"type": "typing", "conversation_id", "active"}`` over the operator socket
while the operator writes a reply (never a note): ``active`` true (the default) as he types, at
most every few seconds, false once the text is sent or cleared. This checks that the operator
may see the conversation, asks the channel's capabilities (never its type's name) whether its
customers see typing, and hands the signal to the relay the channel registered (the widget
pushes it to the visitor's open tabs). A start repeated within 2 s in one conversation is
dropped; a stop always passes and lets the next start through at once (the operator cleared his
text and writes again); all of one operator's frames together are held to a few a second.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.errors import NotFound
from hub.inbox.access import get_visible_conversation
from hub.inbox.auth import Principal
from hub.inbox.models import Channel, ContactIdentity
from hub.ratelimit import RateLimiter

#: A start passes at most this often per operator and conversation; the inbox sends one at
#: most every 2.5 s, and the widget hides the line 5 s after the last one.
TYPING_EVERY_S = 2.0
#: Every typing frame of one operator, starts and stops of all his conversations: a burst, then
#: this many a second.
FRAMES_BURST = 6
FRAMES_PER_S = 2.0


@dataclass(frozen=True, slots=True)
class TypingSignal:
    """What a channel's relay gets: whose customer identity to tell, and who is typing."""

    channel_id: int
    #: The identity that wrote the conversation (``ContactIdentity.external_id``): never the
    #: contact's other identities, which a merge on an unverified email may have joined.
    external_id: str
    operator_name: str
    active: bool


TypingRelay = Callable[[TypingSignal], Awaitable[None]]


def _error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}


class OperatorTyping:
    """The operator socket's ``typing`` frame handler; channels add their relay by type."""

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.relays: dict[str, TypingRelay] = {}
        self._starts = RateLimiter(burst=1, per_second=1 / TYPING_EVERY_S)
        self._frames = RateLimiter(burst=FRAMES_BURST, per_second=FRAMES_PER_S)

    async def handle(self, principal: Principal, frame: dict[str, Any]) -> dict[str, Any] | None:
        """Relay one frame; an error frame for a malformed one, a conversation the operator
        cannot see or a channel whose customers cannot see typing; else None."""
        conv_id = frame.get("conversation_id")
        active = frame.get("active", True)
        if type(conv_id) is not int or not isinstance(active, bool):
            return _error("bad_frame", "typing needs conversation_id, and active true or false")
        if not self._frames.allow(str(principal.operator_id)):
            return None
        key = f"{principal.operator_id}:{conv_id}"
        if not active:
            self._starts.forget(key)
        elif not self._starts.allow(key):
            return None

        async def query(session: AsyncSession) -> tuple[Channel, ContactIdentity | None] | None:
            try:
                conv = await get_visible_conversation(session, principal, conv_id)
            except NotFound:
                return None
            channel = await session.get(Channel, conv.channel_id)
            if channel is None:
                return None
            return channel, await session.get(ContactIdentity, conv.identity_id or 0)

        found = await self.ctx.read(query)
        if found is None:
            return _error("conversation_not_found", f"conversation {conv_id} not found")
        channel, identity = found
        if not self.ctx.capabilities_of(channel.type).typing:
            return _error("typing_not_supported", "this channel's customers do not see typing")
        relay = self.relays.get(channel.type)
        if relay is not None and identity is not None:
            await relay(TypingSignal(channel.id, identity.external_id, principal.name, active))
        return None
