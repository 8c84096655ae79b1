"""The reply batch's statements, written for each backend's driver (as ``inbound_sql`` is, and
for the same reason: SQLAlchemy's statement building cost more than the database's work).

Two steps, each one statement on PostgreSQL and one aiosqlite hop on SQLite:

* the look-up: for each reply, its conversation, if the operator may see it (the rule of
  ``hub.inbox.access`` as SQL: staff, the assignee, or a member of its team by the request's
  own team list), with its channel, the customer's identity and the conversation of the
  message it answers;
* the write: the messages inserted in order (ids drawn in the rows' order, as in
  ``inbound_postgres``) and their conversations brought up to date in SQL: the preview and
  a zero unread count for replies, the first response only where there was none.

PostgreSQL runs the two without a transaction: the look-up reads, and the write is one
statement, atomic by itself. SQLite runs both in one ``BEGIN IMMEDIATE`` … ``COMMIT``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.dialects import sqlite
from sqlalchemy.util import await_only

from hub.db import UTCDateTime
from hub.inbox.inbound_sql import CONVERSATION_FIELDS, columns_of, insert_sql, observe
from hub.inbox.inbound_sqlite import sqlite_time
from hub.jsoncodec import dumps, loads

REPLY_COLUMNS = (
    "conversation_id",
    "channel_id",
    "kind",
    "body",
    "sender_operator_id",
    "meta",
    "created_at",
    "delivery_status",
    "delivery_attempts",
    "next_attempt_at",
    "reply_to_id",
)
#: A conversation as the look-up answers it, in this order (``reply_batch.Found``).
FOUND_FIELDS = (*CONVERSATION_FIELDS, "identity_id", "first_incoming_at", "first_reply_at")
_TIMES = {"snoozed_until", "created_at", "last_activity_at", "first_incoming_at", "first_reply_at"}
#: The look-up's columns: the conversation's, then the channel's type and settings, the
#: identity's external id and the answered message's conversation.
_SELECTED = (
    ", ".join(f"c.{name}" for name in FOUND_FIELDS)
    + ", ch.type, ch.config, i.external_id, r.conversation_id"
)
_JOINS = (
    " JOIN channels ch ON ch.id = c.channel_id"
    " LEFT JOIN contact_identities i ON i.id = c.identity_id"
)
_TOUCH = (
    " last_activity_at = {now}, last_message_preview = coalesce({p}, c.last_message_preview),"
    " unread_count = CASE WHEN {p} IS NULL THEN c.unread_count ELSE 0 END,"
    " first_reply_at = CASE WHEN {op} IS NOT NULL AND c.first_incoming_at IS NOT NULL"
    " AND c.first_reply_at IS NULL THEN {now} ELSE c.first_reply_at END,"
    " first_replier_id = CASE WHEN {op} IS NOT NULL AND c.first_incoming_at IS NOT NULL"
    " AND c.first_reply_at IS NULL THEN {op} ELSE c.first_replier_id END"
)

#: (conversation_id, operator_id, is_staff, team_ids, reply_to_id)
Wanted = tuple[int, int, bool, Sequence[int], int | None]
#: ``FOUND_FIELDS`` values, channel type, channel config, external id, reply-to's conversation
FoundRow = tuple[Any, ...]
#: (conversation_id, channel_id, kind, body, operator_id, delivery_status, delivery_attempts,
#: next_attempt_at, reply_to_id)
NewReply = tuple[int, int, str, str, int, str | None, int, datetime | None, int | None]
#: (conversation_id, the last reply's preview or None for notes only, the first replier)
ReplyTouch = tuple[int, str | None, int | None]


class ReplySql(Protocol):
    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def lookup(self, wanted: Sequence[Wanted]) -> list[FoundRow | None]: ...
    def store(
        self, rows: Sequence[NewReply], touches: Sequence[ReplyTouch], now: datetime
    ) -> list[int]: ...


def _from_text() -> Callable[[Any], Any]:
    dialect = sqlite.dialect()
    processor = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    if processor is None:
        raise RuntimeError("SQLAlchemy gave no datetime processor for SQLite")
    return processor


_FROM_TEXT = _from_text()
_TIME_AT = [i for i, name in enumerate(FOUND_FIELDS) if name in _TIMES]
_ATTRIBUTES_AT = FOUND_FIELDS.index("attributes")


def _json(value: Any) -> Any:
    return loads(value) if isinstance(value, str | bytes) else value


def _decoded(row: Sequence[Any], to_time: Callable[[Any], Any]) -> FoundRow:
    out = list(row)
    for i in _TIME_AT:
        out[i] = to_time(out[i]) if out[i] is not None else None
    out[_ATTRIBUTES_AT] = _json(out[_ATTRIBUTES_AT]) or {}
    config_at = len(FOUND_FIELDS) + 1
    out[config_at] = _json(out[config_at]) or {}
    return tuple(out)


class SqliteReplySql:
    """On the ``sqlite3`` connection in the aiosqlite thread: one statement per reply, which
    costs microseconds there, in one transaction."""

    _LOOKUP = (
        f"SELECT {_SELECTED} FROM conversations c{_JOINS}"
        " LEFT JOIN messages r ON r.id = ?"
        " WHERE c.id = ? AND (? OR c.assignee_id = ?"
        " OR c.team_id IN (SELECT value FROM json_each(?)))"
    )
    _INSERT = insert_sql("messages", REPLY_COLUMNS) + " RETURNING id"
    _UPDATE = (
        "UPDATE conversations AS c SET"
        + _TOUCH.format(now="?1", p="?2", op="?3")
        + (" WHERE c.id = ?4")
    )

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def begin(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._conn.execute("COMMIT")

    def rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def lookup(self, wanted: Sequence[Wanted]) -> list[FoundRow | None]:
        observe(self._LOOKUP)
        out: list[FoundRow | None] = []
        for conv_id, operator_id, staff, teams, reply_to in wanted:
            params = (reply_to, conv_id, staff, operator_id, dumps(list(teams)))
            row = self._conn.execute(self._LOOKUP, params).fetchone()
            out.append(None if row is None else _decoded(row, _FROM_TEXT))
        return out

    def store(
        self, rows: Sequence[NewReply], touches: Sequence[ReplyTouch], now: datetime
    ) -> list[int]:
        at = sqlite_time(now)
        observe(self._INSERT)
        ids = []
        for conv, ch, kind, body, op, status, attempts, next_at, reply_to in rows:
            nxt = None if next_at is None else sqlite_time(next_at)
            values = (conv, ch, kind, body, op, "{}", at, status, attempts, nxt, reply_to)
            ids.append(int(self._conn.execute(self._INSERT, values).fetchone()[0]))
        observe(self._UPDATE)
        self._conn.executemany(self._UPDATE, [(at, p, op, conv) for conv, p, op in touches])
        return ids


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class PostgresReplySql:
    """Constant ``unnest`` statements on the ``asyncpg`` connection, prepared once."""

    _LOOKUP = (
        f"SELECT t.i, {_SELECTED}"
        " FROM unnest($1::int[], $2::int[], $3::int[], $4::bool[], $5::int[])"
        " AS t(i, conv, op, staff, reply_to)"
        " JOIN conversations c ON c.id = t.conv AND (t.staff OR c.assignee_id = t.op"
        "  OR EXISTS (SELECT 1 FROM unnest($6::int[], $7::int[]) AS m(i, team)"
        "  WHERE m.i = t.i AND m.team = c.team_id))"
        f"{_JOINS} LEFT JOIN messages r ON r.id = t.reply_to"
    )
    # One round trip: the update rides along as a data-modifying WITH.
    _STORE = (
        "WITH touched AS (UPDATE conversations AS c SET"
        + _TOUCH.format(now="$10::timestamptz", p="t.p", op="t.op")
        + " FROM unnest($11::int[], $12::text[], $13::int[]) AS t(id, p, op) WHERE c.id = t.id)"
        f" INSERT INTO messages ({', '.join(REPLY_COLUMNS)})"
        " SELECT conv, ch, k, b, op, '{}'::jsonb, $10::timestamptz, st, n, nxt, rt"
        " FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::int[], $6::text[],"
        " $7::int[], $8::timestamptz[], $9::int[])"
        " WITH ORDINALITY AS t(conv, ch, k, b, op, st, n, nxt, rt, i) ORDER BY i RETURNING id"
    )

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def begin(self) -> None:
        """Nothing: the look-up reads, and the write is one statement."""

    def commit(self) -> None:
        """Nothing: see ``begin``."""

    def rollback(self) -> None:
        """Nothing: see ``begin``."""

    def _rows(self, sql: str, *params: Any) -> list[Any]:
        observe(sql)
        return list(await_only(self._conn.fetch(sql, *params)))

    def lookup(self, wanted: Sequence[Wanted]) -> list[FoundRow | None]:
        conv_ids, operator_ids, staff, _teams, reply_to = columns_of(wanted, 5)
        member_of = [(i, team) for i, row in enumerate(wanted) for team in row[3]]
        rows = self._rows(
            self._LOOKUP,
            list(range(len(wanted))),
            conv_ids,
            operator_ids,
            staff,
            reply_to,
            *columns_of(member_of, 2),
        )
        out: list[FoundRow | None] = [None] * len(wanted)
        for row in rows:
            out[row[0]] = _decoded(tuple(row)[1:], _aware)
        return out

    def store(
        self, rows: Sequence[NewReply], touches: Sequence[ReplyTouch], now: datetime
    ) -> list[int]:
        found = self._rows(self._STORE, *columns_of(rows, 9), now, *columns_of(touches, 3))
        return sorted(int(row[0]) for row in found)
