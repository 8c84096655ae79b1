"""Database engine, declarative base and the column types shared by every model.

SQLite (the embedded default) and PostgreSQL (scale-out) are both first-class: SQLite gets WAL,
foreign keys and a busy timeout on every connection, and datetimes come back UTC-aware on both,
because SQLite drops the zone and comparisons would otherwise differ between backends.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    ARRAY,
    JSON,
    ColumnElement,
    DateTime,
    MetaData,
    any_,
    bindparam,
    event,
    func,
    make_url,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncAttrs,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator, TypeEngine

from hub import jsoncodec

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
#: Ids are 32-bit integer columns: a larger one names no row (and would overflow PostgreSQL).
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; the hub stores only aware datetimes")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class _JSON(TypeDecorator[Any]):
    """JSON, stored as JSONB on PostgreSQL. A variant (``JSON().with_variant(JSONB())``) would
    import SQLAlchemy's PostgreSQL dialects wherever the models load, a SQLite hub and every
    command included; this imports them only for a PostgreSQL engine, which loads them anyway."""

    impl = JSON
    cache_ok = True
    # As JSON's own: None is stored as JSON ``null``, and values are not hashed.
    should_evaluate_none = True
    hashable = False

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


JSONType = _JSON()


class Base(AsyncAttrs, DeclarativeBase):
    """Base of every model; its metadata names constraints the same way on both backends."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
    }


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def _sqlite_pragmas(
    dbapi_conn: Any, _record: Any, *, foreign_keys: bool = True, busy_ms: int = 15000
) -> None:
    # Take transaction control away from the sqlite3 module, whose implicit BEGIN breaks
    # SAVEPOINT (the group-commit writer gives each write unit its own savepoint).
    dbapi_conn.isolation_level = None
    # Unicode-aware lower(), for case-blind search in Cyrillic (SQLite's knows only ASCII).
    dbapi_conn.create_function("hub_lower", 1, _lower, deterministic=True)
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def make_engine(
    url: str, *, foreign_keys: bool = True, timeout_s: float | None = None, pooled: bool = True
) -> AsyncEngine:
    """Create the engine for ``url`` with the settings each backend needs.

    ``foreign_keys=False`` is for migrations only: SQLite alters a table by rebuilding it, and
    dropping the old table with foreign keys on would cascade-delete every row that refers to it.

    ``timeout_s`` bounds every wait on the database (``hub.dbhealth``): connecting, a pool
    checkout, each statement on PostgreSQL, a lock on SQLite. Unset (migrations, whose
    statements may run long) connections still time out, statements do not.
    ``pooled=False`` opens a connection for each use (``/readyz``'s probe).
    """
    # JSON columns go through the hub's codec (orjson), several times faster than the standard
    # library's; on PostgreSQL asyncpg decodes ``json``/``jsonb`` results with it too.
    codec: dict[str, Any] = {
        "json_serializer": jsoncodec.dumps,
        "json_deserializer": jsoncodec.loads,
    }
    pool: dict[str, Any] = {} if pooled else {"poolclass": NullPool}
    if url.startswith("sqlite"):
        busy_s = 15.0 if timeout_s is None else timeout_s
        if (
            pooled
            and timeout_s is not None
            and make_url(url).database not in (None, "", ":memory:")
        ):
            pool["pool_timeout"] = timeout_s  # a file's pool (one in memory has no queue)
        # One turn of aiosqlite's thread per statement, not four. Imported here, as JSONB is for
        # PostgreSQL above: a PostgreSQL hub does not load aiosqlite.
        from hub import sqlite_driver

        engine = create_async_engine(
            url, module=sqlite_driver.DBAPI, connect_args={"timeout": busy_s}, **pool, **codec
        )

        def pragmas(dbapi_conn: Any, record: Any) -> None:
            _sqlite_pragmas(
                dbapi_conn, record, foreign_keys=foreign_keys, busy_ms=round(busy_s * 1000)
            )

        event.listen(engine.sync_engine, "connect", pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    # No pre-ping: it costs a round trip per checkout; a dropped connection fails one
    # statement and the pool replaces it.
    # Batched writes produce statements of many lengths (IN lists, multi-row inserts); a large
    # prepared-statement cache keeps asyncpg from preparing them again and again.
    connect: dict[str, Any] = {"prepared_statement_cache_size": 2000, "timeout": 10.0}
    sizes: dict[str, Any] = {"pool_size": 10, "max_overflow": 10} if pooled else {}
    if timeout_s is not None:
        # asyncpg's own bounds: the connection (with its start-up) and each statement.
        connect.update(timeout=timeout_s, command_timeout=timeout_s)
        if pooled:
            sizes["pool_timeout"] = timeout_s
    return create_async_engine(
        url, pool_recycle=1800, connect_args=connect, **sizes, **pool, **codec
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def one_of(
    session: AsyncSession,
    column: ColumnElement[Any] | InstrumentedAttribute[Any],
    values: Iterable[Any],
) -> ColumnElement[bool]:
    """``column IN values``, written for the session's database. On PostgreSQL: ``= ANY``
    of one array, so the statement's text is the same whatever the number of values. An
    ``IN`` list is rendered afresh for each run (a cast for every value), and each length is
    another statement for asyncpg to prepare: for a batch of 200 conversations that cost the
    lead intake more than the database's work. SQLite keeps ``IN``."""
    listed = list(values)
    if on_postgresql(session):
        return column == any_(bindparam(None, listed, type_=ARRAY(column.type)))
    return column.in_(listed)


def listed(
    column: ColumnElement[Any] | InstrumentedAttribute[Any], name: str, postgresql: bool
) -> ColumnElement[bool]:
    """``column`` is one of the list given as ``name`` when the statement runs: ``one_of``
    for a statement built once (``functools.cache``, one per database) and run many times.
    Built afresh, a statement of several ``IN`` lists cost the lead intake more than running
    it: each list's values coerced one by one, and the statement's cache key worked out
    again."""
    if postgresql:
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    # One JSON array, as PostgreSQL's one array: an expanding ``IN`` is written out value by
    # value at every run (a third of a millisecond a statement of 50 here), and SQLite probes
    # the column's index for each value of ``json_each`` alike.
    values = func.json_each(bindparam(name, type_=JSON())).table_valued("value")
    return column.in_(select(values.c.value))


def on_postgresql(session: AsyncSession) -> bool:
    """Whether the session's database is PostgreSQL (else SQLite)."""
    return session.bind is not None and session.bind.dialect.name == "postgresql"
