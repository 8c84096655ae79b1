"""The Redis Streams bus (see ``hub.bus`` for the interface and the in-process one): one
stream per topic, so several hub processes see each other's events.

Redis may go away (killed, restarted empty or from an older save file, flushed) while the
database keeps committing. The events of those commits are then lost to the bus; this module
makes every such loss visible instead of silent, so each follower and each resume ends in
``GapError`` (operators get ``resync`` and refetch from the database):

* **Gap markers.** When a publish fails, or a follower's read fails (Redis may have dropped
  anything meanwhile, published by any process, even one that died since), the process
  remembers the stream as *lost*. Its next append, or a repair retried every ``REPAIR_S``
  until Redis answers, first writes a marker entry (field ``g``) into the stream, in the same
  script call as the events that follow it. Every follower that reads a marker, and every
  resume whose range holds one, gets ``GapError``. A marker written by the process that
  failed reaches the sockets of every other process, and the other processes write their own.
* **Chained entries.** Each entry carries the id of the entry before it in the stream
  (field ``p``, set by the append script). A follower and a resume check that each entry
  follows the one they saw last: a stream recreated (Redis restarted empty, ``FLUSHALL``, the
  key deleted), rewound (restarted from an older save file) or trimmed past a slow reader
  breaks the chain and gives ``GapError``. A follower that finds an event (not a marker)
  breaking the chain, other than by trimming, also marks the stream lost, so a marker follows
  for every process's resumes (a resume alone does not: its id comes from a client).

Why not a transactional outbox (events written in each commit, relayed to Redis): it would
cost a write in every batch's transaction and a relay, and touch every action; the markers cost
one XREVRANGE per append script call. What they cannot see, and an outbox would: a process that
dies between its commit and its append while Redis stays up, or that loses only its own link to
Redis and dies before it is back (README, "Redis outages").
"""

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
from hub.bus import BusUnavailable, GapError, Payload, parse_event_id

log = logging.getLogger(__name__)
#: How long ``flushed`` waits at most: a slow or unreachable Redis must not hold up every
#: answer for longer (the events then follow, or their loss is marked, see the docstring).
FLUSH_WAIT_S = 0.2
#: How often a gap marker that could not be written is tried again while Redis is away.
REPAIR_S = 0.5
#: Fields of a stream entry: the event, a gap marker's reason, the id of the entry before.
EVENT, GAP, PREVIOUS = "e", "g", "p"

#: Appends a flush's events: KEYS are the streams; ARGV the retention, then for each stream
#: why it lost events ("" if it did not: then no marker), then how many events it gets, then
#: the events in order. Each entry carries the id of the entry before it (``PREVIOUS``), so a
#: reader can tell a stream that lost entries from one that did not. A marker also carries an
#: event for nobody, so a hub of the previous release (a rolling upgrade) reads past it.
#: One command instead of an XADD each: redis-py packs and parses one command, and a follower
#: blocked on a stream wakes once, after the script, with all of them (after a pipeline of
#: XADDs it woke after the first, and read the rest with another round trip).
_APPEND = """
local n = #KEYS
local at = 2 + 2 * n
local out = {}
for k = 1, n do
  local key = KEYS[k]
  local top = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
  local prev = '0-0'
  if top[1] then prev = top[1][1] end
  local ids = {''}
  if ARGV[1 + k] ~= '' then
    prev = redis.call('XADD', key, 'MAXLEN', '~', ARGV[1], '*', 'p', prev, 'g', ARGV[1 + k],
                      'e', '{"event":"bus.gap","recipients":{}}')
    ids[1] = prev
  end
  for i = 1, tonumber(ARGV[1 + n + k]) do
    prev = redis.call('XADD', key, 'MAXLEN', '~', ARGV[1], '*', 'p', prev, 'e', ARGV[at])
    ids[i + 1] = prev
    at = at + 1
  end
  out[k] = ids
end
return out
"""


class RedisBus:
    """Redis Streams bus: ``XADD`` (from a script, see ``_APPEND``) with approximate trimming,
    ``XREAD BLOCK`` to follow; gap markers and chained entries (see the module docstring)."""

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
        #: Streams that may have lost events, each with why (and a count of marks, so a loss
        #: seen while a marker is on its way is not forgotten): the next append marks the gap.
        self._lost: dict[str, tuple[int, str]] = {}
        self._marks = 0
        self._repair: asyncio.Task[None] | None = None
        self._closing = False
        #: Whether the last append failed: an outage is logged when it starts and ends, not
        #: once per event.
        self._failing = False

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
            self._closing = False

    async def close(self) -> None:
        self._closing = True
        if self._repair is not None:
            self._repair.cancel()
            await asyncio.gather(self._repair, return_exceptions=True)
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        if self._lost:
            log.error("closing with a gap not marked on Redis: %s", ", ".join(self._lost))
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    def lost(self, topic: str) -> bool:
        """Whether ``topic`` may have lost events that no marker on Redis tells of yet."""
        return self.key(topic) in self._lost

    def _mark_lost(self, key: str, why: str) -> None:
        """Remember that ``key`` may have lost events; a marker goes to Redis when it answers."""
        self._marks += 1
        self._lost[key] = (self._marks, self._lost[key][1] if key in self._lost else why)
        self._start_repair()

    def _start_repair(self) -> None:
        if self._lost and not self._closing and (self._repair is None or self._repair.done()):
            self._repair = asyncio.get_running_loop().create_task(
                self._repair_gaps(), name="redis-bus-repair"
            )

    async def _repair_gaps(self) -> None:
        """Write the pending gap markers, trying again every ``REPAIR_S`` while Redis is away,
        so the gap reaches every follower soon after Redis is back even if nothing else is
        published."""
        while self._lost and not self._closing:
            await self._drain()
            if self._lost:
                await asyncio.sleep(REPAIR_S)

    async def publish(self, topic: str, payload: Payload) -> str:
        """Queue an XADD; the events published meanwhile go to Redis in one command, in the
        order they were published, so a burst costs one round trip instead of one each."""
        return (await self.publish_many(topic, [payload]))[0]

    async def publish_many(self, topic: str, payloads: list[Payload]) -> list[str]:
        futures = self._enqueue(topic, payloads)
        return [await future for future in futures]

    def publish_nowait(self, topic: str, payloads: list[Payload]) -> None:
        """Queue payloads for the next flush and return at once. A failure is not raised: the
        stream is marked lost (see the module docstring) and the outage logged.
        Reads of this bus (``read_after``, ``last_id``) wait for what is queued first."""
        for future in self._enqueue(topic, payloads):
            future.add_done_callback(_retrieve)

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
            # ``wait`` neither raises the publish's failure (marked and logged by the flush)
            # nor cancels it on time-out.
            await asyncio.wait([newest], timeout=FLUSH_WAIT_S)

    async def _drain(self) -> None:
        """Wait until what is queued, and the pending gap markers, are on Redis (or failed)."""
        if (self._outbox or self._lost) and (self._flusher is None or self._flusher.done()):
            self._flusher = asyncio.create_task(self._flush())
        while self._flusher is not None and not self._flusher.done():
            await asyncio.gather(self._flusher, return_exceptions=True)

    async def _flush(self) -> None:
        while self._outbox or self._lost:
            batch, self._outbox = self._outbox, []
            lost = dict(self._lost)
            per_key: dict[str, list[tuple[str, asyncio.Future[str]]]] = {key: [] for key in lost}
            for key, data, future in batch:
                per_key.setdefault(key, []).append((data, future))
            keys = list(per_key)
            gaps = [lost[key][1] or "lost" if key in lost else "" for key in keys]
            counts = [len(per_key[key]) for key in keys]
            payloads = [data for key in keys for data, _future in per_key[key]]
            try:
                if self._append is None:
                    raise RuntimeError("RedisBus used before start()")
                ids: Any = await self._append(keys, [self._retention, *gaps, *counts, *payloads])
            except Exception as exc:
                self._failed(exc, per_key)
                if not self._outbox:
                    return  # the repair tries again after a pause, not in a tight loop
                continue
            for key, mark in lost.items():
                if self._lost.get(key) == mark:
                    del self._lost[key]
            if self._failing:
                self._failing = False
                log.warning("Redis answers again; the gap is marked, operators resync")
            for key, key_ids in zip(keys, ids, strict=True):
                for (_data, future), event_id in zip(per_key[key], key_ids[1:], strict=True):
                    if not future.done():
                        future.set_result(str(event_id))

    def _failed(
        self, exc: Exception, per_key: dict[str, list[tuple[str, asyncio.Future[str]]]]
    ) -> None:
        """An append failed: its events may be lost, so each of their streams gets a marker
        when Redis answers again (the script is atomic: all of them were appended or none,
        and appending none is what we must assume)."""
        if not self._failing:
            self._failing = True
            log.error("publishing to Redis failed (%s); the lost events will be marked", exc)
        for key, entries in per_key.items():
            if entries:
                self._mark_lost(key, f"an append failed: {exc}"[:200])
            for _data, future in entries:
                if not future.done():
                    future.set_exception(exc)
        self._start_repair()

    async def _info(self, topic: str) -> dict[str, Any] | None:
        """XINFO STREAM: the last id given out, the oldest entry, and how many were ever added."""
        try:
            info: dict[str, Any] = await self.redis.xinfo_stream(self.key(topic))
        except aioredis.ResponseError:
            return None  # no such stream yet
        return info

    async def last_id(self, topic: str) -> str:
        await self._drain()
        try:
            info = await self._info(topic)
        except aioredis.RedisError as exc:
            raise BusUnavailable(f"Redis did not answer: {exc}") from exc
        return "0-0" if info is None else str(info["last-generated-id"])

    async def _check_gap(self, topic: str, after: str) -> None:
        """Whether the events after ``after`` can be read, as far as the stream's head says:
        a missing stream or a newer id is from another life of the bus, and an id older than
        the oldest entry of a trimmed stream is past its retention. The entries read next are
        checked against their ``PREVIOUS`` too (``_payload``); this is what remains for the
        first read and for entries written before the chain (without a ``PREVIOUS``)."""
        wanted = parse_event_id(after)
        if self.lost(topic):
            raise GapError("this process may have lost events that no marker tells of yet")
        info = await self._info(topic)
        if info is None:
            if wanted != (0, 0):
                raise GapError("no events are retained")
            return
        if wanted > parse_event_id(str(info["last-generated-id"])):
            raise GapError("the id is newer than anything this bus published")
        if _trimmed_past(info, wanted):
            raise GapError("events after this id are no longer retained")

    async def read_after(
        self, topic: str, after: str, limit: int = 1000
    ) -> list[tuple[str, Payload]]:
        await self._drain()
        try:
            await self._check_gap(topic, after)
            entries: Any = await self.redis.xrange(self.key(topic), f"({after}", "+", count=limit)
        except aioredis.RedisError as exc:
            raise BusUnavailable(f"Redis did not answer: {exc}") from exc
        out: list[tuple[str, Payload]] = []
        last = after
        for eid, fields in entries:
            out.append((str(eid), _payload(last, fields)))
            last = str(eid)
        return out

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
                except aioredis.RedisError as exc:
                    _raise_if_cancelling()
                    # While this follower could not read, Redis may have lost events of any
                    # process (restarted, say): the gap is marked once it answers again.
                    self._mark_lost(key, f"a follower's read failed: {exc}"[:200])
                    raise
                for _stream, entries in response or []:
                    for eid, fields in entries:
                        try:
                            payload = _payload(last, fields)
                        except _Unchained:
                            # Recreated or rewound: tell the other processes with a marker.
                            info = await self._info(topic)
                            if info is None or not _trimmed_past(info, parse_event_id(last)):
                                self._mark_lost(key, f"the stream did not go on from {last}")
                            raise
                        last = str(eid)
                        yield last, payload
        finally:
            await reader.aclose()


class _Unchained(GapError):
    """An entry that does not follow on from the one read before it."""


def _payload(last: str, fields: dict[str, str]) -> Payload:
    """The event of an entry read right after ``last``; ``GapError`` if the entry is a gap
    marker, ``_Unchained`` if the stream lost entries in between (recreated, rewound, or
    trimmed past the reader). Entries written before the chain have no ``PREVIOUS``."""
    if GAP in fields:
        raise GapError(f"the bus lost events: {fields[GAP]}")
    previous = fields.get(PREVIOUS)
    if previous is not None and previous != last:
        raise _Unchained(f"the stream does not follow on from {last}: events were lost")
    payload: Payload = jsoncodec.loads(fields[EVENT])
    return payload


def _trimmed_past(info: dict[str, Any], wanted: tuple[int, int]) -> bool:
    """Whether the stream dropped events after ``wanted`` to its retention (XINFO STREAM says
    more were added than it holds, and its oldest is newer): a reader too slow for it, not a
    loss of Redis's. The one event just before the oldest cannot be told from a trimmed one."""
    if int(info["entries-added"]) <= int(info["length"]):
        return False
    first = info.get("first-entry")
    return not first or wanted < parse_event_id(str(first[0]))


def _retrieve(future: asyncio.Future[str]) -> None:
    """Take a failed publish's exception (the flush logged the outage), so asyncio does not
    log it again as never retrieved."""
    if not future.cancelled():
        future.exception()


def _raise_if_cancelling() -> None:
    """Raise the cancel redis-py swallowed. A cancel that lands mid-command surfaces there as
    ``TimeoutError``, which it retries (or which a follower's retry-on-error loop catches), so
    the task would never stop; ``Task.cancelling()`` still remembers the request."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
