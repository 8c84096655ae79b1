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
conversation), so writes about one thing stay in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.driver import DriverConnection

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
    """A deadlock or serialization failure: running the unit again will likely succeed."""
    if not isinstance(exc, DBAPIError) or isinstance(exc, IntegrityError):
        return False
    text = str(exc.orig).lower()
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
                await self._writer.commit(batch, self.driver)
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
    ) -> None:
        self._sessionmaker = sessionmaker
        self.engine = engine
        self.window_s = window_s
        self.max_batch = max_batch
        self._lane_count = max(1, lanes)
        self._lanes: list[_Lane] = []
        self.batches = 0
        self.units = 0

    def start(self) -> None:
        if not self._lanes:
            self._lanes = [_Lane(self, f"writer-lane-{i}") for i in range(self._lane_count)]

    async def close(self) -> None:
        """Finish what is queued, then stop."""
        lanes, self._lanes = self._lanes, []
        for lane in lanes:
            await lane.queue.put(None)
        for lane in lanes:
            await lane.task

    async def run(self, unit: WriteUnit[T], key: object = None) -> T:
        """Run ``unit`` and return its result once the transaction holding it committed.

        Units with the same ``key`` go through the same lane, in the order they were given.
        """
        result: T = await self._submit(lambda fut: _Pending(unit, fut), key)
        return result

    async def run_item(
        self, handler: BatchHandler[Any, ResultT], item: Any, key: object = None
    ) -> ResultT:
        """Write ``item`` with ``handler``, together with the other items of its batch."""
        result: ResultT = await self._submit(lambda fut: _Pending(None, fut, handler, item), key)
        return result

    async def _submit(self, make: Callable[[asyncio.Future[Any]], _Pending], key: object) -> Any:
        if not self._lanes:
            raise WriterClosedError("the writer is not running")
        lane = self._lanes[hash(key) % len(self._lanes)] if key is not None else self._lanes[0]
        for attempt in range(TRANSIENT_RETRIES + 1):
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            await lane.queue.put(make(future))
            try:
                return await future
            except DBAPIError as exc:
                if attempt == TRANSIENT_RETRIES or not is_transient(exc):
                    raise
                log.info("write unit hit a transient database error; running it again")
        raise AssertionError("unreachable")

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
            except Exception:
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
