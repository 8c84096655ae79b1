"""Are any operators online? The widget tells visitors when nobody is there to answer.

Each process counts its own operator sockets. With Redis every process writes its count under a
key of its own with a short expiry and refreshes it (a ``PeriodicWorker``), so a process that
dies stops counting within the expiry; without Redis the local count is the answer.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis.asyncio as aioredis

from hub.worker import PassFailed, PeriodicWorker

#: How much longer than the refresh interval a count is kept: a refresh or two may fail.
TTL_REFRESHES = 3


class Presence(PeriodicWorker):
    name = "presence"

    def __init__(
        self,
        local_count: Callable[[], int],
        redis_url: str | None,
        prefix: str,
        *,
        refresh_s: float,
        backoff_s: float,
    ) -> None:
        super().__init__(interval_s=refresh_s, backoff_s=backoff_s)
        self._local_count = local_count
        self._redis: aioredis.Redis | None = None
        if redis_url:
            import redis.asyncio  # the Redis client only when Redis is used

            self._redis = redis.asyncio.from_url(redis_url, decode_responses=True)
        self._key = f"{prefix}:presence:{uuid.uuid4().hex}"
        self._pattern = f"{prefix}:presence:*"
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

    async def publish_local(self) -> None:
        """Write this process's count now (called when a socket opens or closes)."""
        if self._redis is not None:
            await self._redis.set(self._key, self._local_count(), ex=self._ttl_s)

    async def run_once(self) -> int:
        """Refresh this process's count; the count. Redis away is the bus's to report."""
        try:
            await self.publish_local()
        except Exception as exc:
            raise PassFailed("presence not refreshed") from exc
        return self._local_count()

    async def operators_online(self) -> bool:
        if self._local_count() > 0:
            return True
        if self._redis is None:
            return False
        from redis.exceptions import RedisError  # loaded with the client

        try:
            async for key in self._redis.scan_iter(match=self._pattern, count=100):
                value = await self._redis.get(key)
                if value and int(value) > 0:
                    return True
        except RedisError:
            return False
        return False
