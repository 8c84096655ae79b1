"""SQLite through aiosqlite with one turn of its thread per statement.

Why: SQLAlchemy's aiosqlite adapter goes to aiosqlite's thread four times for each statement
(to make a cursor, run the statement, fetch its rows, close the cursor), and each answer then
waits for a turn of the hub's event loop, behind everything else ready to run. On a busy hub a
turn takes a millisecond or more, so a unit of a dozen statements held SQLite's one writer for
tens of milliseconds (the lead intake's units under ``bench.calls``: 24 ms at the mean), and
every customer's write queued behind it. Here a statement is run, its rows read and its cursor
closed in one call in that thread, so a statement costs one turn.

``make_engine`` passes ``DBAPI`` as the engine's ``module``: the rest of SQLAlchemy's aiosqlite
dialect (types, transactions, its error classes) is unchanged. ``hub.driver`` goes around the
adapter altogether for the write lanes' batches; this is for everything written through the
ORM and Core.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_


class _Ran(NamedTuple):
    """What a cursor knows once its statement ran: kept after the cursor itself is closed."""

    description: Any
    rowcount: int
    lastrowid: int | None
    rows: list[Any]


_NOT_RUN = _Ran(None, -1, None, [])


def _run(connection: Any, operation: str, parameters: Any, many: bool) -> _Ran:
    """In aiosqlite's thread: the statement, its rows (all of them: an adapter's cursor is
    never a server-side one), and the cursor closed."""
    raw: sqlite3.Connection = connection._conn
    cursor = raw.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        # Read after the rows: an INSERT … RETURNING counts its rows as they are fetched.
        return _Ran(cursor.description, cursor.rowcount, cursor.lastrowid, rows)
    finally:
        cursor.close()


class OneTurnCursor(AsyncAdapt_aiosqlite_cursor):
    """The adapter's cursor, with the statement run in one call (``_run``)."""

    __slots__ = ("_arraysize", "_ran")

    def __init__(self, adapt_connection: Any) -> None:
        # No aiosqlite cursor is made here: ``_run`` makes and closes its own.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._rows = collections.deque()
        self._ran = _NOT_RUN
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._ran.description

    @property
    def rowcount(self) -> int:
        return self._ran.rowcount

    @property
    def lastrowid(self) -> Any:
        return self._ran.lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        """Nothing is open: the rows were read and the cursor closed in ``_run``."""

    def close(self) -> None:
        self._rows.clear()

    def _call(self, operation: Any, parameters: Any, many: bool) -> None:
        try:
            ran = await_(
                self._connection._execute(_run, self._connection, operation, parameters, many)
            )
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._ran = ran
        self._rows = collections.deque(ran.rows)

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._call(operation, parameters, False)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> None:
        self._call(operation, seq_of_parameters, True)

    def setinputsizes(self, *inputsizes: Any) -> None:
        """sqlite3 takes no sizes."""

    def nextset(self) -> None:
        """A SQLite statement has one result: there is never a next one."""


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTurnCursor


class _Dbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> _Connection:
        # SQLAlchemy's connect opens aiosqlite's connection (its thread made a daemon) and
        # wraps it in its own class; the same connection is wrapped again in ours, and the
        # first wrapper (which holds nothing else) is let go.
        adapted = super().connect(*arg, **kw)
        return _Connection(self, adapted._connection)


#: The engine's ``module`` for ``sqlite+aiosqlite`` URLs.
DBAPI = _Dbapi(__import__("aiosqlite"), sqlite3)
