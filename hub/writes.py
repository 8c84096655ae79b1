"""Group commit: many small writes share one database transaction.

One commit per message caps the hub at the disk's fsync rate (about 1,200/s on SQLite here);
grouping the writes that arrive together into one commit lifts that by an order of magnitude
without acknowledging anything early: ``run`` returns only after the commit that holds the write.

Each unit runs in its own SAVEPOINT, so a unit that fails (a unique violation, a validation
error) is rolled back alone and the others in the batch still commit. Units of one lane run one
after another in one session, so a later unit sees what an earlier one wrote. Batches form by
themselves: while one commits, the next fills up. Under load a lane also waits a moment
(``HUB_COMMIT_WINDOW_MS``) for more writes to join the batch it starts: fewer, fuller
batches cost less per write; after a small batch it does not wait, so an idle hub adds no delay.

A batch handler (customer messages) writes all its items of a batch first, with a few
statements of its own on the lane's driver connection (``hub.driver``) and in a transaction of
its own, before the session's units: no session, no savepoint, on the hot path. Items it leaves
(``RUN_ALONE``), and all of them if it fails (having rolled its work back), are then written one
by one as units; two messages from a new contact in one batch still make one contact.

SQLite has one writer at a time, so it gets one lane. PostgreSQL may get several lanes
(``HUB_WRITE_LANES``), each its own connection; a lane is picked from a key (the contact, the
conversation), so writes about one thing stay in order. PostgreSQL also gets a lane of its own
for background work (``background=True``: the lead intake, sync out), so a webhook's write
never waits behind a worker's batch of a hundred leads; such work answers nobody, and it is
written in order on its lane.

Nothing waits forever (``HUB_DB_TIMEOUT_S``, see ``hub.dbhealth``): a caller waits for its write
at most the bound, queueing included, and then gets ``DatabaseUnavailable``; its unit, if not
started yet, is dropped from the lane, so a write its caller was told failed is not made later.
A batch that runs past the bound is given up: its writes fail the same way at once, the batch
is left to end by itself (the driver's own timeouts end what the database does not answer;
database work is not cancelled half-way, see ``hub.dbhealth``), and only one that overruns its
bound twice is cancelled; then the lane goes on with the units queued behind it whose callers
still wait. A write whose batch was under way when its caller gave up may still commit: what a
timed-out commit did is unknown on any database, and a client that sends it again with its
idempotency key stores it once.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.dbhealth import DatabaseHealth, is_outage_of_call
from hub.driver import DriverConnection
from hub.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")
WriteUnit = Callable[[AsyncSession], Awaitable[T]]

#: A unit that lost a deadlock or a serialization race is run again this many times.
TRANSIENT_RETRIES = 3
#: The commit window applies after a batch of at least this many writes (the hub is busy).
WINDOW_FROM_BATCH = 4


class RunAlone:
    """What a batch handler answers for an item it leaves to the per-item path."""


RUN_ALONE = RunAlone()


class BatchHandler(Protocol[ItemT, ResultT]):
    """Writes many items of one kind with a few set-based statements.

    ``run_many`` commits what it writes before it answers, one result per item, or
    ``RUN_ALONE`` for items it does not take; if it raises, it must have written nothing.
    Items left alone, and every item if it raises, go through ``run_one`` each in a savepoint.
    """

    async def run_many(
        self, conn: DriverConnection, items: list[ItemT]
    ) -> list[ResultT | RunAlone]: ...

    async def run_one(self, session: AsyncSession, item: ItemT) -> ResultT: ...


@dataclass(slots=True)
class _Pending:
    unit: WriteUnit[Any] | None
    future: asyncio.Future[Any]
    handler: BatchHandler[Any, Any] | None = None
    item: Any = None


class WriterClosedError(RuntimeError):
    """The writer was closed before the write could run."""


def is_transient(exc: BaseException) -> bool:
    """A deadlock or serialization failure: running the unit again will likely succeed.
    (SQLite's lock comes bare from a batch handler's driver work, wrapped from a session.)"""
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
    elif isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError):
        text = str(exc.orig).lower()
    else:
        return False
    return "deadlock" in text or "could not serialize" in text or "database is locked" in text


class _Lane:
    def __init__(self, writer: GroupCommitWriter, name: str) -> None:
        self._writer = writer
        self.driver = DriverConnection(writer.engine)
        self.queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        #: Writes in this lane's previous batch: the window is kept only while they come in
        #: numbers, so a quiet hub adds no wait to a lone write.
        self.last_size = 0
        self.task = asyncio.create_task(self._loop(), name=name)

    async def _collect(self, first: _Pending) -> tuple[list[_Pending], bool]:
        batch = [first]
        stop = False
        loop = asyncio.get_running_loop()
        window = self._writer.window_s if self.last_size >= WINDOW_FROM_BATCH else 0.0
        deadline = loop.time() + window
        while len(batch) < self._writer.max_batch:
            try:
                item = self.queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self.queue.get(), remaining)
                except TimeoutError:
                    break
            if item is None:
                stop = True
                break
            batch.append(item)
        return batch, stop

    async def _loop(self) -> None:
        try:
            while True:
                first = await self.queue.get()
                if first is None:
                    return
                batch, stop = await self._collect(first)
                self.last_size = len(batch)
                # Units whose callers stopped waiting are not written.
                batch = [p for p in batch if not p.future.done()]
                if batch:
                    await self._writer.commit_within_bound(batch, self.driver)
                if stop:
                    return
        finally:
            await self.driver.drop()


class GroupCommitWriter:
    """Runs write units in shared transactions, one committing task per lane."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        engine: AsyncEngine,
        *,
        window_s: float = 0.0,
        max_batch: int = 256,
        lanes: int = 1,
        background: bool = False,
        timeout_s: float | None = None,
        health: DatabaseHealth | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.engine = engine
        self.window_s = window_s
        #: The longest a caller waits for its write, and a batch may run (None: no bound).
        self.timeout_s = timeout_s
        self.health = health if health is not None else DatabaseHealth()
        self.max_batch = max_batch
        self._lane_count = max(1, lanes)
        self._lanes: list[_Lane] = []
        self._with_background = background
        self._background: _Lane | None = None
        self.batches = 0
        self.units = 0

    @property
    def background_apart(self) -> bool:
        """Whether background work has a lane of its own (PostgreSQL), so a long unit of it
        holds up no caller's write."""
        return self._with_background

    def start(self) -> None:
        if not self._lanes:
            self._lanes = [_Lane(self, f"writer-lane-{i}") for i in range(self._lane_count)]
            if self._with_background:
                self._background = _Lane(self, "writer-lane-background")

    async def close(self) -> None:
        """Finish what is queued, then stop."""
        lanes, self._lanes = self._lanes, []
        if self._background is not None:
            lanes.append(self._background)
            self._background = None
        for lane in lanes:
            await lane.queue.put(None)
        for lane in lanes:
            await lane.task

    async def run(self, unit: WriteUnit[T], key: object = None, *, background: bool = False) -> T:
        """Run ``unit`` and return its result once the transaction holding it committed.

        Units with the same ``key`` go through the same lane, in the order they were given;
        ``background`` ones through the background lane where there is one (else as keyless).
        """
        lane = self._background if background else None
        result: T = await self._submit(lambda fut: _Pending(unit, fut), key, lane)
        return result

    async def run_item(
        self, handler: BatchHandler[Any, ResultT], item: Any, key: object = None
    ) -> ResultT:
        """Write ``item`` with ``handler``, together with the other items of its batch."""
        result: ResultT = await self._submit(lambda fut: _Pending(None, fut, handler, item), key)
        return result

    async def _submit(
        self,
        make: Callable[[asyncio.Future[Any]], _Pending],
        key: object,
        lane: _Lane | None = None,
    ) -> Any:
        if not self._lanes:
            raise WriterClosedError("the writer is not running")
        if lane is None:
            lane = self._lanes[hash(key) % len(self._lanes)] if key is not None else self._lanes[0]
        loop = asyncio.get_running_loop()
        deadline = None if self.timeout_s is None else loop.time() + self.timeout_s
        for attempt in range(TRANSIENT_RETRIES + 1):
            future: asyncio.Future[Any] = loop.create_future()
            await lane.queue.put(make(future))
            try:
                result = await self._wait(future, deadline)
            except DatabaseUnavailable:
                raise
            except Exception as exc:
                in_time = deadline is None or loop.time() < deadline
                if attempt < TRANSIENT_RETRIES and is_transient(exc) and in_time:
                    log.info("write unit hit a transient database error; running it again")
                    continue
                if is_outage_of_call(exc):
                    raise self.health.failed(exc, "writes") from exc
                raise
            self.health.succeeded("writes")
            return result
        raise AssertionError("unreachable")

    async def _wait(self, future: asyncio.Future[Any], deadline: float | None) -> Any:
        """The unit's result, waiting at most until ``deadline``; past it the unit is given
        up (cancelled: skipped if its lane has not started it) and the database counted as
        away. A timer that cancels the future, not ``asyncio.wait``: this is every write's
        path, and the timer costs a fraction of it."""
        if deadline is None:
            return await future
        expired = False

        def expire() -> None:
            nonlocal expired
            if not future.done():
                expired = True
                future.cancel()

        timer = asyncio.get_running_loop().call_at(deadline, expire)
        try:
            return await future  # a caller cancelled meanwhile cancels the future with it
        except asyncio.CancelledError:
            if not expired:
                raise
            raise self.health.failed(
                TimeoutError(f"no commit within {self.timeout_s:g} s"), "writes"
            ) from None
        finally:
            timer.cancel()

    async def commit_within_bound(self, batch: list[_Pending], driver: DriverConnection) -> None:
        """``commit``, given up past the bound: its callers are answered then, and the batch
        is left to end by itself (cancelled only past twice the bound), so that a stuck batch
        does not hold its lane, and the units queued behind it, while the database is away."""
        bound = self.timeout_s
        if bound is None:
            await self.commit(batch, driver)
            return
        committing = asyncio.ensure_future(self.commit(batch, driver))
        if (await asyncio.wait((committing,), timeout=bound))[0]:
            committing.result()
            return
        stuck = TimeoutError(f"a batch of {len(batch)} writes ran past {bound:g} s")
        for pending in batch:
            if not pending.future.done():
                pending.future.set_exception(stuck)
        if not (await asyncio.wait((committing,), timeout=bound))[0]:
            log.warning("a batch of %d writes ran past twice its bound; cancelling it", len(batch))
            committing.cancel()
            await asyncio.wait((committing,))
        if not committing.cancelled() and committing.exception() is not None:
            log.error("a batch that ran past its bound failed", exc_info=committing.exception())

    async def _run_batched(self, batch: list[_Pending], driver: DriverConnection) -> list[_Pending]:
        """Give each handler its items at once and answer what it wrote (committed already);
        return what must run one by one."""
        alone = [p for p in batch if p.handler is None]
        groups: dict[int, list[_Pending]] = {}
        for pending in batch:
            if pending.handler is not None and not pending.future.cancelled():
                groups.setdefault(id(pending.handler), []).append(pending)
        for group in groups.values():
            handler = group[0].handler
            assert handler is not None
            try:
                answers = await handler.run_many(driver, [p.item for p in group])
            except Exception as exc:
                if is_outage_of_call(exc):  # one by one would wait on it again, each
                    for pending in group:
                        if not pending.future.done():
                            pending.future.set_exception(exc)
                    continue
                log.warning(
                    "a batch of %d writes failed; writing them one by one",
                    len(group),
                    exc_info=True,
                )
                alone.extend(group)
                continue
            for pending, answer in zip(group, answers, strict=True):
                if isinstance(answer, RunAlone):
                    alone.append(pending)
                else:
                    self.units += 1
                    if not pending.future.done():
                        pending.future.set_result(answer)
        return alone

    async def commit(self, batch: list[_Pending], driver: DriverConnection) -> None:
        alone = await self._run_batched(batch, driver)
        if alone:
            await self._commit_units(alone)
        self.batches += 1

    async def _commit_units(self, batch: list[_Pending]) -> None:
        results: list[tuple[_Pending, bool, Any]] = []
        try:
            async with self._sessionmaker() as session, session.begin():
                for pending in batch:
                    if pending.future.cancelled():
                        continue
                    try:
                        async with session.begin_nested():
                            if pending.unit is not None:
                                value = await pending.unit(session)
                            else:
                                assert pending.handler is not None
                                value = await pending.handler.run_one(session, pending.item)
                    except Exception as exc:  # the unit's own failure, rolled back alone
                        results.append((pending, False, exc))
                    else:
                        results.append((pending, True, value))
        except Exception as exc:
            if not is_outage_of_call(exc):  # an outage is logged once by ``DatabaseHealth``
                log.exception("group commit of %d writes failed", len(batch))
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            return
        self.units += len(batch)
        for pending, ok, value in results:
            if pending.future.done():
                continue
            if ok:
                pending.future.set_result(value)
            else:
                pending.future.set_exception(value)
