"""The one shape of background work (``hub.worker``): passes at start, when woken and after the
interval; a failed pass logged (unless the database is away) and backed off; stop ends the
loop. Everything is observed through the worker's own signals (its pauses, its passes), never
by waiting a while."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.app import SNOOZE
from hub.db import utcnow
from hub.errors import DatabaseUnavailable
from hub.http import CTX
from hub.inbox.models import Conversation
from hub.worker import PassFailed, PeriodicWorker, WorkerDone
from tests.helpers import FRAME_CAP_S, customer_says, make_api_channel, make_operator

Outcome = int | Exception


class Probe(PeriodicWorker):
    """A worker whose passes return (or raise) what the test lines up, and which reports every
    pause it takes instead of letting the test guess it from the clock."""

    name = "probe"

    def __init__(self, *, interval_s: float = 600.0, backoff_s: float = 900.0) -> None:
        super().__init__(interval_s=interval_s, backoff_s=backoff_s)
        self.outcomes: list[Outcome] = []
        self.pauses: asyncio.Queue[tuple[float, bool]] = asyncio.Queue()
        self.calls = 0
        #: While set, a pass says it has begun and waits for ever (until cancelled).
        self.hold = False
        self.held = asyncio.Event()

    def busy(self, done: int) -> bool:
        return done > 0

    async def run_once(self) -> int:
        self.calls += 1
        if self.hold:
            self.held.set()
            await asyncio.Event().wait()
        outcome = self.outcomes.pop(0) if self.outcomes else 0
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def pause(self, seconds: float, *, wakeable: bool) -> None:
        self.pauses.put_nowait((seconds, wakeable))
        await super().pause(seconds, wakeable=wakeable)


async def next_pause(worker: Probe) -> tuple[float, bool]:
    return await asyncio.wait_for(worker.pauses.get(), FRAME_CAP_S)


async def test_passes_at_start_again_while_busy_then_when_woken() -> None:
    worker = Probe()
    worker.outcomes = [2, 1]  # busy twice, then a pass that finds nothing
    await worker.start()
    try:
        assert await next_pause(worker) == (600.0, True)  # the interval, cut short by a wake
        assert (worker.calls, worker.passes, worker.failures) == (3, 3, 0)
        worker.outcomes = [5]
        assert await worker.next_pass() == 5  # woken long before the interval ends
        assert await next_pause(worker) == (600.0, True)
        assert worker.passes == 5  # and once more at once, as 5 may have left more
    finally:
        await worker.stop()
    assert not worker.running
    worker.outcomes = [7]
    assert await worker.next_pass() == 7  # a stopped worker's pass runs in the caller
    assert worker.passes == 5  # not one of the loop's


async def test_a_failed_pass_is_logged_and_backed_off_beyond_wakes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = Probe(interval_s=600.0, backoff_s=900.0)
    await worker.start()
    try:
        assert await next_pause(worker) == (600.0, True)
        worker.outcomes = [RuntimeError("boom")]
        with pytest.raises(RuntimeError, match="boom"):
            await worker.next_pass()
        # The longer of backoff and interval, and no wake-up cuts it short.
        assert await next_pause(worker) == (900.0, False)
        assert worker.failures == 1
        [record] = [r for r in caplog.records if r.name == "hub.worker"]
        assert record.levelno == logging.ERROR and record.exc_info is not None
        assert "probe" in record.getMessage() and "900" in record.getMessage()
    finally:
        await worker.stop()


async def test_database_outages_and_handled_failures_back_off_without_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A database outage is logged by the database's health, once per interval, and a
    ``PassFailed`` by the worker: the loop only backs off, then tries again by itself."""
    worker = Probe(interval_s=0.01, backoff_s=0.02)
    worker.outcomes = [DatabaseUnavailable("the database is away"), PassFailed(), 1]
    await worker.start()
    try:
        assert await next_pause(worker) == (0.02, False)
        assert await next_pause(worker) == (0.02, False)
        assert worker.failures == 2
        assert await next_pause(worker) == (0.01, True)  # the third pass, and one more at once
        assert (worker.calls, worker.failures) == (4, 0)
    finally:
        await worker.stop()
    assert [r for r in caplog.records if r.name == "hub.worker"] == []


async def test_a_worker_that_is_done_ends_its_loop_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = Probe()
    worker.outcomes = [WorkerDone()]
    await worker.start()
    await worker.passed(1)
    assert not worker.running and worker.failures == 0
    assert worker.pauses.empty()
    await worker.stop()
    assert [r for r in caplog.records if r.name == "hub.worker"] == []


async def test_stop_ends_a_pass_under_way_and_tells_its_waiters() -> None:
    worker = Probe()
    await worker.start()
    assert await next_pause(worker) == (600.0, True)
    worker.hold = True
    waiting = asyncio.ensure_future(worker.next_pass())
    await worker.held.wait()  # the pass it woke is under way, with its waiter
    await worker.stop()
    with pytest.raises(RuntimeError, match="stopped"):
        await waiting
    assert not worker.running and worker.passes == 1


async def test_a_worker_that_waits_first_passes_when_woken() -> None:
    class Late(Probe):
        pass_at_start = False

    worker = Late()
    await worker.start()
    try:
        assert await next_pause(worker) == (600.0, True)  # before any pass
        assert worker.calls == 0
        assert await worker.next_pass() == 0
        assert worker.calls == 1
    finally:
        await worker.stop()


async def test_a_wake_soon_after_a_pass_waits_out_the_least_gap_between_passes() -> None:
    """A burst of wake-ups gets passes at most every ``min_pass_gap_s``; measured by the
    loop's own clock, so a slow machine only makes the gap longer, never the test fail."""
    gap = 0.3

    class Gapped(Probe):
        min_pass_gap_s = gap

        def __init__(self) -> None:
            super().__init__()
            self.started: list[float] = []
            self.ended: list[float] = []

        async def run_once(self) -> int:
            self.started.append(time.monotonic())
            try:
                return await super().run_once()
            finally:
                self.ended.append(time.monotonic())

    worker = Gapped()
    await worker.start()
    try:
        assert await next_pause(worker) == (600.0, True)
        assert await worker.next_pass() == 0  # woken at once: it ran, then paused
        assert worker.started[1] - worker.ended[0] >= gap
    finally:
        await worker.stop()


async def test_the_apps_snooze_waker_reopens_a_conversation_when_its_time_has_come(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    conv_id = (await customer_says(client, channel, "later, please"))["conversation"]["id"]
    waker = client.app[SNOOZE]
    assert await waker.next_pass() == 0  # nothing snoozed yet

    async def snoozed_until_now(session: AsyncSession) -> None:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conv_id)
            .values(status="snoozed", snoozed_until=utcnow())
        )

    await client.app[CTX].write(snoozed_until_now)
    assert await waker.next_pass() == 1  # woken now, not after HUB_SNOOZE_CHECK_INTERVAL_S
    resp = await client.get(f"/api/v1/conversations/{conv_id}", headers=admin.headers)
    assert (await resp.json())["status"] == "open"
