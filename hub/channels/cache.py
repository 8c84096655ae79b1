"""Channels as webhooks see them, cached for a few seconds.

Every inbound request must check its channel's secret; reading the channel from the database
each time was a tenth of the hub's time under load. A channel that is changed or deactivated is
seen within ``TTL_S`` on every process, which is the price of not reading it per request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.inbox.models import Channel

TTL_S = 5.0


@dataclass(frozen=True, slots=True)
class ChannelView:
    id: int
    type: str
    secret: str
    is_active: bool
    team_id: int | None
    config: dict[str, Any]


class ChannelCache:
    def __init__(self, ctx: HubContext, ttl_s: float = TTL_S) -> None:
        self._ctx = ctx
        self._ttl = ttl_s
        self._entries: dict[int, tuple[float, ChannelView | None]] = {}

    async def get(self, channel_id: int) -> ChannelView | None:
        now = time.monotonic()
        hit = self._entries.get(channel_id)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]

        async def query(session: AsyncSession) -> ChannelView | None:
            ch = await session.get(Channel, channel_id)
            if ch is None:
                return None
            return ChannelView(ch.id, ch.type, ch.secret, ch.is_active, ch.team_id, dict(ch.config))

        view = await self._ctx.read(query)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[channel_id] = (now, view)
        return view
