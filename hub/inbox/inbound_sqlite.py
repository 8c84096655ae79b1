"""The inbound batch's statements on SQLite (see ``hub.inbox.inbound_sql``): run with the
``sqlite3`` connection in the aiosqlite thread, the whole batch in one hop."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import sqlite

from hub.db import UTCDateTime
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
    by_channel,
    insert_sql,
    marks,
    observe,
)
from hub.jsoncodec import dumps, loads


# The hub's own datetime column type, as SQLAlchemy applies it on SQLite: the rows written
# here store, compare and read back exactly like the ORM's.
def _time_processors() -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    dialect = sqlite.dialect()
    times = UTCDateTime().dialect_impl(dialect)
    to_text, from_text = times.bind_processor(dialect), times.result_processor(dialect, None)
    if to_text is None or from_text is None:
        raise RuntimeError("SQLAlchemy gave no datetime processors for SQLite")
    return to_text, from_text


_TO_TEXT, _FROM_TEXT = _time_processors()


def sqlite_time(value: datetime) -> str:
    """The text the ORM stores for ``value``, so both compare and sort alike."""
    text: str = _TO_TEXT(value)
    return text


def _sqlite_datetime(value: str | None) -> datetime | None:
    result: datetime | None = _FROM_TEXT(value)
    return result


def _sqlite_conversation(row: Sequence[Any]) -> tuple[Any, ...] | None:
    if row[0] is None:
        return None
    times = tuple(_sqlite_datetime(value) for value in row[6:9])
    return (*row[:6], *times, row[9], row[10], loads(row[11]) if row[11] else {})


class SqliteBatchSql:
    """The statements on Python's ``sqlite3`` connection, run in the aiosqlite thread."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def begin(self) -> None:
        # IMMEDIATE takes the write lock now: the batch will write, and waiting for the lock
        # here (busy timeout) beats failing at its first write.
        self._conn.execute("BEGIN IMMEDIATE")

    def open_transaction(self) -> None:
        """Open already (``begin``)."""

    def commit(self) -> None:
        self._conn.execute("COMMIT")

    def rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        observe(sql)
        return list(self._conn.execute(sql, params).fetchall())

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        observe(sql)
        self._conn.executemany(sql, rows)

    def _returning_ids(self, sql: str, rows: Sequence[Sequence[Any]]) -> list[int]:
        sql += " RETURNING id"
        observe(sql)
        return [int(self._conn.execute(sql, row).fetchone()[0]) for row in rows]

    def lookup(
        self,
        channel_ids: Collection[int],
        provider_ids: Collection[tuple[int, str]],
        senders: Collection[tuple[int, str]],
    ) -> Lookup:
        sql = (
            "SELECT id, name, type, team_id, is_active FROM channels"
            f" WHERE id IN ({marks(len(channel_ids))})"
        )
        channels = [
            (i, n, t, team, bool(active))
            for i, n, t, team, active in self._rows(sql, list(channel_ids))
        ]
        known: set[tuple[int, str]] = set()
        for ch, pids in by_channel(provider_ids).items():
            sql = (
                "SELECT provider_message_id FROM messages WHERE channel_id = ?"
                f" AND provider_message_id IN ({marks(len(pids))})"
            )
            known.update((ch, row[0]) for row in self._rows(sql, [ch, *pids]))
        found: list[SenderRow] = []
        fields = ", ".join(f"v.{name}" for name in CONVERSATION_FIELDS)
        for ch, external_ids in by_channel(senders).items():
            sql = (
                f"SELECT i.external_id, i.id, c.id, c.name, c.attributes, {fields}"
                f" FROM contact_identities i JOIN contacts c ON c.id = i.contact_id"
                f" {NEWEST_CONVERSATION}"
                f" WHERE i.channel_id = ? AND i.external_id IN ({marks(len(external_ids))})"
            )
            rows = self._rows(sql, [ch, *external_ids])
            for ext, identity_id, contact_id, name, attrs, *conv in rows:
                found.append(
                    (
                        ch,
                        ext,
                        identity_id,
                        contact_id,
                        name,
                        self.read_json(attrs),
                        _sqlite_conversation(conv),
                    )
                )
        return Lookup(channels, known, found)

    def insert_contacts(self, rows: Sequence[NewContact], now: datetime) -> list[int]:
        at = sqlite_time(now)
        values = [(name, search, dumps(attrs), at, at) for name, search, attrs in rows]
        return self._returning_ids(insert_sql("contacts", CONTACT_COLUMNS), values)

    def insert_identities(self, rows: Sequence[tuple[int, int, str]], now: datetime) -> list[int]:
        at = sqlite_time(now)
        return self._returning_ids(
            insert_sql("contact_identities", IDENTITY_COLUMNS), [(*row, at) for row in rows]
        )

    def insert_conversations(self, rows: Sequence[NewConversation], now: datetime) -> list[int]:
        at = sqlite_time(now)
        values = [
            (ch, contact, identity, team, status, thread, at, at, "", 0, dumps(attrs), at)
            for ch, contact, identity, team, status, thread, attrs in rows
        ]
        return self._returning_ids(insert_sql("conversations", CONVERSATION_COLUMNS), values)

    def store_messages(
        self, rows: Sequence[NewMessage], touches: Sequence[Touch], now: datetime
    ) -> list[int]:
        at = sqlite_time(now)
        values = [(*row[:6], dumps(row[6]), at, 0, row[7]) for row in rows]
        ids = self._returning_ids(insert_sql("messages", MESSAGE_COLUMNS), values)
        self._executemany(
            "UPDATE conversations SET last_activity_at = ?, last_message_preview = ?,"
            " unread_count = unread_count + ?, first_incoming_at = coalesce(first_incoming_at, ?),"
            f" snoozed_until = {UNSNOOZED.format(c='')}, status = {REOPENED.format(c='')},"
            " attributes = coalesce(?, attributes) WHERE id = ?",
            [
                (at, preview, added, at, None if attrs is None else dumps(attrs), conv_id)
                for conv_id, preview, added, attrs in touches
            ],
        )
        return ids

    def any_of(self, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"IN ({marks(len(values))})", list(values)

    def time(self, value: datetime) -> Any:
        return sqlite_time(value)

    def read_time(self, value: Any) -> datetime | None:
        return _sqlite_datetime(value)

    def read_json(self, value: Any) -> dict[str, Any]:
        return loads(value) if value else {}

    def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._rows(sql.replace("?j", "?"), params)]

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._executemany(sql.replace("?j", "?"), rows)

    def insert_ids(self, sql: str, rows: Sequence[Sequence[Any]]) -> list[int]:
        return self._returning_ids(sql.replace("?j", "?"), rows)
