"""The inbound batch's statements, written for each backend's driver rather than built by
SQLAlchemy.

Why: under load the batch of customer messages is the hub's hottest code, and building,
caching, compiling and reading back SQLAlchemy statements cost more than the database's own
work (a third of the hub's CPU in ``make bench`` profiles). The batch needs nine fixed
statements, so they are written once per backend and run on the driver's connection, inside the
transaction the group-commit writer opened:

* SQLite: the whole batch is one call in the aiosqlite thread (one hop instead of one per
  statement); rows are inserted one ``INSERT … RETURNING`` at a time there, which costs
  microseconds and keeps each id paired with its row.
* PostgreSQL: constant ``unnest`` statements (one round trip each, prepared once), through
  SQLAlchemy's asyncpg adapter inside its greenlet. ``INSERT … SELECT … ORDER BY ordinality``
  draws ids in the rows' order, so the ascending ids pair with the rows as given.

Both answer the same Python values: aware UTC datetimes and decoded JSON. Columns a model
fills by default are listed here (``*_COLUMNS``), and a test keeps them in step with the models.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from hub.jsoncodec import dumps, loads

T = TypeVar("T")

CONTACT_COLUMNS = ("name", "search_text", "attributes", "created_at", "updated_at")
IDENTITY_COLUMNS = ("contact_id", "channel_id", "external_id", "created_at")
CONVERSATION_COLUMNS = (
    "channel_id",
    "contact_id",
    "team_id",
    "status",
    "created_at",
    "last_activity_at",
    "last_message_preview",
    "unread_count",
    "attributes",
    "first_incoming_at",
)
MESSAGE_COLUMNS = (
    "conversation_id",
    "channel_id",
    "kind",
    "body",
    "sender_contact_id",
    "provider_message_id",
    "meta",
    "created_at",
    "delivery_attempts",
)
#: What ``conversations_of`` answers, in this order.
CONVERSATION_FIELDS = (
    "id",
    "channel_id",
    "contact_id",
    "team_id",
    "assignee_id",
    "status",
    "snoozed_until",
    "created_at",
    "last_activity_at",
    "last_message_preview",
    "unread_count",
    "attributes",
)
_CONVERSATION_SELECT = "SELECT " + ", ".join(CONVERSATION_FIELDS) + " FROM conversations"

ChannelRow = tuple[int, str, str, int | None, bool]
ContactRow = tuple[str, int, str]
#: (channel_id, contact_id, team_id, status)
NewConversation = tuple[int, int, int | None, str]
#: (conversation_id, channel_id, kind, body, sender_contact_id, provider_message_id, meta)
NewMessage = tuple[int, int, str, str, int, str | None, dict[str, Any]]
#: (conversation_id, preview, messages added)
Touch = tuple[int, str, int]


class BatchSql(Protocol):
    """The statements of one inbound batch, run synchronously inside its transaction."""

    def channels(self, ids: Collection[int]) -> list[ChannelRow]: ...

    def known_provider_ids(self, channel_id: int, provider_ids: Collection[str]) -> set[str]: ...

    def contacts_of(self, channel_id: int, external_ids: Collection[str]) -> list[ContactRow]: ...

    def insert_contacts(self, names: Sequence[str], now: datetime) -> list[int]: ...

    def insert_identities(self, rows: Sequence[tuple[int, int, str]], now: datetime) -> None: ...

    def conversations_of(self, contact_ids: Collection[int]) -> list[tuple[Any, ...]]: ...

    def insert_conversations(self, rows: Sequence[NewConversation], now: datetime) -> list[int]: ...

    def insert_messages(self, rows: Sequence[NewMessage], now: datetime) -> list[int]: ...

    def touch_conversations(self, rows: Sequence[Touch], now: datetime) -> None: ...


def _marks(count: int) -> str:
    return ",".join("?" * count)


def _insert(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({_marks(len(columns))})"


def sqlite_time(value: datetime) -> str:
    """The text SQLAlchemy stores for a UTC datetime on SQLite, so both compare and sort alike."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_datetime(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


class SqliteBatchSql:
    """The statements on Python's ``sqlite3`` connection, run in the aiosqlite thread."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return list(self._conn.execute(sql, params).fetchall())

    def _returning_ids(self, sql: str, rows: Sequence[Sequence[Any]]) -> list[int]:
        sql += " RETURNING id"
        return [int(self._conn.execute(sql, row).fetchone()[0]) for row in rows]

    def channels(self, ids: Collection[int]) -> list[ChannelRow]:
        sql = (
            "SELECT id, name, type, team_id, is_active FROM channels"
            f" WHERE id IN ({_marks(len(ids))})"
        )
        return [
            (i, n, t, team, bool(active)) for i, n, t, team, active in self._rows(sql, list(ids))
        ]

    def known_provider_ids(self, channel_id: int, provider_ids: Collection[str]) -> set[str]:
        sql = (
            "SELECT provider_message_id FROM messages WHERE channel_id = ?"
            f" AND provider_message_id IN ({_marks(len(provider_ids))})"
        )
        return {row[0] for row in self._rows(sql, [channel_id, *provider_ids])}

    def contacts_of(self, channel_id: int, external_ids: Collection[str]) -> list[ContactRow]:
        sql = (
            "SELECT i.external_id, c.id, c.name FROM contact_identities i"
            " JOIN contacts c ON c.id = i.contact_id"
            f" WHERE i.channel_id = ? AND i.external_id IN ({_marks(len(external_ids))})"
        )
        return [tuple(row) for row in self._rows(sql, [channel_id, *external_ids])]

    def insert_contacts(self, names: Sequence[str], now: datetime) -> list[int]:
        at = sqlite_time(now)
        rows = [(name, name.lower(), "{}", at, at) for name in names]
        return self._returning_ids(_insert("contacts", CONTACT_COLUMNS), rows)

    def insert_identities(self, rows: Sequence[tuple[int, int, str]], now: datetime) -> None:
        at = sqlite_time(now)
        self._conn.executemany(
            _insert("contact_identities", IDENTITY_COLUMNS), [(*row, at) for row in rows]
        )

    def conversations_of(self, contact_ids: Collection[int]) -> list[tuple[Any, ...]]:
        sql = f"{_CONVERSATION_SELECT} WHERE contact_id IN ({_marks(len(contact_ids))})"
        out = []
        for row in self._rows(sql, list(contact_ids)):
            out.append(
                (
                    *row[:6],
                    _sqlite_datetime(row[6]),
                    _sqlite_datetime(row[7]),
                    _sqlite_datetime(row[8]),
                    row[9],
                    row[10],
                    loads(row[11]) if row[11] else {},
                )
            )
        return out

    def insert_conversations(self, rows: Sequence[NewConversation], now: datetime) -> list[int]:
        at = sqlite_time(now)
        values = [
            (ch, contact, team, status, at, at, "", 0, "{}", at)
            for ch, contact, team, status in rows
        ]
        return self._returning_ids(_insert("conversations", CONVERSATION_COLUMNS), values)

    def insert_messages(self, rows: Sequence[NewMessage], now: datetime) -> list[int]:
        at = sqlite_time(now)
        values = [(*row[:6], dumps(row[6]), at, 0) for row in rows]
        return self._returning_ids(_insert("messages", MESSAGE_COLUMNS), values)

    def touch_conversations(self, rows: Sequence[Touch], now: datetime) -> None:
        # The count is added in SQL, so a reply committed meanwhile (it zeroes it) is kept.
        at = sqlite_time(now)
        self._conn.executemany(
            "UPDATE conversations SET last_activity_at = ?, last_message_preview = ?,"
            " unread_count = unread_count + ?, first_incoming_at = coalesce(first_incoming_at, ?)"
            " WHERE id = ?",
            [(at, preview, added, at, conv_id) for conv_id, preview, added in rows],
        )


class PostgresBatchSql:
    """The statements on SQLAlchemy's asyncpg DB-API adapter, in its greenlet."""

    def __init__(self, conn: Any) -> None:
        self._cursor = conn.cursor()

    def _rows(self, sql: str, *params: Any) -> list[Any]:
        self._cursor.execute(sql, params)
        return list(self._cursor.fetchall())

    def _ids_in_order(self, sql: str, *params: Any) -> list[int]:
        return sorted(int(row[0]) for row in self._rows(sql, *params))

    def channels(self, ids: Collection[int]) -> list[ChannelRow]:
        sql = "SELECT id, name, type, team_id, is_active FROM channels WHERE id = ANY($1::int[])"
        return [tuple(row) for row in self._rows(sql, list(ids))]

    def known_provider_ids(self, channel_id: int, provider_ids: Collection[str]) -> set[str]:
        sql = (
            "SELECT provider_message_id FROM messages"
            " WHERE channel_id = $1 AND provider_message_id = ANY($2::text[])"
        )
        return {row[0] for row in self._rows(sql, channel_id, list(provider_ids))}

    def contacts_of(self, channel_id: int, external_ids: Collection[str]) -> list[ContactRow]:
        sql = (
            "SELECT i.external_id, c.id, c.name FROM contact_identities i"
            " JOIN contacts c ON c.id = i.contact_id"
            " WHERE i.channel_id = $1 AND i.external_id = ANY($2::text[])"
        )
        return [tuple(row) for row in self._rows(sql, channel_id, list(external_ids))]

    def insert_contacts(self, names: Sequence[str], now: datetime) -> list[int]:
        sql = (
            f"INSERT INTO contacts ({', '.join(CONTACT_COLUMNS)})"
            " SELECT n, lower(n), '{}'::jsonb, $2::timestamptz, $2::timestamptz"
            " FROM unnest($1::text[]) WITH ORDINALITY AS t(n, i) ORDER BY i RETURNING id"
        )
        return self._ids_in_order(sql, list(names), now)

    def insert_identities(self, rows: Sequence[tuple[int, int, str]], now: datetime) -> None:
        contact_ids, channel_ids, external_ids = (list(col) for col in zip(*rows, strict=True))
        self._rows(
            f"INSERT INTO contact_identities ({', '.join(IDENTITY_COLUMNS)})"
            " SELECT c, ch, e, $4::timestamptz"
            " FROM unnest($1::int[], $2::int[], $3::text[]) AS t(c, ch, e)",
            contact_ids,
            channel_ids,
            external_ids,
            now,
        )

    def conversations_of(self, contact_ids: Collection[int]) -> list[tuple[Any, ...]]:
        sql = f"{_CONVERSATION_SELECT} WHERE contact_id = ANY($1::int[])"
        return [tuple(row) for row in self._rows(sql, list(contact_ids))]

    def insert_conversations(self, rows: Sequence[NewConversation], now: datetime) -> list[int]:
        channel_ids, contact_ids, team_ids, statuses = (
            list(col) for col in zip(*rows, strict=True)
        )
        sql = (
            f"INSERT INTO conversations ({', '.join(CONVERSATION_COLUMNS)})"
            " SELECT ch, c, team, st, $5::timestamptz, $5::timestamptz, '', 0, '{}'::jsonb,"
            " $5::timestamptz"
            " FROM unnest($1::int[], $2::int[], $3::int[], $4::text[])"
            " WITH ORDINALITY AS t(ch, c, team, st, i) ORDER BY i RETURNING id"
        )
        return self._ids_in_order(sql, channel_ids, contact_ids, team_ids, statuses, now)

    def insert_messages(self, rows: Sequence[NewMessage], now: datetime) -> list[int]:
        columns = [list(col) for col in zip(*rows, strict=True)]
        columns[6] = [dumps(meta) for meta in columns[6]]
        sql = (
            f"INSERT INTO messages ({', '.join(MESSAGE_COLUMNS)})"
            " SELECT conv, ch, k, b, sender, pid, m::jsonb, $8::timestamptz, 0"
            " FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::int[], $6::text[],"
            " $7::text[]) WITH ORDINALITY AS t(conv, ch, k, b, sender, pid, m, i)"
            " ORDER BY i RETURNING id"
        )
        return self._ids_in_order(sql, *columns, now)

    def touch_conversations(self, rows: Sequence[Touch], now: datetime) -> None:
        ids, previews, added = (list(col) for col in zip(*rows, strict=True))
        self._rows(
            "UPDATE conversations AS c SET last_activity_at = $4::timestamptz,"
            " last_message_preview = t.p,"
            " unread_count = c.unread_count + t.n,"
            " first_incoming_at = coalesce(c.first_incoming_at, $4::timestamptz)"
            " FROM unnest($1::int[], $2::text[], $3::int[]) AS t(id, p, n) WHERE c.id = t.id",
            ids,
            previews,
            added,
            now,
        )


async def run_batch_sql(session: AsyncSession, work: Callable[[BatchSql], T]) -> T:
    """Run ``work`` with the session's connection, inside its transaction.

    On SQLite it runs in the aiosqlite thread that owns the connection, so the whole batch is
    one hop off the event loop. ``_execute`` and ``_conn`` are aiosqlite's own way of doing
    that (its public methods are built on them); pyproject.toml pins the aiosqlite versions
    this was tested with. On PostgreSQL it runs in SQLAlchemy's greenlet, where the asyncpg
    adapter's calls wait for the loop.
    """
    conn = await session.connection()  # begins the transaction (BEGIN on SQLite)
    if conn.dialect.name == "sqlite":
        driver: Any = (await conn.get_raw_connection()).driver_connection
        result: T = await driver._execute(work, SqliteBatchSql(driver._conn))
        return result
    return await session.run_sync(
        lambda sync: work(PostgresBatchSql(sync.connection().connection.dbapi_connection))
    )
