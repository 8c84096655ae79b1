"""Has a visitor a widget tab open anywhere? An operator's reply to one who has none goes by
email (``email_route``), and to one who has, never.

Each process knows its own tabs (``WidgetLive.has_tab``). With Redis every process also keeps
them in a set of its own with a short expiry, refreshed by a ``PeriodicWorker`` and changed
as tabs open and close, so a process that dies stops counting within the expiry (as operator
presence does, ``hub.presence``); without Redis there is one process and its tabs are the
answer. If Redis does not answer, the visitor counts as away: a reply by email to somebody
who was reading anyway costs less than an answer that never reaches him.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis.asyncio as aioredis

from hub.channels.widget.live import WidgetLive
from hub.worker import PassFailed, PeriodicWorker

#: How much longer than the refresh interval a process's tabs are kept.
TTL_REFRESHES = 3


def _member(channel_id: int, key: str) -> str:
    return f"{channel_id}:{key}"


class VisitorTabs(PeriodicWorker):
    name = "visitor-tabs"

    def __init__(
        self,
        live: WidgetLive,
        redis_url: str | None,
        prefix: str,
        *,
        refresh_s: float,
        backoff_s: float,
    ) -> None:
        super().__init__(interval_s=refresh_s, backoff_s=backoff_s)
        self._live = live
        self._redis: aioredis.Redis | None = None
        if redis_url:
            import redis.asyncio  # the Redis client only when Redis is used

            self._redis = redis.asyncio.from_url(redis_url, decode_responses=True)
        self._key = f"{prefix}:widget-tabs:{uuid.uuid4().hex}"
        self._pattern = f"{prefix}:widget-tabs:*"
        self._ttl_s = max(1, round(refresh_s * TTL_REFRESHES))

    async def start(self) -> None:
        if self._redis is not None:  # without Redis there is nothing to refresh
            await super().start()

    async def close(self) -> None:
        await self.stop()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.delete(self._key)
            await self._redis.aclose()

    async def run_once(self) -> int:
        """Write this process's open tabs again; how many identities have one."""
        keys = self._live.open_keys()
        if self._redis is None:
            return len(keys)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(self._key)
                if keys:
                    pipe.sadd(self._key, *(_member(ch, key) for ch, key in keys))
                    pipe.expire(self._key, self._ttl_s)
                await pipe.execute()
        except Exception as exc:
            raise PassFailed("visitor tabs not refreshed") from exc
        return len(keys)

    async def opened(self, channel_id: int, key: str) -> None:
        """A tab opened here: other processes see it at once, not at the next refresh."""
        if self._redis is None:
            return
        with contextlib.suppress(Exception):  # the next refresh writes it
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.sadd(self._key, _member(channel_id, key))
                pipe.expire(self._key, self._ttl_s)
                await pipe.execute()

    async def closed(self, channel_id: int, key: str) -> None:
        if self._redis is None or self._live.has_tab(channel_id, key):
            return
        with contextlib.suppress(Exception):  # the next refresh drops it
            await self._redis.srem(self._key, _member(channel_id, key))

    async def is_open(self, channel_id: int, key: str) -> bool:
        """Whether the identity has a tab open on any process."""
        if self._live.has_tab(channel_id, key):
            return True
        if self._redis is None:
            return False
        from redis.exceptions import RedisError  # loaded with the client

        member = _member(channel_id, key)
        try:
            async for found in self._redis.scan_iter(match=self._pattern, count=100):
                if await self._redis.sismember(found, member):
                    return True
        except RedisError:
            return False
        return False
