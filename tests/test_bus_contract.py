"""One contract for both buses: the in-process ``MemoryBus`` and the Redis Streams ``RedisBus``.

Every test runs on both. The Redis one uses its own key prefix ``hubtest:<random>`` on
``HUB_TEST_REDIS_URL`` and deletes only those keys at the end; without that variable the Redis
cases are skipped, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from hub import bus as bus_module
from hub.bus import BadEventId, Bus, GapError, MemoryBus, parse_event_id
from hub.redis_bus import FLUSH_WAIT_S, RedisBus
from tests.helpers import FRAME_CAP_S

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL")

BusFactory = Callable[..., Awaitable[Bus]]

MALFORMED_IDS = [
    "",
    "abc",
    "1",
    "1-",
    "-1",
    "1-2-3",
    "1.5-0",
    " 1-0",
    "1-0 ",
    "+1-0",
    "0x1-0",
    "1-a",
    "²-0",  # a superscript digit: str.isdigit() says yes, int() says no
    "١-0",  # an Arabic-Indic digit: int() accepts it, Redis does not
    "9" * 50 + "-0",
]


@pytest.fixture(params=["memory", "redis"])
async def make_bus(request: pytest.FixtureRequest) -> AsyncIterator[BusFactory]:
    kind = request.param
    prefix = f"hubtest:{uuid.uuid4().hex[:12]}"
    if kind == "redis" and not REDIS_URL:
        if IN_CI:
            pytest.fail("HUB_TEST_REDIS_URL is not set under CI=true", pytrace=False)
        pytest.skip("set HUB_TEST_REDIS_URL to run the RedisBus contract")
    made: list[Bus] = []

    async def factory(retention: int = 1000) -> Bus:
        bus: Bus
        if kind == "memory":
            bus = MemoryBus(retention)
        else:
            assert REDIS_URL is not None
            bus = RedisBus(REDIS_URL, prefix, retention)
        await bus.start()
        made.append(bus)
        return bus

    try:
        yield factory
    finally:
        for bus in made:
            await bus.close()
        if kind == "redis":
            assert REDIS_URL is not None
            r = aioredis.from_url(REDIS_URL)
            try:
                keys = [k async for k in r.scan_iter(match=f"{prefix}:*", count=1000)]
                if keys:
                    await r.delete(*keys)
            finally:
                await r.aclose()


def new_topic() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


async def publish_many(bus: Bus, topic: str, count: int, start: int = 0) -> list[str]:
    return [await bus.publish(topic, {"n": n}) for n in range(start, start + count)]


async def take(
    agen: AsyncIterator[tuple[str, Any]], count: int, within: float = FRAME_CAP_S
) -> list[Any]:
    async def collect() -> list[Any]:
        out = []
        while len(out) < count:
            out.append(await anext(agen))
        return out

    return await asyncio.wait_for(collect(), within)


def newer_than(event_id: str) -> list[str]:
    """Ids after ``event_id`` that nothing was published under: a later sequence number with
    the same first part, and a later first part."""
    left, right = parse_event_id(event_id)
    return [f"{left}-{right + 1000}", f"{left + 1000}-0"]


async def test_ping(make_bus: BusFactory) -> None:
    bus = await make_bus()
    assert await bus.ping() is True


async def test_publish_returns_increasing_ids(make_bus: BusFactory) -> None:
    bus = await make_bus()
    topic = new_topic()
    assert await bus.last_id(topic) == "0-0"
    ids = await publish_many(bus, topic, 30)
    parsed = [parse_event_id(i) for i in ids]
    assert all(a < b for a, b in itertools.pairwise(parsed)), ids
    assert parsed[0] > (0, 0)
    assert await bus.last_id(topic) == ids[-1]
    # Topics are independent: another topic has nothing yet.
    assert await bus.last_id(new_topic()) == "0-0"


async def test_publish_many_keeps_the_order(make_bus: BusFactory) -> None:
    bus = await make_bus()
    topic = new_topic()
    first = await bus.publish(topic, {"n": 0})
    ids = await bus.publish_many(topic, [{"n": n} for n in range(1, 6)])
    assert len(ids) == 5
    assert await bus.read_after(topic, first) == [(i, {"n": n + 1}) for n, i in enumerate(ids)]
    assert await bus.last_id(topic) == ids[-1]


async def test_publish_nowait_is_seen_by_the_next_read_and_by_subscribers(
    make_bus: BusFactory,
) -> None:
    bus = await make_bus()
    topic = new_topic()
    first = await bus.publish(topic, {"n": 0})
    sub = bus.subscribe(topic, after=first)
    pending = asyncio.ensure_future(take(sub, 6))
    bus.publish_nowait(topic, [{"n": 1}, {"n": 2}, {"n": 3}])
    bus.publish_nowait(topic, [{"n": 4}])
    # Reads wait for what is queued: the next read sees all of it, in order.
    after = await bus.read_after(topic, first)
    assert [payload for _, payload in after] == [{"n": n} for n in range(1, 5)]
    assert await bus.last_id(topic) == after[-1][0]
    await bus.publish_many(topic, [{"n": 5}, {"n": 6}])
    got = await pending
    assert [payload for _, payload in got] == [{"n": n} for n in range(1, 7)]
    assert [event_id for event_id, _ in got[:4]] == [event_id for event_id, _ in after]
    await sub.aclose()  # type: ignore[attr-defined]


async def test_payload_round_trips(make_bus: BusFactory) -> None:
    bus = await make_bus()
    topic = new_topic()
    payload = {"event": "message.created", "data": {"body": "Привет 👋", "n": [1, 2.5, None]}}
    first = await bus.publish(topic, {"n": 0})
    await bus.publish(topic, payload)
    [(_, got)] = await bus.read_after(topic, first)
    assert got == payload


async def test_live_fan_out_to_two_subscribers(make_bus: BusFactory) -> None:
    bus = await make_bus()
    topic = new_topic()
    await bus.publish(topic, {"n": -1})  # published before they subscribe: neither gets it
    subs = [bus.subscribe(topic), bus.subscribe(topic)]
    # Each subscriber notes where "now" is when it starts reading, which a loaded machine may
    # put off: markers are published until both have one, and only then the events.
    first_marker = [asyncio.Event(), asyncio.Event()]

    async def after_a_marker(n: int) -> list[Any]:
        out: list[Any] = []
        async for eid, payload in subs[n]:
            if payload == {"n": -1}:
                return [eid, payload]  # an event from before it subscribed
            if "marker" in payload:
                first_marker[n].set()
            else:
                out.append((eid, payload))
            if len(out) == 10:
                return out
        return out

    readers = [asyncio.ensure_future(after_a_marker(n)) for n in (0, 1)]
    async with asyncio.timeout(FRAME_CAP_S):
        for m in itertools.count():
            await bus.publish(topic, {"marker": m})
            marked = asyncio.gather(*(e.wait() for e in first_marker))
            done, _ = await asyncio.wait([marked], timeout=0.05)
            if done:
                break
            marked.cancel()
        ids = await publish_many(bus, topic, 10)
        got_first, got_second = await asyncio.gather(*readers)
    expected = [(i, {"n": n}) for n, i in enumerate(ids)]
    assert got_first == expected
    assert got_second == expected
    for sub in subs:
        await sub.aclose()  # type: ignore[attr-defined]


async def test_read_after_returns_exactly_the_later_events(make_bus: BusFactory) -> None:
    bus = await make_bus()
    topic = new_topic()
    assert await bus.read_after(topic, "0-0") == []
    ids = await publish_many(bus, topic, 10)
    assert await bus.read_after(topic, ids[3]) == [(i, {"n": n}) for n, i in enumerate(ids)][4:]
    assert await bus.read_after(topic, ids[-1]) == []
    assert [i for i, _ in await bus.read_after(topic, "0-0")] == ids
    assert [i for i, _ in await bus.read_after(topic, ids[0], limit=3)] == ids[1:4]


async def test_subscribe_after_replays_then_continues_live(make_bus: BusFactory) -> None:
    bus = await make_bus()
    topic = new_topic()
    ids = await publish_many(bus, topic, 8)
    sub = bus.subscribe(topic, after=ids[4])
    replayed = await take(sub, 3)
    assert replayed == [(ids[n], {"n": n}) for n in (5, 6, 7)]
    pending = asyncio.ensure_future(take(sub, 3))
    await asyncio.sleep(0.1)
    later = await publish_many(bus, topic, 3, start=8)
    assert await pending == [(later[k], {"n": 8 + k}) for k in range(3)]
    await sub.aclose()  # type: ignore[attr-defined]


async def test_subscribe_from_zero_replays_everything(make_bus: BusFactory) -> None:
    bus = await make_bus()
    topic = new_topic()
    ids = await publish_many(bus, topic, 5)
    sub = bus.subscribe(topic, after="0-0")
    assert [i for i, _ in await take(sub, 5)] == ids
    await sub.aclose()  # type: ignore[attr-defined]


@pytest.fixture
async def trimmed(make_bus: BusFactory) -> tuple[Bus, str, list[str]]:
    """A topic with a retention of 10 after far more events, so the oldest are really gone.

    Redis trims ``MAXLEN ~`` by whole stream nodes (100 entries by default), so it needs many
    more events than its retention before anything is dropped."""
    bus = await make_bus(retention=10)
    topic = new_topic()
    count = 50 if isinstance(bus, MemoryBus) else 500
    ids = await publish_many(bus, topic, count)
    return bus, topic, ids


async def test_resume_after_a_gap_raises_gap_error(trimmed: tuple[Bus, str, list[str]]) -> None:
    bus, topic, ids = trimmed
    # The newest events are kept and can still be resumed from ...
    assert await bus.read_after(topic, ids[-6]) == [
        (ids[n], {"n": n}) for n in range(len(ids) - 5, len(ids))
    ]
    # ... but the oldest are gone, so resuming after them would silently skip some.
    with pytest.raises(GapError):
        await bus.read_after(topic, ids[0])
    with pytest.raises(GapError):
        await bus.read_after(topic, ids[1])
    # "0-0" (from the very start) cannot be honoured either once anything was dropped.
    with pytest.raises(GapError):
        await bus.read_after(topic, "0-0")
    sub = bus.subscribe(topic, after=ids[0])
    with pytest.raises(GapError):
        await asyncio.wait_for(anext(sub), 5)


async def test_subscriber_that_falls_behind_the_retention_gets_gap_error(
    make_bus: BusFactory,
) -> None:
    bus = await make_bus(retention=10)
    topic = new_topic()
    first = await bus.publish(topic, {"n": 0})
    sub = bus.subscribe(topic, after="0-0")
    assert await asyncio.wait_for(anext(sub), 5) == (first, {"n": 0})
    # The subscriber stops reading while far more than the retention is published.
    await publish_many(bus, topic, 50 if isinstance(bus, MemoryBus) else 500, start=1)

    async def drain() -> int:
        seen = 0
        async for _ in sub:
            seen += 1
        return seen

    with pytest.raises(GapError):
        await asyncio.wait_for(drain(), 5)


async def test_cancelled_subscriber_stops_whenever_the_cancel_lands(make_bus: BusFactory) -> None:
    """Shutdown cancels the followers of the bus; a cancel that lands in the middle of a Redis
    command must still end the subscriber (redis-py turns it into a retried TimeoutError)."""
    bus = await make_bus()
    topic = new_topic()
    await bus.publish(topic, {"n": 0})

    async def follow() -> None:
        async for _ in bus.subscribe(topic, after="0-0"):
            pass

    for attempt in range(60):
        task = asyncio.ensure_future(follow())
        await asyncio.sleep((0.0, 0.0005, 0.001, 0.002, 0.005, 0.02)[attempt % 6])
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=3)
        assert done, f"attempt {attempt}: the subscriber ignored its cancel"
        assert task.cancelled(), task


async def test_id_newer_than_anything_published_raises_gap_error(make_bus: BusFactory) -> None:
    bus = await make_bus()
    topic = new_topic()
    # On an empty topic any id but "0-0" is from another life of the bus.
    with pytest.raises(GapError):
        await bus.read_after(topic, "5-0")
    ids = await publish_many(bus, topic, 3)
    for future in newer_than(ids[-1]):
        with pytest.raises(GapError):
            await bus.read_after(topic, future)
        sub = bus.subscribe(topic, after=future)
        with pytest.raises(GapError):
            await asyncio.wait_for(anext(sub), 5)


@pytest.mark.parametrize("bad", MALFORMED_IDS)
async def test_malformed_id_raises_bad_event_id(make_bus: BusFactory, bad: str) -> None:
    bus = await make_bus()
    topic = new_topic()
    await publish_many(bus, topic, 2)
    with pytest.raises(BadEventId):
        parse_event_id(bad)
    with pytest.raises(BadEventId):
        await bus.read_after(topic, bad)
    sub = bus.subscribe(topic, after=bad)
    with pytest.raises(BadEventId):
        await asyncio.wait_for(anext(sub), 5)
    # The bus is still fine afterwards.
    assert len(await bus.read_after(topic, "0-0")) == 2


async def test_events_queued_together_reach_each_topic_in_order(make_bus: BusFactory) -> None:
    """One flush to Redis carries several topics (one script call); each gets its own, in
    order, also when Redis forgot the script (as after a restart)."""
    bus = await make_bus()
    if isinstance(bus, RedisBus):
        await bus.redis.script_flush()
    one, two = new_topic(), new_topic()
    bus.publish_nowait(one, [{"n": 1}, {"n": 2}])
    bus.publish_nowait(two, [{"m": 1}])
    bus.publish_nowait(one, [{"n": 3}])
    ids = await bus.publish_many(two, [{"m": 2}, {"m": 3}])
    assert [payload for _, payload in await bus.read_after(one, "0-0")] == [
        {"n": 1},
        {"n": 2},
        {"n": 3},
    ]
    got = await bus.read_after(two, "0-0")
    assert [payload for _, payload in got] == [{"m": 1}, {"m": 2}, {"m": 3}]
    assert [event_id for event_id, _ in got[1:]] == ids


async def test_flushed_returns_once_the_bus_holds_what_was_published(
    make_bus: BusFactory,
) -> None:
    bus = await make_bus()
    topic = new_topic()
    bus.publish_nowait(topic, [{"n": n} for n in range(3)])
    await bus.flushed()
    # Looked at directly, not through a read of the bus (which waits for the queue itself).
    if isinstance(bus, RedisBus):
        assert await bus.redis.xlen(bus.key(topic)) == 3
    else:
        assert len(await bus.read_after(topic, "0-0")) == 3
    await bus.flushed()  # nothing queued: returns at once


async def test_flushed_waits_only_briefly_for_a_redis_that_does_not_answer() -> None:
    """An answer waits for its events on the bus, but a Redis that accepts and stays silent
    holds it for ``FLUSH_WAIT_S``, not until the connection gives up."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(1.5)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    bus = RedisBus(f"redis://127.0.0.1:{port}/0", "hubtest:silent")
    await bus.start()
    loop = asyncio.get_running_loop()
    try:
        bus.publish_nowait("t", [{"n": 1}])
        started = loop.time()
        await asyncio.wait_for(bus.flushed(), 5)
        waited = loop.time() - started
        assert FLUSH_WAIT_S * 0.9 <= waited < 1.2  # well before the server hangs up
    finally:
        await bus.close()
        server.close()
        await server.wait_closed()


async def test_the_in_process_bus_lets_woken_followers_go_before_the_publisher() -> None:
    """Not part of the contract: in-process, ``flushed`` yields once, so a follower woken by the
    publish (an operator's socket) sends before the publisher answers, as with Redis."""
    bus = MemoryBus(100)
    await bus.start()
    topic = new_topic()
    seen: list[int] = []
    first = asyncio.Event()

    async def follow() -> None:
        async for _id, payload in bus.subscribe(topic, after="0-0"):
            seen.append(payload["n"])
            first.set()

    follower = asyncio.create_task(follow())
    try:
        bus.publish_nowait(topic, [{"n": 0}])
        await asyncio.wait_for(first.wait(), 5)  # the follower now waits for the next event
        bus.publish_nowait(topic, [{"n": 1}])
        await bus.flushed()
        assert seen == [0, 1]
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
        await bus.close()


async def test_stop_ends_a_follower_that_lost_a_cancel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not part of the contract: ``stop`` cancels again when the first cancel was lost, as
    redis-py can lose one on Python 3.11, so a shutdown does not hang on it."""
    monkeypatch.setattr(bus_module, "STOP_RETRY_S", 0.05)
    lost = 0

    async def stubborn() -> None:
        nonlocal lost
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if lost:
                    raise
                lost += 1
                task = asyncio.current_task()
                assert task is not None
                task.uncancel()  # what a time-out does to a cancel it takes for its own

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(bus_module.stop(task), 5)
    assert task.cancelled() and lost == 1
