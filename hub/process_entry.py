"""What each hub process keeps in Redis about itself, for the others to read: one key per
process with a short expiry, refreshed by a ``PeriodicWorker``, so a process that dies stops
counting within the expiry. Operator presence (``hub.presence``) and the widget's open visitor
tabs (``hub.channels.widget.tabs``) are kept this way. Without Redis there is one process, its
own state is the answer, and there is nothing to refresh.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis.asyncio as aioredis

from hub.worker import PeriodicWorker

#: How much longer than the refresh interval a process's entry is kept: a refresh or two may
#: fail.
TTL_REFRESHES = 3
#: The longest a call to Redis may take here: these are asked on a request's path (is anyone
#: online, has the visitor a tab open), and a frozen Redis must give an answer, not a hang.
REDIS_TIMEOUT_S = 1.0


class ProcessEntry(PeriodicWorker):
    """A process's key ``<prefix>:<kind>:<process>``; ``pattern`` finds every process's."""

    def __init__(
        self, kind: str, redis_url: str | None, prefix: str, *, refresh_s: float, backoff_s: float
    ) -> None:
        super().__init__(interval_s=refresh_s, backoff_s=backoff_s)
        self.redis: aioredis.Redis | None = None
        if redis_url:
            import redis.asyncio  # the Redis client only when Redis is used

            self.redis = redis.asyncio.from_url(
                redis_url,
                decode_responses=True,
                socket_timeout=REDIS_TIMEOUT_S,
                socket_connect_timeout=REDIS_TIMEOUT_S,
            )
        self.key = f"{prefix}:{kind}:{uuid.uuid4().hex}"
        self.pattern = f"{prefix}:{kind}:*"
        self.ttl_s = max(1, round(refresh_s * TTL_REFRESHES))

    async def start(self) -> None:
        if self.redis is not None:  # without Redis there is nothing to refresh
            await super().start()

    async def close(self) -> None:
        await self.stop()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.delete(self.key)
            await self.redis.aclose()
