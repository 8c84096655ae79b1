"""The inbound batch's statements, written for each backend's driver rather than built by
SQLAlchemy.

Why: under load the batch of customer messages is the hub's hottest code, and building,
caching, compiling and reading back SQLAlchemy statements cost more than the database's own
work (a third of the hub's CPU in ``make bench`` profiles). The batch needs a few fixed
statements, so they are written once per backend and run on the write lane's own connection
(``hub.driver``), in a transaction of their own:

* SQLite: the whole batch is one call in the aiosqlite thread (``BEGIN IMMEDIATE`` … ``COMMIT``,
  one hop instead of one per statement); rows are inserted one ``INSERT … RETURNING`` at a time
  there, which costs microseconds and keeps each id paired with its row.
* PostgreSQL: constant ``unnest`` statements, prepared once. Messages to known senders' open
  conversations (nearly all, once a conversation runs) take one statement that looks them up,
  inserts and updates (``store_to_known``); the rest take a look-up, then inserts. A
  transaction is opened only when new contacts or conversations are made. ``INSERT … SELECT …
  ORDER BY`` draws ids in the rows' order, so the ascending ids pair with the rows as given.

Both answer the same Python values: aware UTC datetimes and decoded JSON. Columns a model
fills by default are listed here (``*_COLUMNS``), and a test keeps them in step with the models.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy.util import await_only

from hub.driver import DriverConnection
from hub.jsoncodec import dumps, loads

T = TypeVar("T")

#: Called with the text of each statement the batch runs (tests; debugging). SQLAlchemy's own
#: statement events do not see these, as they bypass it.
statement_observers: list[Callable[[str], None]] = []


def _observe(sql: str) -> None:
    for observer in statement_observers:
        observer(sql)


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
_NEWEST_CONVERSATION = (
    "LEFT JOIN conversations v ON v.id = (SELECT max(id) FROM conversations"
    " WHERE contact_id = c.id AND channel_id = i.channel_id)"
)

ChannelRow = tuple[int, str, str, int | None, bool]
#: (channel_id, external_id, contact_id, contact name, the newest conversation of that contact
#: on that channel as ``CONVERSATION_FIELDS`` or None)
SenderRow = tuple[int, str, int, str, tuple[Any, ...] | None]
#: (channel_id, contact_id, team_id, status)
NewConversation = tuple[int, int, int | None, str]
#: (conversation_id, channel_id, kind, body, sender_contact_id, provider_message_id, meta)
NewMessage = tuple[int, int, str, str, int, str | None, dict[str, Any]]
#: (conversation_id, preview, messages added)
Touch = tuple[int, str, int]


#: (index in the batch, channel_id, external_id, sender's name, body, provider id, meta, preview)
KnownCandidate = tuple[int, int, str, str, str, str | None, dict[str, Any], str]
#: (index, message_id, contact_id, contact name, channel name, channel type, the conversation as
#: ``CONVERSATION_FIELDS`` before this batch)
KnownStored = tuple[int, int, int, str, str, str, tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Lookup:
    """What the batch must know before it writes."""

    channels: list[ChannelRow]
    #: (channel_id, provider_message_id) pairs stored already
    known: set[tuple[int, str]]
    senders: list[SenderRow]


class BatchSql(Protocol):
    """The statements of one inbound batch, run synchronously inside its transaction."""

    def store_to_known(self, rows: Sequence[KnownCandidate], now: datetime) -> list[KnownStored]:
        """In one step where the backend gains by it, store the messages whose sender is known
        on an active channel, whose newest conversation there is open or pending, whose
        provider id is new, and whose sender's name needs no filling; update their
        conversations. Answers those stored, by index; the others go the general way. A
        backend without such a step answers ``[]``."""
        ...

    def lookup(
        self,
        channel_ids: Collection[int],
        provider_ids: Collection[tuple[int, str]],
        senders: Collection[tuple[int, str]],
    ) -> Lookup: ...

    def insert_contacts(self, names: Sequence[str], now: datetime) -> list[int]: ...

    def insert_identities(self, rows: Sequence[tuple[int, int, str]], now: datetime) -> None: ...

    def insert_conversations(self, rows: Sequence[NewConversation], now: datetime) -> list[int]: ...

    def store_messages(
        self, rows: Sequence[NewMessage], touches: Sequence[Touch], now: datetime
    ) -> list[int]:
        """Insert the messages (their ids, in order) and bring their conversations up to date:
        last activity and preview, the unread count raised in SQL (a reply committed meanwhile
        zeroes it and is kept), the first incoming time where there was none."""
        ...


def _marks(count: int) -> str:
    return ",".join("?" * count)


def _insert(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({_marks(len(columns))})"


def _by_channel(pairs: Collection[tuple[int, str]]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for channel_id, value in pairs:
        out.setdefault(channel_id, []).append(value)
    return out


def _columns(rows: Collection[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows turned into ``width`` column lists (empty ones when there are no rows)."""
    columns: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns


def sqlite_time(value: datetime) -> str:
    """The text SQLAlchemy stores for a UTC datetime on SQLite, so both compare and sort alike."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_datetime(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _sqlite_conversation(row: Sequence[Any]) -> tuple[Any, ...] | None:
    if row[0] is None:
        return None
    times = tuple(_sqlite_datetime(value) for value in row[6:9])
    return (*row[:6], *times, row[9], row[10], loads(row[11]) if row[11] else {})


def _json(value: Any) -> Any:
    """A ``json`` result: SQLAlchemy's asyncpg setup decodes it already; plain asyncpg does not."""
    return loads(value) if isinstance(value, str | bytes) else value


def _json_datetime(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).astimezone(UTC)


def _json_conversation(row: Sequence[Any]) -> tuple[Any, ...] | None:
    """A conversation that PostgreSQL wrote as JSON: times come as ISO text with an offset."""
    if row[0] is None:
        return None
    times = tuple(_json_datetime(value) for value in row[6:9])
    return (*row[:6], *times, row[9], row[10], row[11] or {})


class SqliteBatchSql:
    """The statements on Python's ``sqlite3`` connection, run in the aiosqlite thread."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def begin(self) -> None:
        # IMMEDIATE takes the write lock now: the batch will write, and waiting for the lock
        # here (busy timeout) beats failing at its first write.
        self._conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._conn.execute("COMMIT")

    def rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        _observe(sql)
        return list(self._conn.execute(sql, params).fetchall())

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        _observe(sql)
        self._conn.executemany(sql, rows)

    def _returning_ids(self, sql: str, rows: Sequence[Sequence[Any]]) -> list[int]:
        sql += " RETURNING id"
        _observe(sql)
        return [int(self._conn.execute(sql, row).fetchone()[0]) for row in rows]

    def store_to_known(self, rows: Sequence[KnownCandidate], now: datetime) -> list[KnownStored]:
        return []  # the whole batch is one hop on SQLite already

    def lookup(
        self,
        channel_ids: Collection[int],
        provider_ids: Collection[tuple[int, str]],
        senders: Collection[tuple[int, str]],
    ) -> Lookup:
        sql = (
            "SELECT id, name, type, team_id, is_active FROM channels"
            f" WHERE id IN ({_marks(len(channel_ids))})"
        )
        channels = [
            (i, n, t, team, bool(active))
            for i, n, t, team, active in self._rows(sql, list(channel_ids))
        ]
        known: set[tuple[int, str]] = set()
        for ch, pids in _by_channel(provider_ids).items():
            sql = (
                "SELECT provider_message_id FROM messages WHERE channel_id = ?"
                f" AND provider_message_id IN ({_marks(len(pids))})"
            )
            known.update((ch, row[0]) for row in self._rows(sql, [ch, *pids]))
        found: list[SenderRow] = []
        fields = ", ".join(f"v.{name}" for name in CONVERSATION_FIELDS)
        for ch, external_ids in _by_channel(senders).items():
            sql = (
                f"SELECT i.external_id, c.id, c.name, {fields} FROM contact_identities i"
                f" JOIN contacts c ON c.id = i.contact_id {_NEWEST_CONVERSATION}"
                f" WHERE i.channel_id = ? AND i.external_id IN ({_marks(len(external_ids))})"
            )
            for ext, contact_id, name, *conv in self._rows(sql, [ch, *external_ids]):
                found.append((ch, ext, contact_id, name, _sqlite_conversation(conv)))
        return Lookup(channels, known, found)

    def insert_contacts(self, names: Sequence[str], now: datetime) -> list[int]:
        at = sqlite_time(now)
        rows = [(name, name.lower(), "{}", at, at) for name in names]
        return self._returning_ids(_insert("contacts", CONTACT_COLUMNS), rows)

    def insert_identities(self, rows: Sequence[tuple[int, int, str]], now: datetime) -> None:
        at = sqlite_time(now)
        self._executemany(
            _insert("contact_identities", IDENTITY_COLUMNS), [(*row, at) for row in rows]
        )

    def insert_conversations(self, rows: Sequence[NewConversation], now: datetime) -> list[int]:
        at = sqlite_time(now)
        values = [
            (ch, contact, team, status, at, at, "", 0, "{}", at)
            for ch, contact, team, status in rows
        ]
        return self._returning_ids(_insert("conversations", CONVERSATION_COLUMNS), values)

    def store_messages(
        self, rows: Sequence[NewMessage], touches: Sequence[Touch], now: datetime
    ) -> list[int]:
        at = sqlite_time(now)
        values = [(*row[:6], dumps(row[6]), at, 0) for row in rows]
        ids = self._returning_ids(_insert("messages", MESSAGE_COLUMNS), values)
        self._executemany(
            "UPDATE conversations SET last_activity_at = ?, last_message_preview = ?,"
            " unread_count = unread_count + ?, first_incoming_at = coalesce(first_incoming_at, ?)"
            " WHERE id = ?",
            [(at, preview, added, at, conv_id) for conv_id, preview, added in touches],
        )
        return ids


class PostgresBatchSql:
    """The statements on the ``asyncpg`` connection, in a greenlet.

    A batch that only adds messages to known conversations needs no transaction: the lookup
    reads, and the one statement that writes is atomic by itself and commits as it ends. So a
    transaction is opened only before a batch's first insert of contacts or conversations,
    which must commit together with its messages. In the common case that saves the BEGIN
    and COMMIT round trips.
    """

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._transaction: Any = None

    def begin(self) -> None:
        """Nothing yet: see ``_writing``."""

    def _writing(self) -> None:
        if self._transaction is None:
            self._transaction = self._conn.transaction()
            await_only(self._transaction.start())

    def commit(self) -> None:
        if self._transaction is not None:
            await_only(self._transaction.commit())

    def rollback(self) -> None:
        if self._transaction is not None:
            await_only(self._transaction.rollback())

    def _rows(self, sql: str, *params: Any) -> list[Any]:
        _observe(sql)
        return list(await_only(self._conn.fetch(sql, *params)))

    def _ids_in_order(self, sql: str, *params: Any) -> list[int]:
        return sorted(int(row[0]) for row in self._rows(sql, *params))

    def store_to_known(self, rows: Sequence[KnownCandidate], now: datetime) -> list[KnownStored]:
        # The common case in one round trip and one atomic statement: look the senders and
        # their conversations up, insert the messages, update the conversations.
        fields = ", ".join(f"v.{name} AS v_{name}" for name in CONVERSATION_FIELDS)
        sql = (
            "WITH input AS (SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::text[],"
            " $5::text[], $6::text[], $7::text[], $8::text[])"
            " AS t(i, ch, ext, who, body, pid, meta, preview)),"
            " found AS MATERIALIZED (SELECT t.i, t.ch, t.body, t.pid, t.meta, t.preview,"
            f" c.id AS contact_id, c.name AS contact_name, chn.name AS ch_name,"
            f" chn.type AS ch_type, {fields}"
            " FROM input t JOIN channels chn ON chn.id = t.ch AND chn.is_active"
            " JOIN contact_identities i ON i.channel_id = t.ch AND i.external_id = t.ext"
            f" JOIN contacts c ON c.id = i.contact_id {_NEWEST_CONVERSATION.replace('LEFT ', '')}"
            " WHERE v.status IN ('open', 'pending') AND NOT (t.who <> '' AND c.name = '')"
            " AND (t.pid IS NULL OR NOT EXISTS (SELECT 1 FROM messages m"
            " WHERE m.channel_id = t.ch AND m.provider_message_id = t.pid))),"
            " touched AS (UPDATE conversations AS c SET last_activity_at = $9::timestamptz,"
            " last_message_preview = x.preview, unread_count = c.unread_count + x.n,"
            " first_incoming_at = coalesce(c.first_incoming_at, $9::timestamptz)"
            " FROM (SELECT DISTINCT ON (v_id) v_id, preview,"
            " count(*) OVER (PARTITION BY v_id) AS n FROM found ORDER BY v_id, i DESC) AS x"
            " WHERE c.id = x.v_id),"
            f" inserted AS (INSERT INTO messages ({', '.join(MESSAGE_COLUMNS)})"
            " SELECT v_id, ch, 'incoming', body, contact_id, pid, meta::jsonb,"
            " $9::timestamptz, 0 FROM found ORDER BY i RETURNING id)"
            " SELECT f.*, (SELECT array_agg(id ORDER BY id) FROM inserted) AS ids"
            " FROM found f ORDER BY f.i"
        )
        columns = _columns(rows, 8)
        columns[6] = [dumps(meta) for meta in columns[6]]
        found = self._rows(sql, *columns, now)
        if not found:
            return []
        ids = list(found[0]["ids"])
        first = 10  # where the conversation's fields start in a row of ``found``
        return [
            (
                row["i"],
                message_id,
                row["contact_id"],
                row["contact_name"],
                row["ch_name"],
                row["ch_type"],
                tuple(row)[first : first + len(CONVERSATION_FIELDS)],
            )
            for row, message_id in zip(found, ids, strict=True)
        ]

    def lookup(
        self,
        channel_ids: Collection[int],
        provider_ids: Collection[tuple[int, str]],
        senders: Collection[tuple[int, str]],
    ) -> Lookup:
        # One round trip: each part comes back as one JSON array.
        fields = ", ".join(f"v.{name}" for name in CONVERSATION_FIELDS)
        sql = (
            "SELECT"
            " (SELECT coalesce(json_agg(json_build_array(id, name, type, team_id, is_active)),"
            "  '[]') FROM channels WHERE id = ANY($1::int[])),"
            " (SELECT coalesce(json_agg(json_build_array(p.ch, p.pid)), '[]')"
            "  FROM unnest($2::int[], $3::text[]) AS p(ch, pid)"
            "  JOIN messages m ON m.channel_id = p.ch AND m.provider_message_id = p.pid),"
            f" (SELECT coalesce(json_agg(json_build_array(i.channel_id, i.external_id, c.id,"
            f"  c.name, {fields})), '[]')"
            "  FROM unnest($4::int[], $5::text[]) AS w(ch, ext)"
            "  JOIN contact_identities i ON i.channel_id = w.ch AND i.external_id = w.ext"
            f"  JOIN contacts c ON c.id = i.contact_id {_NEWEST_CONVERSATION})"
        )
        provider_channels, pids = _columns(provider_ids, 2)
        sender_channels, external_ids = _columns(senders, 2)
        row = self._rows(
            sql, list(channel_ids), provider_channels, pids, sender_channels, external_ids
        )[0]
        channels = [(i, n, t, team, bool(a)) for i, n, t, team, a in _json(row[0])]
        known = {(ch, pid) for ch, pid in _json(row[1])}
        found: list[SenderRow] = [
            (ch, ext, contact_id, name, _json_conversation(conv))
            for ch, ext, contact_id, name, *conv in _json(row[2])
        ]
        return Lookup(channels, known, found)

    def insert_contacts(self, names: Sequence[str], now: datetime) -> list[int]:
        self._writing()
        sql = (
            f"INSERT INTO contacts ({', '.join(CONTACT_COLUMNS)})"
            " SELECT n, lower(n), '{}'::jsonb, $2::timestamptz, $2::timestamptz"
            " FROM unnest($1::text[]) WITH ORDINALITY AS t(n, i) ORDER BY i RETURNING id"
        )
        return self._ids_in_order(sql, list(names), now)

    def insert_identities(self, rows: Sequence[tuple[int, int, str]], now: datetime) -> None:
        self._writing()
        contact_ids, channel_ids, external_ids = _columns(rows, 3)
        self._rows(
            f"INSERT INTO contact_identities ({', '.join(IDENTITY_COLUMNS)})"
            " SELECT c, ch, e, $4::timestamptz"
            " FROM unnest($1::int[], $2::int[], $3::text[]) AS t(c, ch, e)",
            contact_ids,
            channel_ids,
            external_ids,
            now,
        )

    def insert_conversations(self, rows: Sequence[NewConversation], now: datetime) -> list[int]:
        self._writing()
        channel_ids, contact_ids, team_ids, statuses = _columns(rows, 4)
        sql = (
            f"INSERT INTO conversations ({', '.join(CONVERSATION_COLUMNS)})"
            " SELECT ch, c, team, st, $5::timestamptz, $5::timestamptz, '', 0, '{}'::jsonb,"
            " $5::timestamptz"
            " FROM unnest($1::int[], $2::int[], $3::int[], $4::text[])"
            " WITH ORDINALITY AS t(ch, c, team, st, i) ORDER BY i RETURNING id"
        )
        return self._ids_in_order(sql, channel_ids, contact_ids, team_ids, statuses, now)

    def store_messages(
        self, rows: Sequence[NewMessage], touches: Sequence[Touch], now: datetime
    ) -> list[int]:
        # One round trip: the update rides along as a data-modifying WITH.
        columns = _columns(rows, 7)
        columns[6] = [dumps(meta) for meta in columns[6]]
        sql = (
            "WITH touched AS ("
            " UPDATE conversations AS c SET last_activity_at = $11::timestamptz,"
            " last_message_preview = t.p, unread_count = c.unread_count + t.n,"
            " first_incoming_at = coalesce(c.first_incoming_at, $11::timestamptz)"
            " FROM unnest($8::int[], $9::text[], $10::int[]) AS t(id, p, n) WHERE c.id = t.id)"
            f" INSERT INTO messages ({', '.join(MESSAGE_COLUMNS)})"
            " SELECT conv, ch, k, b, sender, pid, m::jsonb, $11::timestamptz, 0"
            " FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::int[], $6::text[],"
            " $7::text[]) WITH ORDINALITY AS t(conv, ch, k, b, sender, pid, m, i)"
            " ORDER BY i RETURNING id"
        )
        return self._ids_in_order(sql, *columns, *_columns(touches, 3), now)


async def run_batch_sql(conn: DriverConnection, work: Callable[[BatchSql], T]) -> T:
    """Run ``work`` on the lane's connection and commit it; roll it all back if it raises."""

    def in_transaction(driver: Any) -> T:
        sql: SqliteBatchSql | PostgresBatchSql = (
            SqliteBatchSql(driver) if conn.dialect == "sqlite" else PostgresBatchSql(driver)
        )
        sql.begin()
        try:
            result = work(sql)
        except BaseException:
            sql.rollback()
            raise
        sql.commit()
        return result

    return await conn.run(in_transaction)
