"""The widget channel's per-process state, and how it is wired into the app."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.widget.config import TYPE, origin_allowed
from hub.channels.widget.live import WidgetLive
from hub.channels.widget.script import WidgetScript
from hub.channels.widget.tabs import VisitorTabs
from hub.channels.widget.visitors import Visitor, own_identity
from hub.context import HubContext
from hub.events import ConversationTyping, Recipients
from hub.inbox.models import Channel, Conversation
from hub.inbox.typing import TYPING_EVERY_S, TypingSignal
from hub.presence import Online, Presence
from hub.ratelimit import RateLimiter

ORIGINS_CACHE_S = 30.0
#: An origin the cached list refuses is checked again against a list at most this old, so a
#: site an admin just added works at once.
ORIGINS_RECHECK_S = 2.0


class WidgetState:
    def __init__(self, ctx: HubContext, presence: Presence) -> None:
        self.ctx = ctx
        self.live = WidgetLive(ctx.bus)
        st = ctx.settings
        self.tabs = VisitorTabs(
            self.live,
            st.redis_url,
            st.redis_prefix,
            refresh_s=st.presence_refresh_interval_s,
            backoff_s=st.worker_backoff_s,
        )
        #: The app's (``hub.http.PRESENCE``), which keeps it current on every process.
        self.presence = presence
        #: Every widget request of one address; new chats of one address; one visitor's messages.
        self.ip_limit = RateLimiter(st.widget_ip_burst, st.widget_ip_per_s)
        self.session_limit = RateLimiter(st.widget_session_burst, st.widget_session_per_s)
        self.visitor_limit = RateLimiter(st.widget_visitor_burst, st.widget_visitor_per_s)
        self._typing = RateLimiter(burst=1, per_second=1 / TYPING_EVERY_S)
        self._origins: tuple[float, list[dict[str, Any]]] = (0.0, [])
        #: Each widget channel as the newest socket opened on it found it: the sockets of one
        #: channel read this copy instead of holding one each (1 KiB a socket, measured).
        self._channels: dict[int, Channel] = {}
        self._online_locally = Online()
        #: ``/widget.js``, read and compressed once here rather than on every request.
        self.script = WidgetScript.read(st.widget_dir / "hub-widget.js")

    async def _widget_configs(self, max_age: float = ORIGINS_CACHE_S) -> list[dict[str, Any]]:
        stamp, configs = self._origins
        if time.monotonic() - stamp < max_age:
            return configs

        async def query(session: AsyncSession) -> list[dict[str, Any]]:
            rows = await session.scalars(
                select(Channel).where(Channel.type == TYPE, Channel.is_active.is_(True))
            )
            return [dict(ch.config) for ch in rows]

        configs = await self.ctx.read(query)
        self._origins = (time.monotonic(), configs)
        return configs

    async def any_channel_allows(self, origin: str, request: web.Request) -> bool:
        own = self.ctx.settings.public_url
        if origin.lower() == f"{request.scheme}://{request.host}".lower():
            return True
        if any(origin_allowed(cfg, origin, own) for cfg in await self._widget_configs()):
            return True
        fresh = await self._widget_configs(ORIGINS_RECHECK_S)
        return any(origin_allowed(cfg, origin, own) for cfg in fresh)

    def share_channel(self, channel: Channel) -> None:
        """Keep ``channel`` (just read for a socket) as the copy its sockets use from now on."""
        self._channels[channel.id] = channel

    def channel(self, channel_id: int) -> Channel:
        """The copy of a channel a socket was opened on kept by ``share_channel``: as new as
        the newest socket of that channel, never older than the socket's own."""
        return self._channels[channel_id]

    async def demo_token(self) -> str | None:
        async def query(session: AsyncSession) -> str | None:
            rows = await session.scalars(
                select(Channel)
                .where(Channel.type == TYPE, Channel.is_active.is_(True))
                .order_by(Channel.id)
            )
            for ch in rows:
                if ch.config.get("demo"):
                    return ch.public_token
            return None

        return await self.ctx.read(query)

    async def visitor_typing(self, visitor: Visitor) -> None:
        """Tell the conversation's operators the visitor is typing, at most every 2 s."""
        if not self._typing.allow(f"v{visitor.id}"):
            return

        async def query(session: AsyncSession) -> Conversation | None:
            return await session.scalar(
                select(Conversation)
                .where(Conversation.identity_id == own_identity(visitor))
                .order_by(Conversation.id.desc())
                .limit(1)
            )

        conv = await self.ctx.read(query)
        if conv is not None:
            recipients = Recipients.for_conversation(conv.team_id, conv.assignee_id)
            await self.ctx.publish(ConversationTyping(recipients, conv.id))

    async def relay_typing(self, signal: TypingSignal) -> None:
        """An operator types a reply (or stopped): the visitor's open tabs show it or hide it."""
        frame: dict[str, Any] = {
            "type": "typing",
            "sender": {"type": "operator", "name": signal.operator_name},
            "active": signal.active,
        }
        await self.live.push(signal.channel_id, signal.external_id, frame)

    async def sockets_changed(self, _count: int) -> None:
        """When who is online here changed, every visitor whose answer changed is told
        (``WidgetLive.presence_changed``); the app wrote the change for the other processes
        already."""
        here = self.presence.local()
        if here != self._online_locally:
            self._online_locally = here
            await self.live.presence_changed(await self.presence.online())


WIDGET = web.AppKey("widget", WidgetState)


async def close_visitor_sockets(app: web.Application) -> None:
    """On shutdown, before aiohttp waits for the running handlers: a socket's handler runs until
    the socket closes, so close them all now with 1001 and the widgets reconnect at once."""
    await app[WIDGET].live.close()


async def widget_lifecycle(app: web.Application) -> AsyncIterator[None]:
    state = app[WIDGET]
    await state.live.start()
    await state.tabs.start()
    try:
        yield
    finally:
        await state.live.close()
        await state.tabs.close()
