"""Has a visitor a widget tab open anywhere? An operator's reply to one who has none goes by
email (``email_route``), and to one who has, never.

Each process knows its own tabs (``WidgetLive.has_tab``). With Redis every process also keeps
them in a set of its own with a short expiry, refreshed by a ``PeriodicWorker`` and changed
as tabs open and close, so a process that dies stops counting within the expiry (as operator
presence does, ``hub.process_entry``); without Redis there is one process and its tabs are
the answer. If Redis does not answer, the visitor counts as away: a reply by email to
somebody who was reading anyway costs less than an answer that never reaches him.
"""

from __future__ import annotations

import contextlib

from hub.channels.widget.live import WidgetLive
from hub.process_entry import ProcessEntry
from hub.worker import PassFailed


def _member(channel_id: int, key: str) -> str:
    return f"{channel_id}:{key}"


class VisitorTabs(ProcessEntry):
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
        super().__init__("widget-tabs", redis_url, prefix, refresh_s=refresh_s, backoff_s=backoff_s)
        self._live = live

    async def run_once(self) -> int:
        """Write this process's open tabs again; how many identities have one."""
        keys = self._live.open_keys()
        if self.redis is None:
            return len(keys)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(self.key)
                if keys:
                    pipe.sadd(self.key, *(_member(ch, key) for ch, key in keys))
                    pipe.expire(self.key, self.ttl_s)
                await pipe.execute()
        except Exception as exc:
            raise PassFailed("visitor tabs not refreshed") from exc
        return len(keys)

    async def opened(self, channel_id: int, key: str) -> None:
        """A tab opened here: other processes see it at once, not at the next refresh."""
        if self.redis is None:
            return
        with contextlib.suppress(Exception):  # the next refresh writes it
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.sadd(self.key, _member(channel_id, key))
                pipe.expire(self.key, self.ttl_s)
                await pipe.execute()

    async def closed(self, channel_id: int, key: str) -> None:
        if self.redis is None or self._live.has_tab(channel_id, key):
            return
        with contextlib.suppress(Exception):  # the next refresh drops it
            await self.redis.srem(self.key, _member(channel_id, key))

    async def is_open(self, channel_id: int, key: str) -> bool:
        """Whether the identity has a tab open on any process."""
        if self._live.has_tab(channel_id, key):
            return True
        if self.redis is None:
            return False
        from redis.exceptions import RedisError  # loaded with the client

        member = _member(channel_id, key)
        try:
            async for found in self.redis.scan_iter(match=self.pattern, count=100):
                if await self.redis.sismember(found, member):
                    return True
        except RedisError:
            return False
        return False
