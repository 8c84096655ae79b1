"""The inbound batch's statements on PostgreSQL (see ``hub.inbox.inbound_sql``): constant
``unnest`` statements on the ``asyncpg`` connection, called from a greenlet."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.util import await_only

from hub.inbox.inbound_sql import (
    CONTACT_COLUMNS,
    CONVERSATION_COLUMNS,
    CONVERSATION_FIELDS,
    IDENTITY_COLUMNS,
    MESSAGE_COLUMNS,
    NEWEST_CONVERSATION,
    REOPENED,
    UNSNOOZED,
    Lookup,
    NewContact,
    NewConversation,
    NewMessage,
    SenderRow,
    Touch,
    columns_of,
    observe,
)
from hub.jsoncodec import dumps, loads


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

    def open_transaction(self) -> None:
        self._writing()

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
        observe(sql)
        return list(await_only(self._conn.fetch(sql, *params)))

    def _ids_in_order(self, sql: str, *params: Any) -> list[int]:
        return sorted(int(row[0]) for row in self._rows(sql, *params))

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
            f" (SELECT coalesce(json_agg(json_build_array(i.channel_id, i.external_id, i.id, c.id,"
            f"  c.name, c.attributes, {fields})), '[]')"
            "  FROM unnest($4::int[], $5::text[]) AS w(ch, ext)"
            "  JOIN contact_identities i ON i.channel_id = w.ch AND i.external_id = w.ext"
            f"  JOIN contacts c ON c.id = i.contact_id {NEWEST_CONVERSATION})"
        )
        provider_channels, pids = columns_of(provider_ids, 2)
        sender_channels, external_ids = columns_of(senders, 2)
        row = self._rows(
            sql, list(channel_ids), provider_channels, pids, sender_channels, external_ids
        )[0]
        channels = [(i, n, t, team, bool(a)) for i, n, t, team, a in _json(row[0])]
        known = {(ch, pid) for ch, pid in _json(row[1])}
        found: list[SenderRow] = [
            (ch, ext, identity_id, contact_id, name, attrs or {}, _json_conversation(conv))
            for ch, ext, identity_id, contact_id, name, attrs, *conv in _json(row[2])
        ]
        return Lookup(channels, known, found)

    def insert_contacts(self, rows: Sequence[NewContact], now: datetime) -> list[int]:
        self._writing()
        names, searches, attrs = columns_of(rows, 3)
        sql = (
            f"INSERT INTO contacts ({', '.join(CONTACT_COLUMNS)})"
            " SELECT n, s, a::jsonb, $4::timestamptz, $4::timestamptz"
            " FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(n, s, a, i)"
            " ORDER BY i RETURNING id"
        )
        return self._ids_in_order(sql, names, searches, [dumps(a) for a in attrs], now)

    def insert_identities(self, rows: Sequence[tuple[int, int, str]], now: datetime) -> list[int]:
        self._writing()
        contact_ids, channel_ids, external_ids = columns_of(rows, 3)
        return self._ids_in_order(
            f"INSERT INTO contact_identities ({', '.join(IDENTITY_COLUMNS)})"
            " SELECT c, ch, e, $4::timestamptz"
            " FROM unnest($1::int[], $2::int[], $3::text[]) WITH ORDINALITY AS t(c, ch, e, i)"
            " ORDER BY i RETURNING id",
            contact_ids,
            channel_ids,
            external_ids,
            now,
        )

    def insert_conversations(self, rows: Sequence[NewConversation], now: datetime) -> list[int]:
        self._writing()
        columns = columns_of(rows, 7)
        columns[6] = [dumps(attrs) for attrs in columns[6]]
        sql = (
            f"INSERT INTO conversations ({', '.join(CONVERSATION_COLUMNS)})"
            " SELECT ch, c, ident, team, st, th, $8::timestamptz, $8::timestamptz, '', 0,"
            " a::jsonb, $8::timestamptz"
            " FROM unnest($1::int[], $2::int[], $3::int[], $4::int[], $5::text[], $6::text[],"
            " $7::text[]) WITH ORDINALITY AS t(ch, c, ident, team, st, th, a, i)"
            " ORDER BY i RETURNING id"
        )
        return self._ids_in_order(sql, *columns, now)

    def store_messages(
        self, rows: Sequence[NewMessage], touches: Sequence[Touch], now: datetime
    ) -> list[int]:
        # One round trip: the update rides along as a data-modifying WITH.
        columns = columns_of(rows, 8)
        columns[6] = [dumps(meta) for meta in columns[6]]
        touched = columns_of(touches, 4)
        touched[3] = [None if attrs is None else dumps(attrs) for attrs in touched[3]]
        sql = (
            "WITH touched AS ("
            " UPDATE conversations AS c SET last_activity_at = $13::timestamptz,"
            " last_message_preview = t.p, unread_count = c.unread_count + t.n,"
            " first_incoming_at = coalesce(c.first_incoming_at, $13::timestamptz),"
            f" snoozed_until = {UNSNOOZED.format(c='c.')}, status = {REOPENED.format(c='c.')},"
            " attributes = coalesce(t.a::jsonb, c.attributes)"
            " FROM unnest($9::int[], $10::text[], $11::int[], $12::text[]) AS t(id, p, n, a)"
            " WHERE c.id = t.id)"
            f" INSERT INTO messages ({', '.join(MESSAGE_COLUMNS)})"
            " SELECT conv, ch, k, b, sender, pid, m::jsonb, $13::timestamptz, 0, rt"
            " FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::int[], $6::text[],"
            " $7::text[], $8::int[]) WITH ORDINALITY AS t(conv, ch, k, b, sender, pid, m, rt, i)"
            " ORDER BY i RETURNING id"
        )
        return self._ids_in_order(sql, *columns, *touched, now)

    def any_of(self, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return "= ANY(?)", [list(values)]

    def time(self, value: datetime) -> Any:
        return value

    def read_time(self, value: Any) -> datetime | None:
        return value if value is None or isinstance(value, datetime) else _json_datetime(value)

    def read_json(self, value: Any) -> dict[str, Any]:
        return _json(value) or {}

    def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._rows(_numbered(sql), *params)]

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._writing()
        text = _numbered(sql)
        observe(text)
        await_only(self._conn.executemany(text, [tuple(row) for row in rows]))

    def insert_ids(self, sql: str, rows: Sequence[Sequence[Any]]) -> list[int]:
        self._writing()
        text = _numbered(sql) + " RETURNING id"
        observe(text)
        return [int(await_only(self._conn.fetchval(text, *row))) for row in rows]


_MARK = re.compile(r"\?j?")


def _numbered(sql: str) -> str:
    """``?`` marks as asyncpg's ``$1``, ``$2``…; ``?j`` (JSON given as text) cast to jsonb."""
    count = 0

    def number(found: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}::text::jsonb" if found[0] == "?j" else f"${count}"

    return _MARK.sub(number, sql)
