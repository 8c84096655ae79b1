"""One shape for the hub's background work: passes, an interval between them, a backoff.

Reply delivery, sync out, the lead intake, automatic assignment, the snooze waker, presence and
Telegram's long polling each are a ``PeriodicWorker``. ``run_once()`` does one pass and says how
much it did; the loop runs it again at once while ``busy`` says the pass may have left more, then
waits for the interval or a ``wake()``, whichever comes first, so a worker that is told about new
work (a reply to send, a new conversation) does it at once and polls only as a safety net.

After a failed pass the loop waits the backoff, or the interval if that is longer, and no
wake-up cuts that short: a pass that keeps failing does not spin however busy the hub is. A
database outage (``DatabaseUnavailable``) is not logged here, as the database's health logs it
once per interval; a ``PassFailed`` was logged by the worker itself; any other error is logged
with its traceback.

Nothing here sleeps for a test: tests call ``run_once()`` and assert on what it returns, or
wait for the loop's passes (``next_pass``, ``passed``).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import time

from hub.bus import stop
from hub.errors import DatabaseUnavailable

log = logging.getLogger(__name__)


class PassFailed(Exception):
    """Raised by ``run_once`` for a failure it has dealt with (logged, if worth a line): the
    loop backs off without a traceback."""


class WorkerDone(Exception):
    """Raised by ``run_once`` when the worker will never have work again (another process took
    its lease): the loop ends quietly."""


class PeriodicWorker(abc.ABC):
    """A background loop of ``run_once()`` passes; ``start()`` it, ``close()`` it."""

    #: The loop task's name, as logs and ``asyncio.all_tasks()`` show it.
    name = "worker"
    #: Whether the loop's first pass runs as it starts, or after one interval.
    pass_at_start = True
    #: The least time from the end of a pass to the start of the next one that a wake-up
    #: asked for: under a burst of wake-ups (one per new conversation) the work then comes in
    #: a few passes of many rows, not in one pass per row. 0: at once. A wake-up after a quiet
    #: spell starts its pass at once either way, and a busy worker's next pass never waits.
    min_pass_gap_s = 0.0

    def __init__(
        self, *, interval_s: float, backoff_s: float, wakeup: asyncio.Event | None = None
    ) -> None:
        self.interval_s = interval_s
        self.backoff_s = backoff_s
        #: Set by ``wake()``; a worker woken by others' code (the delivery worker) shares it.
        self._wakeup = wakeup if wakeup is not None else asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: Callers of ``next_pass``: for the next pass, and for the one under way.
        self._waiting: list[asyncio.Future[int]] = []
        self._in_pass: list[asyncio.Future[int]] = []
        self._ended = asyncio.Event()
        self._ended_at = -float("inf")
        #: Passes the loop has ended, failed ones too.
        self.passes = 0
        #: Passes failed in a row (0 after one that succeeded).
        self.failures = 0

    @abc.abstractmethod
    async def run_once(self) -> int:
        """One pass; how much it did (0: nothing to do)."""

    def busy(self, done: int) -> bool:
        """Whether a pass that did ``done`` may have left more, so the next runs at once
        instead of after the interval. Not unless a worker says so (a queue's worker: when it
        did anything)."""
        return False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        """End the loop (a pass under way is cancelled) and wait until it has ended.
        ``run_once()`` may still be called, and ``start()`` starts the loop again."""
        task, self._task = self._task, None
        if task is not None:
            await stop(task)
        waiters, self._waiting, self._in_pass = self._waiting + self._in_pass, [], []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(RuntimeError(f"{self.name} stopped before its next pass"))

    async def close(self) -> None:
        """Stop, and let go of what the worker holds (workers that hold something add it)."""
        await self.stop()

    def wake(self) -> None:
        """Start the next pass now, or right after the one under way, instead of at the end
        of the interval."""
        self._wakeup.set()

    async def next_pass(self, *, wake: bool = True) -> int:
        """What the loop's next pass returns (or raises): the first to start after this call,
        so whatever passes were under way have ended too. Woken at once unless ``wake`` is
        false; a worker whose loop is not running runs the pass here."""
        if not self.running:
            return await self.run_once()
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        if wake:
            self.wake()
        return await waiter

    async def passed(self, count: int) -> None:
        """Wait until the loop has ended ``count`` passes in all (``passes``)."""
        while self.passes < count:
            await self._ended.wait()

    async def pause(self, seconds: float, *, wakeable: bool) -> None:
        """The wait between two passes: ``seconds``, cut short by ``wake()`` if ``wakeable``."""
        if not wakeable:
            await asyncio.sleep(seconds)
            return
        # Not wait_for: on Python 3.11 it lost a cancel that came as the wake-up did.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wakeup.wait()

    async def _loop(self) -> None:
        if not self.pass_at_start:
            await self.pause(self.interval_s, wakeable=True)
        while True:
            try:
                while self.busy(await self._pass()):
                    pass
            except WorkerDone:
                return
            except Exception:  # logged by _pass
                await self.pause(max(self.interval_s, self.backoff_s), wakeable=False)
            else:
                await self.pause(self.interval_s, wakeable=True)
                gap = self.min_pass_gap_s - (time.monotonic() - self._ended_at)
                if gap > 0:
                    await asyncio.sleep(gap)

    async def _pass(self) -> int:
        self._in_pass, self._waiting = self._waiting, []
        self._wakeup.clear()  # this pass does what a wake-up before it asked for
        try:
            done = await self.run_once()
        except Exception as exc:
            if not isinstance(exc, WorkerDone):
                self.failures += 1
            if not isinstance(exc, DatabaseUnavailable | PassFailed | WorkerDone):
                log.error(
                    "%s: a pass failed; trying again in %s s",
                    self.name,
                    max(self.interval_s, self.backoff_s),
                    exc_info=exc,
                )
            self._ended_pass(error=exc)
            raise
        self.failures = 0
        self._ended_pass(done=done)
        return done

    def _ended_pass(self, *, done: int = 0, error: Exception | None = None) -> None:
        self._ended_at = time.monotonic()
        waiters, self._in_pass = self._in_pass, []
        for waiter in waiters:
            if waiter.done():
                continue  # its caller gave up waiting
            if error is None:
                waiter.set_result(done)
            else:
                waiter.set_exception(error)
        self.passes += 1
        ended, self._ended = self._ended, asyncio.Event()
        ended.set()
