"""The bus announces committed changes; the database stays the source of truth.

Two implementations behind one interface, chosen by ``HUB_REDIS_URL``:

* ``MemoryBus``: a ring buffer per topic in this process (the embedded default).
* ``RedisBus`` (``hub.redis_bus``): one Redis Stream per topic, so several hub processes see
  each other's events.

Event ids increase, look alike on both (``"<n>-<m>"``) and order events across processes on
Redis. A subscriber that comes back with the last id it saw gets exactly what it missed; if
that id is older than what is retained, or from another life of the bus, or if the bus lost
events after it (Redis went away, see ``hub.redis_bus``), it gets ``GapError`` and must refetch
state from the database. The in-process bus cannot lose an event it was given.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hub import jsoncodec

Payload = dict[str, Any]
#: Events per topic the in-process bus also keeps undecoded (see ``_Topic.recent``).
RECENT = 512
log = logging.getLogger(__name__)


class GapError(Exception):
    """The events after the given id are no longer retained: refetch and start afresh."""


class BusUnavailable(Exception):
    """The bus did not answer (Redis is away): try again later. The in-process bus never
    raises it."""


class BadEventId(ValueError):
    """An event id that is not of the form ``<n>-<m>``."""


def parse_event_id(value: str) -> tuple[int, int]:
    """Split an id into comparable integers; raise ``BadEventId`` for anything else."""
    left, sep, right = value.partition("-")
    # ASCII only: str.isdigit() also accepts digits int() refuses ("²") or Redis refuses ("١").
    if (
        not sep
        or not value.isascii()
        or not left.isdigit()
        or not right.isdigit()
        or len(value) > 42
    ):
        raise BadEventId(f"not an event id: {value[:50]!r}")
    return int(left), int(right)


class Bus(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> bool: ...

    async def publish(self, topic: str, payload: Payload) -> str:
        """Append ``payload`` to ``topic`` and return its id."""
        ...

    async def publish_many(self, topic: str, payloads: list[Payload]) -> list[str]:
        """Append several payloads in order; one round trip where the backend allows."""
        ...

    def publish_nowait(self, topic: str, payloads: list[Payload]) -> None:
        """Append in order without waiting for the backend; failures are logged."""
        ...

    async def flushed(self) -> None:
        """Wait until what was published so far is on the bus (or failed), briefly at most."""
        ...

    async def last_id(self, topic: str) -> str:
        """The id of the newest event of ``topic`` (``"0-0"`` when there is none);
        ``BusUnavailable`` if the bus does not answer."""
        ...

    async def read_after(
        self, topic: str, after: str, limit: int = 1000
    ) -> list[tuple[str, Payload]]:
        """Events after ``after``, oldest first; ``GapError`` if some were dropped,
        ``BusUnavailable`` if the bus does not answer."""
        ...

    def subscribe(self, topic: str, after: str | None = None) -> AsyncIterator[tuple[str, Payload]]:
        """Events after ``after`` (default: from now on), then live ones, forever."""
        ...


@dataclass
class _Topic:
    #: Each event as its JSON bytes, as Redis keeps it: a subscriber gets a copy of its own
    #: (none can change what another reads), and ten thousand retained events are ten thousand
    #: objects the garbage collector skips, not the half million dicts and lists they decode
    #: to, whose traversal paused the hub for about a tenth of a second under load.
    entries: deque[tuple[int, bytes]]
    #: The newest events as published, so followers that keep up (all of them, as a rule) get
    #: them without decoding; a few hundred are few objects for the collector.
    recent: deque[Payload] = field(default_factory=lambda: deque(maxlen=RECENT))
    seq: int = 0
    #: Subscribers waiting for the next event; a publish wakes them at once (no task between).
    waiters: list[asyncio.Future[None]] = field(default_factory=list)

    def wake(self) -> None:
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


class MemoryBus:
    """In-process bus: one ring buffer per topic.

    Ids are ``"<epoch>-<seq>"`` (``"0-0"`` before the first): the epoch is when this bus was
    made, in milliseconds, so an id
    kept by a client from before a restart is never mistaken for one of this life's events
    (it gets ``GapError``, and the client resyncs)."""

    def __init__(self, retention: int = 10_000) -> None:
        self._retention = retention
        self._topics: dict[str, _Topic] = {}
        self._epoch = int(time.time() * 1000)

    def _topic(self, name: str) -> _Topic:
        topic = self._topics.get(name)
        if topic is None:
            topic = self._topics[name] = _Topic(deque(maxlen=self._retention))
        return topic

    def _id(self, seq: int) -> str:
        return f"{self._epoch}-{seq}" if seq else "0-0"

    def _seq(self, event_id: str) -> int:
        epoch, seq = parse_event_id(event_id)
        if (epoch, seq) == (0, 0):
            return 0  # "from the start", in any life
        if epoch != self._epoch:
            raise GapError("the id is from another life of this bus")
        return seq

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> bool:
        return True

    async def publish(self, topic: str, payload: Payload) -> str:
        t = self._topic(topic)
        t.seq += 1
        t.entries.append((t.seq, jsoncodec.dumps_kept(payload)))
        t.recent.append(payload)
        t.wake()
        return self._id(t.seq)

    async def publish_many(self, topic: str, payloads: list[Payload]) -> list[str]:
        return [await self.publish(topic, payload) for payload in payloads]

    async def flushed(self) -> None:
        """A publish here is done when it returns; the caller yields once, so the followers it
        woke (the operators' sockets) send before the caller answers, as they do on Redis."""
        await asyncio.sleep(0)

    def publish_nowait(self, topic: str, payloads: list[Payload]) -> None:
        t = self._topic(topic)
        for payload in payloads:
            t.seq += 1
            t.entries.append((t.seq, jsoncodec.dumps_kept(payload)))
            t.recent.append(payload)
        t.wake()

    async def last_id(self, topic: str) -> str:
        return self._id(self._topic(topic).seq)

    def _after(self, t: _Topic, seq: int, limit: int) -> list[tuple[str, Payload]]:
        if seq > t.seq:
            raise GapError("the id is newer than anything this bus published")
        missing = t.seq - seq
        if missing > len(t.entries):
            raise GapError("events after this id are no longer retained")
        if missing == 0:
            return []
        start = len(t.entries) - missing
        first_recent = t.seq - len(t.recent) + 1
        out = []
        for i in range(start, min(len(t.entries), start + limit)):
            n, data = t.entries[i]
            payload = t.recent[n - first_recent] if n >= first_recent else jsoncodec.loads(data)
            out.append((self._id(n), payload))
        return out

    async def read_after(
        self, topic: str, after: str, limit: int = 1000
    ) -> list[tuple[str, Payload]]:
        return self._after(self._topic(topic), self._seq(after), limit)

    async def subscribe(
        self, topic: str, after: str | None = None
    ) -> AsyncIterator[tuple[str, Payload]]:
        t = self._topic(topic)
        last = t.seq if after is None else self._seq(after)
        self._after(t, last, 0)  # GapError now for an id too old or too new, not a silent wait
        while True:
            while t.seq <= last:
                waiter = asyncio.get_running_loop().create_future()
                t.waiters.append(waiter)
                await waiter
            batch = self._after(t, last, 10_000)
            for event_id, payload in batch:
                last = parse_event_id(event_id)[1]
                yield event_id, payload


EventHandler = Callable[[str, Payload], Awaitable[None]]
#: How long ``stop`` waits for a task to end after a cancel before cancelling again.
STOP_RETRY_S = 1.0
#: How soon a follower tries again after the bus failed, and how often it logs that.
RETRY_S = 1.0
LOG_EVERY_S = 60.0


async def stop(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it has ended.

    A background task may not end at the first cancel: on Python 3.11 a cancel that lands
    inside one of redis-py's own time-outs can be taken for that time-out and lost (a follower
    of the Redis bus reads on, a worker's catch-all takes it for a failed round and carries on),
    and ``asyncio.wait_for`` drops a cancel that comes as what it waits for completes. So the
    cancel is repeated until the task is done; a shutdown must not hang on one lost cancel."""
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=STOP_RETRY_S)
    if not task.cancelled() and task.exception() is not None:
        log.warning("%s ended with an error: %r", task.get_name(), task.exception())


async def follow(
    bus: Bus,
    topic: str,
    after: str,
    handle: EventHandler,
    on_gap: Callable[[str], Awaitable[None]] | None = None,
) -> None:
    """Hand every event of ``topic`` after ``after`` to ``handle``, in order, until cancelled.

    When the bus says events were lost to this follower (``GapError``: it fell behind the
    retained window, or the bus lost events, see ``hub.redis_bus``), the follower skips to
    the newest event and calls ``on_gap`` with its id (its clients must resync). Any other
    failure (Redis away) is retried every ``RETRY_S``, logged once per ``LOG_EVERY_S``; a
    bus that lost events meanwhile says so with a ``GapError`` once it is back."""
    gap = False
    logged = -LOG_EVERY_S
    while True:
        try:
            if gap:
                after = await bus.last_id(topic)
                if on_gap is not None:
                    await on_gap(after)
                gap = False
            async for event_id, payload in bus.subscribe(topic, after):
                after = event_id
                await handle(event_id, payload)
        except asyncio.CancelledError:
            raise
        except GapError as exc:
            log.warning("the follower of %s lost events (%s); skipping ahead", topic, exc)
            gap = True
        except Exception as exc:
            now = time.monotonic()
            if now - logged >= LOG_EVERY_S:
                logged = now
                log.warning("following %s failed (%r); retrying every %s s", topic, exc, RETRY_S)
            await asyncio.sleep(RETRY_S)
