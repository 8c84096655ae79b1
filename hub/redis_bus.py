"""The Redis Streams bus (see ``hub.bus`` for the interface and the in-process one): one
stream per topic, so several hub processes see each other's events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript

from hub import jsoncodec
from hub.bus import GapError, Payload, parse_event_id

log = logging.getLogger(__name__)
#: How long ``flushed`` waits at most: a slow or unreachable Redis must not hold up every
#: answer for longer (the events then follow, or their loss is logged).
FLUSH_WAIT_S = 0.2


def _log_failure(future: asyncio.Future[str]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("publishing an event to Redis failed: %s", future.exception())


#: Appends a flush's events: KEYS are the streams, ARGV the retention, then how many events
#: each stream gets, then the events in order. One command instead of an XADD each: redis-py
#: packs and parses one command, and a follower blocked on a stream wakes once, after the
#: script, with all of them (after a pipeline of XADDs it woke after the first, and read the
#: rest with another round trip).
_APPEND = """
local at = #KEYS + 2
local out = {}
for k = 1, #KEYS do
  local ids = {}
  for i = 1, tonumber(ARGV[k + 1]) do
    ids[i] = redis.call('XADD', KEYS[k], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[at])
    at = at + 1
  end
  out[k] = ids
end
return out
"""


class RedisBus:
    """Redis Streams bus: ``XADD`` (from a script, see ``_APPEND``) with approximate trimming,
    ``XREAD BLOCK`` to follow."""

    def __init__(self, url: str, prefix: str, retention: int = 10_000) -> None:
        self._url = url
        self._prefix = prefix
        self._retention = retention
        self._redis: aioredis.Redis | None = None
        self._outbox: list[tuple[str, str, asyncio.Future[str]]] = []
        self._append: AsyncScript | None = None
        self._flusher: asyncio.Task[None] | None = None
        #: The newest queued event's future: flushes go in order, so when it is done, every
        #: event published before it is on Redis too.
        self._newest: asyncio.Future[str] | None = None

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            raise RuntimeError("RedisBus used before start()")
        return self._redis

    def key(self, topic: str) -> str:
        return f"{self._prefix}:stream:{topic}"

    async def start(self) -> None:
        if self._redis is None:
            # A blocking pool: a burst waits for a free connection instead of failing.
            pool = aioredis.BlockingConnectionPool.from_url(
                self._url,
                decode_responses=True,
                health_check_interval=30,
                max_connections=32,
                timeout=10,
            )
            self._redis = aioredis.Redis(connection_pool=pool)
            self._append = self._redis.register_script(_APPEND)

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def publish(self, topic: str, payload: Payload) -> str:
        """Queue an XADD; the events published meanwhile go to Redis in one command, in the
        order they were published, so a burst costs one round trip instead of one each."""
        return (await self.publish_many(topic, [payload]))[0]

    async def publish_many(self, topic: str, payloads: list[Payload]) -> list[str]:
        futures = self._enqueue(topic, payloads)
        return [await future for future in futures]

    def publish_nowait(self, topic: str, payloads: list[Payload]) -> None:
        """Queue payloads for the next flush and return at once; a failure is logged.
        Reads of this bus (``read_after``, ``last_id``) wait for what is queued first."""
        for future in self._enqueue(topic, payloads):
            future.add_done_callback(_log_failure)

    def _enqueue(self, topic: str, payloads: list[Payload]) -> list[asyncio.Future[str]]:
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[str]] = []
        for payload in payloads:
            data = jsoncodec.dumps(payload)
            future: asyncio.Future[str] = loop.create_future()
            self._outbox.append((self.key(topic), data, future))
            futures.append(future)
        if futures:
            self._newest = futures[-1]
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return futures

    async def flushed(self) -> None:
        newest = self._newest
        if newest is not None and not newest.done():
            # ``wait`` neither raises the publish's failure (logged where it was queued) nor
            # cancels it on time-out.
            await asyncio.wait([newest], timeout=FLUSH_WAIT_S)

    async def _drain(self) -> None:
        while self._flusher is not None and not self._flusher.done():
            await asyncio.gather(self._flusher, return_exceptions=True)

    async def _flush(self) -> None:
        while self._outbox:
            batch, self._outbox = self._outbox, []
            per_key: dict[str, list[tuple[str, asyncio.Future[str]]]] = {}
            for key, data, future in batch:
                per_key.setdefault(key, []).append((data, future))
            keys = list(per_key)
            counts = [len(per_key[key]) for key in keys]
            payloads = [data for key in keys for data, _future in per_key[key]]
            try:
                if self._append is None:
                    raise RuntimeError("RedisBus used before start()")
                ids: Any = await self._append(keys, [self._retention, *counts, *payloads])
            except Exception as exc:
                for _key, _data, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for key, key_ids in zip(keys, ids, strict=True):
                for (_data, future), event_id in zip(per_key[key], key_ids, strict=True):
                    if not future.done():
                        future.set_result(str(event_id))

    async def _info(self, topic: str) -> dict[str, Any] | None:
        """XINFO STREAM: the last id given out, the oldest entry, and how many were ever added."""
        try:
            info: dict[str, Any] = await self.redis.xinfo_stream(self.key(topic))
        except aioredis.ResponseError:
            return None  # no such stream yet
        return info

    async def last_id(self, topic: str) -> str:
        await self._drain()
        info = await self._info(topic)
        return "0-0" if info is None else str(info["last-generated-id"])

    async def _check_gap(self, topic: str, after: str) -> None:
        """An id is resumable while the oldest retained event is not newer than it (or nothing
        was ever trimmed); the one event just before the oldest cannot be told from a trimmed
        one, and gets a resync, which is safe."""
        wanted = parse_event_id(after)
        info = await self._info(topic)
        if info is None:
            if wanted != (0, 0):
                raise GapError("no events are retained")
            return
        if wanted > parse_event_id(str(info["last-generated-id"])):
            raise GapError("the id is newer than anything this bus published")
        trimmed = int(info["entries-added"]) > int(info["length"])
        first = info.get("first-entry")
        oldest = parse_event_id(str(first[0])) if first else (2**63, 0)
        if trimmed and wanted < oldest:
            raise GapError("events after this id are no longer retained")

    async def read_after(
        self, topic: str, after: str, limit: int = 1000
    ) -> list[tuple[str, Payload]]:
        await self._drain()
        await self._check_gap(topic, after)
        entries: Any = await self.redis.xrange(self.key(topic), f"({after}", "+", count=limit)
        return [(str(eid), jsoncodec.loads(fields["e"])) for eid, fields in entries]

    async def subscribe(
        self, topic: str, after: str | None = None
    ) -> AsyncIterator[tuple[str, Payload]]:
        if after is None:
            last = await self.last_id(topic)
        else:
            await self._check_gap(topic, after)
            last = after
        key = self.key(topic)
        # A connection of its own: a blocking read holds it, and must not time out. redis-py 8
        # defaults socket_timeout to 5 s, the same as the block below: the read then times out
        # at random, and on Python 3.11 that timeout can swallow a cancel (a hung shutdown).
        # No retries: redis-py retries a read that a cancel interrupted (as TimeoutError), and
        # the cancel is lost; the follower above retries on errors anyway.
        reader = aioredis.from_url(
            self._url, decode_responses=True, socket_timeout=15, retry=Retry(NoBackoff(), 0)
        )
        try:
            while True:
                # A cancel redis-py swallowed (while connecting, say) shows here within a block.
                _raise_if_cancelling()
                try:
                    response: Any = await reader.xread({key: last}, count=1000, block=1000)
                except aioredis.RedisError:
                    _raise_if_cancelling()
                    raise
                for _stream, entries in response or []:
                    if len(entries) >= min(1000, self._retention):
                        # So many new events that some right after ``last`` may have been
                        # trimmed before this read: XREAD would skip them without a word.
                        await self._check_gap(topic, last)
                    for eid, fields in entries:
                        last = str(eid)
                        yield last, jsoncodec.loads(fields["e"])
        finally:
            await reader.aclose()


def _raise_if_cancelling() -> None:
    """Raise the cancel redis-py swallowed. A cancel that lands mid-command surfaces there as
    ``TimeoutError``, which it retries (or which a follower's retry-on-error loop catches), so
    the task would never stop; ``Task.cancelling()`` still remembers the request."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
