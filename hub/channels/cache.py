"""Channels as webhooks see them, cached for a few seconds.

Every inbound request must check its channel's secret; reading the channel from the database
each time was a tenth of the hub's time under load. A channel that is changed or deactivated is
seen within ``TTL_S`` on every process, which is the price of not reading it per request.
"""

from __future__ import annotations

import asyncio
import hmac
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
        self._loading: dict[int, asyncio.Future[ChannelView | None]] = {}

    async def get(self, channel_id: int) -> ChannelView | None:
        hit = self._entries.get(channel_id)
        if hit is not None and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        # When an entry runs out under load, every request of that moment misses at once: they
        # share one read instead of each taking a pooled connection for the same row.
        loading = self._loading.get(channel_id)
        if loading is None:
            loading = asyncio.ensure_future(self._load(channel_id))
            self._loading[channel_id] = loading
            loading.add_done_callback(lambda _done: self._loading.pop(channel_id, None))
        return await asyncio.shield(loading)

    async def _load(self, channel_id: int) -> ChannelView | None:
        async def query(session: AsyncSession) -> ChannelView | None:
            ch = await session.get(Channel, channel_id)
            if ch is None:
                return None
            return ChannelView(ch.id, ch.type, ch.secret, ch.is_active, ch.team_id, dict(ch.config))

        started = time.monotonic()
        view = await self._ctx.read(query)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[channel_id] = (started, view)
        return view


async def channel_by_secret(
    cache: ChannelCache, channel_id: int, channel_type: str, presented: str
) -> ChannelView | None:
    """The active channel of ``channel_type`` whose secret was ``presented``, else None.

    The comparison takes the same time whether or not the id exists, and every wrong case
    answers alike, so a webhook's 401 does not tell which channel ids exist. Every channel's
    inbound route asks this."""
    channel = await cache.get(channel_id)
    secret = channel.secret if channel is not None else "-" * 43
    valid = hmac.compare_digest(presented.encode(), secret.encode())
    if channel is None or not valid or channel.type != channel_type or not channel.is_active:
        return None
    return channel
