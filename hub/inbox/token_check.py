"""Bearer tokens checked in shared reads: every request waiting on a check is answered by one
statement on a connection kept for it.

Why: every operator request and socket asks who its token belongs to. Through a session of its
own each check cost a pool checkout, SQLAlchemy's statement handling and, on SQLite, several
hops to the connection's thread: about a thousand checks a second on these machines, a quarter
of the hub's loop when a hundred visitors chat (``bench.widget``). One ``IN`` look-up for all
the checks that wait, run on the driver's connection (``hub.driver``), answered hundreds of
thousands a second in the same run.

Nothing is cached: a check queued while a look-up runs waits for the next one, so its answer is
read after the request came, and a token revoked or an operator deactivated is refused by the
next request (DESIGN.md, rule 4), on every process.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.db import utcnow
from hub.dbhealth import DatabaseHealth, is_outage
from hub.driver import DriverConnection
from hub.errors import Unauthorized
from hub.inbox.auth import Principal, hash_token
from hub.inbox.inbound_postgres import PostgresBatchSql
from hub.inbox.inbound_sqlite import SqliteBatchSql
from hub.inbox.models import Role

#: Tokens looked up by one statement at most (SQLite's and asyncpg's parameter limits are far
#: above; past this the ``IN`` list costs more to plan than a second statement).
MAX_TOKENS = 500
#: Longer is no token the hub gave out (``auth.new_token``), and never reaches the database.
MAX_TOKEN_CHARS = 200

_SQL = (
    "SELECT t.token_hash, o.id, o.name, o.role, o.is_active, t.id, t.revoked_at, t.expires_at,"
    " m.team_id FROM operator_tokens t JOIN operators o ON o.id = t.operator_id"
    " LEFT JOIN team_members m ON m.operator_id = o.id WHERE t.token_hash {}"
)

Row = tuple[Any, ...]


class TokenCheck:
    """Answers ``principal(token)`` for a process; ``close()`` lets its connection go."""

    def __init__(self, engine: AsyncEngine, health: DatabaseHealth, timeout_s: float) -> None:
        self._conn = DriverConnection(engine)
        self._health = health
        self._timeout_s = timeout_s
        self._waiting: list[tuple[str, asyncio.Future[list[Row]]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def principal(self, token: str) -> Principal:
        """The principal of a valid bearer token; ``Unauthorized`` for anything else, and
        ``DatabaseUnavailable`` when the database does not answer within the bound."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise Unauthorized("missing or malformed token", code="invalid_token")
        digest = hash_token(token)
        rows = await self._health.call(lambda: self._rows_of(digest), self._timeout_s)
        return _principal(rows)

    async def close(self) -> None:
        if self._runner is not None:
            await asyncio.gather(self._runner, return_exceptions=True)
        await self._conn.drop()

    async def _rows_of(self, digest: str) -> list[Row]:
        future: asyncio.Future[list[Row]] = asyncio.get_running_loop().create_future()
        self._waiting.append((digest, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name="token-check")
        return await future

    async def _run(self) -> None:
        """Look up what waits, a statement at a time, until nothing does."""
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_TOKENS], self._waiting[MAX_TOKENS:]
            digests = sorted({digest for digest, _future in batch})
            try:
                rows = await self._look_up(digests)
            except Exception as exc:  # each waiting check raises it (an outage: 503)
                for _digest, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            by_digest: defaultdict[str, list[Row]] = defaultdict(list)
            for row in rows:
                by_digest[row[0]].append(row)
            for digest, future in batch:
                if not future.done():
                    future.set_result(by_digest[digest])

    async def _look_up(self, digests: list[str]) -> list[Row]:
        """The rows of ``digests``; tried again once on a new connection when the kept one was
        lost (the database restarted since it was opened: that is no outage of the database
        that answers now)."""
        look_up = partial(_look_up, dialect=self._conn.dialect, digests=digests)
        try:
            return await self._conn.run(look_up)
        except Exception as exc:
            if not is_outage(exc):
                raise
        return await self._conn.run(look_up)  # ``run`` dropped the connection that failed


def _look_up(driver: Any, *, dialect: str, digests: list[str]) -> list[Row]:
    """The rows of ``digests``, with the times read as aware UTC datetimes. A plain read: no
    transaction (SQLite's ``BEGIN IMMEDIATE`` would wait for the writers)."""
    sql = SqliteBatchSql(driver) if dialect == "sqlite" else PostgresBatchSql(driver)
    among, params = sql.any_of(digests)
    rows = sql.fetch(_SQL.format(among), params)
    return [(*row[:6], sql.read_time(row[6]), sql.read_time(row[7]), row[8]) for row in rows]


def _principal(rows: list[Row]) -> Principal:
    """The principal of one token's rows (a row per team of its operator), or why not: an
    unknown token, a session logged out, expired, or an operator deactivated, in that order."""
    if not rows:
        raise Unauthorized("unknown token", code="invalid_token")
    _digest, operator_id, name, role, is_active, session_id, revoked_at, expires_at, _ = rows[0]
    if revoked_at is not None:
        raise Unauthorized("this session was logged out", code="invalid_token")
    if expires_at is None or expires_at <= utcnow():
        raise Unauthorized("this session has expired; log in again", code="token_expired")
    if not is_active:
        raise Unauthorized("this operator is deactivated", code="operator_deactivated")
    teams = frozenset(row[8] for row in rows if row[8] is not None)
    return Principal(operator_id, name, Role(role), teams, session_id)
