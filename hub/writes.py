"""Group commit: many small writes share one database transaction.

One commit per message caps the hub at the disk's fsync rate (about 1,200/s on SQLite here);
grouping the writes that arrive together into one commit lifts that by an order of magnitude
without acknowledging anything early: ``run`` returns only after the commit that holds the write.

Each unit runs in its own SAVEPOINT, so a unit that fails (a unique violation, a validation
error) is rolled back alone and the others in the batch still commit. Units run one after another
in one session, so a later unit sees what an earlier one wrote (two messages from a new contact
in the same batch make one contact). Batches form by themselves: while one commits, the next
fills up, so an idle hub adds no delay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

T = TypeVar("T")
WriteUnit = Callable[[AsyncSession], Awaitable[T]]


@dataclass(slots=True)
class _Pending:
    unit: WriteUnit[Any]
    future: asyncio.Future[Any]


class WriterClosedError(RuntimeError):
    """The writer was closed before the write could run."""


class GroupCommitWriter:
    """Serialises writes through one task that commits them in groups."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        window_s: float = 0.0,
        max_batch: int = 256,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._window_s = window_s
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.units = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="group-commit-writer")

    async def close(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is None:
            return
        await self._queue.put(None)
        await self._task
        self._task = None

    async def run(self, unit: WriteUnit[T]) -> T:
        """Run ``unit`` in a transaction and return its result once that transaction committed."""
        if self._task is None:
            raise WriterClosedError("the writer is not running")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(unit, future))
        return await future

    async def _collect(self, first: _Pending) -> tuple[list[_Pending], bool]:
        batch = [first]
        stop = False
        deadline = asyncio.get_running_loop().time() + self._window_s
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            if item is None:
                stop = True
                break
            batch.append(item)
        return batch, stop

    async def _loop(self) -> None:
        while True:
            first = await self._queue.get()
            if first is None:
                return
            batch, stop = await self._collect(first)
            await self._commit(batch)
            if stop:
                return

    async def _commit(self, batch: list[_Pending]) -> None:
        results: list[tuple[_Pending, bool, Any]] = []
        try:
            async with self._sessionmaker() as session, session.begin():
                for pending in batch:
                    if pending.future.cancelled():
                        continue
                    try:
                        async with session.begin_nested():
                            value = await pending.unit(session)
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
        self.batches += 1
        self.units += len(batch)
        for pending, ok, value in results:
            if pending.future.done():
                continue
            if ok:
                pending.future.set_result(value)
            else:
                pending.future.set_exception(value)
