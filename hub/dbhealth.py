"""When the database is away: bounded waits, one clear error, one log line per interval.

Every wait on the database has a bound (``HUB_DB_TIMEOUT_S``): a connection, a pool checkout,
a statement (asyncpg's ``command_timeout``, SQLite's busy timeout), a read and a write unit in
its lane. Past the bound, or when the database refuses connections, the caller gets
``DatabaseUnavailable``: HTTP answers 503 ``database_unavailable`` with ``Retry-After``, the
sockets an ``error`` frame. ``DatabaseHealth`` logs the outage when it starts, every
``HUB_DB_OUTAGE_LOG_INTERVAL_S`` while it lasts and when it ends, instead of a traceback per
request.

A read runs in a task of its own, waited for up to the bound and then left to end by itself,
never cancelled: the driver's own timeouts end it (a statement, a rollback, closing a connection
a frozen server never answers), and the caller does not wait for that. Cancelling database work
half-way is what hung: a cancel that reaches SQLAlchemy while it closes an aiosqlite
connection leaves a task waiting for a worker thread that has already stopped.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import exc as sa_exc

from hub.errors import DatabaseUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

#: PostgreSQL's error classes of an unreachable or stopping server: connection exceptions
#: (08), shutdowns and start-ups (57P01-57P03), too many connections (53300).
_OUTAGE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
#: SQLite's words for a lock held past the busy timeout, or a file it cannot use.
_SQLITE_OUTAGES = ("database is locked", "database table is locked", "unable to open", "disk i/o")


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is unreachable or too slow, not that a statement or
    its data was wrong (those stay 4xx or 500)."""
    if isinstance(exc, DatabaseUnavailable | sa_exc.TimeoutError):
        return True  # SQLAlchemy's TimeoutError: no connection of the pool came free in time
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        return _driver_outage(exc.orig) or _driver_outage(getattr(exc.orig, "__cause__", None))
    return _driver_outage(exc)


def _driver_outage(exc: BaseException | None) -> bool:
    """The drivers' own errors of a lost connection or a lock (asyncpg's, sqlite3's), as the
    write lanes' driver work sees them, or under SQLAlchemy's wrapper."""
    if exc is None:
        return False
    if isinstance(exc, sqlite3.OperationalError):
        return any(words in str(exc).lower() for words in _SQLITE_OUTAGES)
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(_OUTAGE_SQLSTATES):
        return True
    kinds = {kind.__name__ for kind in type(exc).__mro__}
    if "ConnectionDoesNotExistError" in kinds:
        return True
    return "InterfaceError" in kinds and "connection is closed" in str(exc)


def is_outage_of_call(exc: BaseException) -> bool:
    """``is_outage``, for an exception raised by a call to the database itself, where a
    refused or timed-out connection shows as the bare ``OSError`` the driver got."""
    return is_outage(exc) or isinstance(exc, ConnectionError | TimeoutError | socket.gaierror)


@dataclass
class _Outage:
    since: float
    last_log: float
    refused: int = 0


class DatabaseHealth:
    """Tells an outage from a failure, and logs it once per interval, not once per request.

    Reads and writes are followed apart: a SQLite write lock held by another process stops
    writes while reads go on, and one must not tell the other's outage over."""

    def __init__(self, log_interval_s: float = 60.0, retry_after_s: int = 5) -> None:
        self.log_interval_s = log_interval_s
        self.retry_after_s = retry_after_s
        #: The current outage of "reads" or "writes", by kind.
        self._outages: dict[str, _Outage] = {}
        #: Abandoned calls still ending; referenced until they are done.
        self._abandoned: set[asyncio.Task[Any]] = set()

    @property
    def down(self) -> bool:
        return bool(self._outages)

    def failed(self, exc: BaseException, kind: str = "reads") -> DatabaseUnavailable:
        """Note one refused call of ``kind``; answers the error to raise."""
        now = time.monotonic()
        outage = self._outages.get(kind)
        if outage is None:
            outage = self._outages[kind] = _Outage(now, now)
            log.warning(
                "the database is unavailable for %s (%s); answering 503 until it is back",
                kind,
                _describe(exc),
            )
        elif now - outage.last_log >= self.log_interval_s:
            outage.last_log = now
            log.warning(
                "the database is still unavailable for %s after %.0f s (%s); "
                "%d calls refused so far",
                kind,
                now - outage.since,
                _describe(exc),
                outage.refused + 1,
            )
        outage.refused += 1
        error = DatabaseUnavailable(
            "the database is not answering; try again in a few seconds",
            retry_after_s=self.retry_after_s,
        )
        error.__cause__ = exc
        return error

    def succeeded(self, kind: str = "reads") -> None:
        if not self._outages:
            return
        outage = self._outages.pop(kind, None)
        if outage is not None:
            log.warning(
                "the database is back for %s after %.1f s; %d calls were refused meanwhile",
                kind,
                time.monotonic() - outage.since,
                outage.refused,
            )

    async def call(self, work: Callable[[], Awaitable[T]], timeout_s: float) -> T:
        """``await work()``, at most ``timeout_s``; an outage raises ``DatabaseUnavailable``.

        The work runs in a task of its own: past the bound, or when the caller is cancelled,
        it is left to end by itself (bounded by the driver's own timeouts) and the caller goes
        on at once."""
        task = asyncio.ensure_future(work())
        try:
            await asyncio.wait((task,), timeout=timeout_s)
        except asyncio.CancelledError:
            self._abandon(task)
            raise
        if not task.done():
            self._abandon(task)
            raise self.failed(TimeoutError(f"no answer within {timeout_s:g} s"))
        error = task.exception()
        if error is None:
            self.succeeded()
            return task.result()
        if is_outage_of_call(error) and not isinstance(error, DatabaseUnavailable):
            raise self.failed(error) from error
        raise error

    def _abandon(self, task: asyncio.Task[Any]) -> None:
        self._abandoned.add(task)
        task.add_done_callback(self._forget)

    async def settle(self, timeout_s: float) -> None:
        """Wait for the calls left to end by themselves, before the engine is disposed of
        under them; at most ``timeout_s`` (each is bounded by the driver's timeouts)."""
        if self._abandoned:
            await asyncio.wait(set(self._abandoned), timeout=timeout_s)

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: it was answered as an outage already


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
