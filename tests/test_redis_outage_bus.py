"""The Redis bus under faults: every event lost to Redis becomes a gap that followers and resumes
see, on every process, and following goes on once Redis is back.

Each test runs a redis-server of its own (``tests.redis_faults``), never the shared one. A
"process" here is what each hub process has: a ``RedisBus`` and a follower of the events topic
(``hub.bus.follow``), which records the events it gets and the gaps it is told of.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from hub.bus import GapError, follow, stop
from hub.redis_bus import GAP, RedisBus
from tests.redis_faults import CuttableLink, RedisServer

TOPIC = "events"


@dataclass
class Process:
    bus: RedisBus
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    async def handle(self, event_id: str, payload: dict[str, Any]) -> None:
        self.events.append((event_id, payload))
        self.changed.set()

    async def on_gap(self, after: str) -> None:
        self.gaps.append(after)
        self.changed.set()

    def seen(self) -> list[Any]:
        return [payload["n"] for _, payload in self.events]

    async def wait(self, done: Callable[[], bool], within: float = 15.0) -> None:
        """Until ``done()``, woken by each event or gap; fails after ``within`` seconds."""

        async def until() -> None:
            while not done():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(until(), within)


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def processes() -> AsyncIterator[Callable[[str, str], Any]]:
    """Makes processes (a bus on a URL and its follower) and stops them all at the end."""
    made: list[Process] = []
    prefix = f"hubtest:{uuid.uuid4().hex[:8]}"

    async def make(url: str, name: str) -> Process:
        bus = RedisBus(url, prefix)
        await bus.start()
        proc = Process(bus)
        after = await bus.last_id(TOPIC)
        proc.task = asyncio.create_task(
            follow(bus, TOPIC, after, proc.handle, proc.on_gap), name=f"follower-{name}"
        )
        made.append(proc)
        return proc

    try:
        yield make
    finally:
        for proc in made:
            if proc.task is not None:
                await stop(proc.task)
            await proc.bus.close()


async def publish(proc: Process, *numbers: int) -> list[str]:
    return await proc.bus.publish_many(TOPIC, [{"n": n} for n in numbers])


async def live_again(publisher: Process, *followers: Process, start: int = 100) -> int:
    """Publish until an event reaches every follower live; its number. A follower may be told
    of one more gap first (each process marks the loss it saw; a follower that reads a marker
    skips to the newest event, maybe past the one just published), but not of many."""
    for n in range(start, start + 5):
        gaps = [len(f.gaps) for f in followers]
        await publish(publisher, n)
        for f, before in zip(followers, gaps, strict=True):
            await f.wait(lambda f=f, b=before, n=n: n in f.seen() or len(f.gaps) > b)  # type: ignore[misc]
        if all(n in f.seen() for f in followers):
            return n
    pytest.fail(f"followers still told of gaps after 5 events: {[f.gaps for f in followers]}")


async def test_a_publish_lost_on_one_process_is_a_gap_on_the_other(
    redis_server: RedisServer, processes: Callable[[str, str], Any]
) -> None:
    """Only A's link to Redis fails: B's follower never notices anything itself, yet it gets
    the gap, and a resume on B across A's lost event is refused."""
    link = CuttableLink(redis_server.port)
    await link.start()
    a: Process = await processes(link.url, "a")
    b: Process = await processes(redis_server.url, "b")
    [first] = await publish(a, 1)
    await b.wait(lambda: b.seen() == [1])

    await link.cut()
    a.bus.publish_nowait(TOPIC, [{"n": 2}])  # committed in the database, lost to Redis
    await a.bus.flushed()
    assert a.bus.lost(TOPIC)
    await publish(b, 3)  # B's own events still flow
    await b.wait(lambda: b.seen() == [1, 3])
    assert b.gaps == []

    await link.mend()
    await b.wait(lambda: len(b.gaps) == 1)  # A's marker, written once its link is back
    await a.wait(lambda: len(a.gaps) == 1)  # A's follower lost its link too
    assert not a.bus.lost(TOPIC)
    with pytest.raises(GapError):
        await b.bus.read_after(TOPIC, first)  # "resumed" would hide event 2
    # Live again after the gap, from either process.
    await live_again(a, a, b)
    await live_again(b, a, b, start=200)
    await link.cut()


@pytest.mark.parametrize("restart", ["empty", "older save", "full save"])
async def test_redis_restarted_is_a_gap_for_every_follower_and_resume(
    redis_server: RedisServer, processes: Callable[[str, str], Any], restart: str
) -> None:
    """Redis goes away while A publishes, and comes back empty (killed without a save), from
    an older save file (killed after a save), or from a save of everything (shut down, which
    saves): A's publishes while it was away are lost in every case."""
    a: Process = await processes(redis_server.url, "a")
    b: Process = await processes(redis_server.url, "b")
    ids = await publish(a, 1, 2, 3)
    if restart == "older save":
        await redis_server.save()
    ids += await publish(a, 4, 5, 6)
    await b.wait(lambda: b.seen() == [1, 2, 3, 4, 5, 6])
    await a.wait(lambda: a.seen() == [1, 2, 3, 4, 5, 6])

    if restart == "full save":
        await redis_server.shutdown()
    else:
        await redis_server.kill()
        if restart == "empty":
            redis_server.dump.unlink(missing_ok=True)
    a.bus.publish_nowait(TOPIC, [{"n": 7}])  # lost
    await a.bus.flushed()
    assert a.bus.lost(TOPIC)
    await redis_server.start()

    for proc in (a, b):
        await proc.wait(lambda proc=proc: len(proc.gaps) >= 1)  # type: ignore[misc]
    for after in ("0-0", ids[0], ids[1], ids[4], ids[5]):
        with pytest.raises(GapError):
            await b.bus.read_after(TOPIC, after)
        with pytest.raises(GapError):
            await a.bus.read_after(TOPIC, after)
    await live_again(a, a, b)
    await live_again(b, a, b, start=200)
    for proc in (a, b):
        assert 7 not in proc.seen()


@pytest.mark.parametrize("how", ["flushall", "del"])
async def test_a_stream_deleted_under_live_followers_is_a_gap(
    redis_server: RedisServer, processes: Callable[[str, str], Any], how: str
) -> None:
    """No connection breaks: the stream is emptied behind the followers' backs (FLUSHALL, or
    its key deleted) and a process that noticed nothing publishes on. The new stream does not
    follow on from what the followers saw, so each gets a gap, and resumes are refused."""
    a: Process = await processes(redis_server.url, "a")
    b: Process = await processes(redis_server.url, "b")
    ids = await publish(a, 1, 2, 3)
    await b.wait(lambda: b.seen() == [1, 2, 3])
    admin = aioredis.from_url(redis_server.url)
    try:
        if how == "flushall":
            await admin.flushall()
        else:
            await admin.delete(b.bus.key(TOPIC))
    finally:
        await admin.aclose()
    with pytest.raises(GapError):
        await b.bus.read_after(TOPIC, ids[1])

    await publish(a, 4)
    for proc in (a, b):
        await proc.wait(lambda proc=proc: len(proc.gaps) >= 1)  # type: ignore[misc]
    for after in (ids[0], ids[2]):
        with pytest.raises(GapError):
            await b.bus.read_after(TOPIC, after)
    await live_again(b, a, b)


async def test_a_follower_reads_a_marker_as_a_gap_and_goes_on_after_it(
    redis_server: RedisServer, processes: Callable[[str, str], Any]
) -> None:
    """The marker is an entry of the stream: between events, it splits what a resume may
    replay (before it) from what it may not (across it)."""
    a: Process = await processes(redis_server.url, "a")
    ids = await publish(a, 1, 2)
    admin = aioredis.from_url(redis_server.url, decode_responses=True)
    try:
        top = ids[-1]
        marker = await admin.xadd(a.bus.key(TOPIC), {"p": top, GAP: "a test's marker"})
    finally:
        await admin.aclose()
    await a.wait(lambda: len(a.gaps) == 1)
    assert a.gaps == [marker]
    later = await publish(a, 3)
    await a.wait(lambda: a.seen() == [1, 2, 3])
    with pytest.raises(GapError):
        await a.bus.read_after(TOPIC, ids[0])
    assert await a.bus.read_after(TOPIC, marker) == [(later[0], {"n": 3})]
