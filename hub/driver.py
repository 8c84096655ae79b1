"""A write lane's own database connection, used in the driver's terms rather than through a
SQLAlchemy session.

Why: the hottest writes (a batch of customer messages) are a few fixed statements; a session
around them costs a BEGIN and a COMMIT of its own and SQLAlchemy's bookkeeping for each, which
under load was more than the statements. So each write lane keeps one pooled connection (set
up by the engine's own connect hooks: SQLite's pragmas, asyncpg's JSON codecs) and runs such
work directly on it:

* SQLite: in the aiosqlite thread that owns the connection, with the ``sqlite3`` connection,
  so the whole work is one hop off the event loop. ``_execute`` and ``_conn`` are aiosqlite's
  own way of doing that (its public methods are built on them); pyproject.toml pins the
  aiosqlite versions this was tested with.
* PostgreSQL: in a greenlet, as SQLAlchemy runs its own sync code, with the ``asyncpg``
  connection; the work calls ``await_only(connection.fetch(...))``. The connection lives in an
  event loop of a thread of its own (``_OwnLoop``), made there from an empty copy of the
  engine's pool (its connect hooks included), so the work is one hop off the hub's loop too.

The work manages its transaction itself. After a failure the connection is dropped (its
transaction rolled back, or the connection replaced if it broke) and the next work gets a
fresh one.

On PostgreSQL the lane's connection runs with ``enable_seqscan = off`` and
``plan_cache_mode = force_generic_plan``. Its statements are prepared once, and by default
PostgreSQL either plans them again on every run (costly for statements this size: at one
message a batch, 0.65 ms of the look-up's 0.2 ms work) or keeps the generic plan it settles on,
made while the tables are small: sequential scans of ``conversations``. Every message updates
its conversation, so between two autovacuum runs that table fills with dead rows and those
scans grow: on a hundred busy conversations the look-up went from 1.4 to 4.2 ms and the insert
from 3.1 to 6.4 ms in 1,500 batches. Every statement here finds rows by an index, so with
sequential scans priced out the one generic plan uses the indexes from the start; measured the
same way it stayed at 0.9 and 2.6 ms, and a one-message batch costs 0.2 and 0.4 ms.
Because the settings belong to this lane, its connection is closed, not pooled, when dropped.

The plan a lane makes of a statement is kept for as long as its connection lives, and on a new
installation it is made on small tables without statistics. So each statement here must find
its rows by an index whatever the planner knows: a test that can be an index probe by one key
must have no cheaper-looking way (an index led by another column, an anti-join), or it reads a
table's every row for every batch, more as the table grows (``tests/test_call_plans.py`` plans
the call fold's as a lane does).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from sqlalchemy.engine.interfaces import PoolProxiedConnection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import Pool
from sqlalchemy.util import greenlet_spawn

from hub.event_loop import new_event_loop

log = logging.getLogger(__name__)

T = TypeVar("T")
#: How long closing waits for a lane's thread to stop (its loop ends after the current step).
_JOIN_S = 5.0
LANE_SETTINGS = "SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan"


class DriverConnection:
    """One pooled connection, kept by one write lane for work written for its driver."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._raw: PoolProxiedConnection | None = None
        self.dialect = engine.dialect.name
        self._own: _OwnLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._pool: Pool | None = None

    async def _connection(self) -> PoolProxiedConnection:
        if self._raw is None:
            self._raw = await self._set_up()
        return self._raw

    async def _set_up(self) -> PoolProxiedConnection:
        """A connection with the lane's settings: on SQLite a pooled one; on PostgreSQL a new
        one, made in the lane's loop from the lane's own pool, which keeps none (each is
        closed when dropped), so a database restart leaves no stale one for the lane."""
        if self.dialect != "postgresql":
            return await self._engine.raw_connection()
        raw = await greenlet_spawn(self._lane_pool().connect)
        try:
            await raw.driver_connection.execute(LANE_SETTINGS)  # type: ignore[union-attr]
        except BaseException:
            raw.invalidate()
            raise
        return raw

    async def run(self, work: Callable[[Any], T]) -> T:
        """``work(connection)`` with the driver's connection (``sqlite3`` or ``asyncpg``)."""
        if self.dialect == "postgresql":
            return await self._own_loop().call(self._run_here(work))
        return await self._run_here(work)

    def _lane_pool(self) -> Pool:
        """A pool of the engine's settings (its connect hooks too) that is empty: the lane's
        connection must be made in the lane's own loop, and the engine's pooled ones were
        made in the hub's."""
        if self._pool is None:
            self._pool = self._engine.sync_engine.pool.recreate()
        return self._pool

    def _own_loop(self) -> _OwnLoop:
        if self._own is None:
            self._own = _OwnLoop(f"hub-lane-{id(self):x}")
        return self._own

    async def _run_here(self, work: Callable[[Any], T]) -> T:
        if self._lock is None:
            self._lock = asyncio.Lock()  # made in the loop that runs the work
        async with self._lock:  # a cancelled work ends before the next one starts
            raw = await self._connection()
            driver: Any = raw.driver_connection
            try:
                if self.dialect == "sqlite":
                    result: T = await driver._execute(work, driver._conn)
                else:
                    result = await greenlet_spawn(work, driver)
            except BaseException:
                await self._let_go()
                raise
            return result

    async def drop(self) -> None:
        """Let the connection go: on SQLite back to the pool (rolled back), or discarded if it
        broke; on PostgreSQL always closed, as it carries this lane's settings, and its
        thread ended."""
        own, self._own = self._own, None
        if own is None:
            await self._let_go()
            return
        try:
            await own.call(self._let_go())
        finally:
            own.close()

    async def _let_go(self) -> None:
        raw, self._raw = self._raw, None
        self._lock = None
        if raw is None:
            return
        if self.dialect == "postgresql":
            raw.invalidate()
            return
        try:
            await greenlet_spawn(raw.close)
        except Exception:
            log.warning("a write lane's connection could not be returned; discarding it")
            raw.invalidate()


class _OwnLoop:
    """An event loop in a thread of its own, where one lane's PostgreSQL connection lives.

    Why: a batch is about ten statements, and on the hub's loop each answer waited for a turn
    of that loop, behind everything else ready to run (requests, parsing mail, events): on a
    busy hub 5 ms at the median each, so a batch of 1 ms of database work took 30 to 60 ms and
    the lane, which writes one batch at a time, was the limit. Here the answers are read
    at once (``hub serve`` hands the GIL over every 0.5 ms), and the hub's loop takes one turn
    per batch, for its result. SQLite's work already runs in aiosqlite's thread the same way."""

    def __init__(self, name: str) -> None:
        self.loop = new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` there; cancelling the caller cancels it."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=_JOIN_S)
        if not self._thread.is_alive():
            self.loop.close()
