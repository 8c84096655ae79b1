"""The conversation list's line for a call, kept as the call is now.

A call opens with its first event (usually "ringing"), and that event's line
(``items.call_preview``) is the conversation's ``last_message_preview``. When a later event
changes the call (answered, ended with its length, missed), the fold's transaction writes the
new line, if the call is still the conversation's last message (a customer's or an operator's
message since keeps its own line), and ``conversation.updated`` tells the operators who see the
conversation, so their lists show it live.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hub.events import ConversationUpdated, Event, Recipients
from hub.inbox.inbound_postgres import PostgresBatchSql
from hub.inbox.inbound_sql import BatchSql
from hub.inbox.inbound_state import ConversationSnapshot
from hub.inbox.items import call_preview
from hub.inbox.serialize import conversation_dict

if TYPE_CHECKING:
    from hub.inbox.call_fold import Folded

_CONVERSATION = (
    "c.id, c.channel_id, c.contact_id, c.team_id, c.assignee_id, c.status, c.snoozed_until,"
    " c.created_at, c.last_activity_at, c.last_message_preview, c.unread_count, c.attributes,"
    " ct.name, ch.name, ch.type"
)


def _line(call: dict[str, Any]) -> str:
    return call_preview(
        str(call.get("direction") or "inbound"),
        str(call.get("from") or ""),
        str(call.get("to") or ""),
        str(call.get("status") or "ringing"),
        int(call.get("duration_s") or 0),
    )[:200]


def refresh_previews(sql: BatchSql, folded: Sequence[Folded | None]) -> list[Event]:
    """In the fold's transaction: the new line of every changed call that is its
    conversation's last message; the ``conversation.updated`` events to announce."""
    lines: dict[int, tuple[int, str]] = {}  # conversation id -> (call's message id, line)
    for done in folded:
        if done is None or done.outcome != "changed" or not done.call:
            continue
        if done.conversation_id is None or done.message_id is None:
            continue
        lines[done.conversation_id] = (done.message_id, _line(done.call))
    if not lines:
        return []
    if isinstance(sql, PostgresBatchSql):
        after = _set_lines_at_once(sql, lines)
    else:
        after = _set_lines(sql, lines)
    events: list[Event] = []
    for row in after:
        if row[9] != lines[row[0]][1]:
            continue  # a later message holds the line
        conv = ConversationSnapshot(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            sql.read_time(row[6]),
            _time(sql, row[7]),
            _time(sql, row[8]),
            row[9],
            row[10],
            sql.read_json(row[11]),
        )
        data = conversation_dict(conv, _Named(row[2], row[12]), _Named(row[1], row[13], row[14]))
        events.append(
            ConversationUpdated(Recipients.for_conversation(conv.team_id, conv.assignee_id), data)
        )
    return events


def _set_lines(sql: BatchSql, lines: dict[int, tuple[int, str]]) -> list[tuple[Any, ...]]:
    """Which conversations show another line, their update, and the rows updated (SQLite:
    statements cost no round trip there)."""
    rows = _conversations(sql, sorted(lines))
    stale = []
    for row in rows:
        message_id, line = lines[row[0]]
        if row[9] != line:
            stale.append((line, row[0], row[0], message_id))
    if not stale:
        return []
    sql.execute_many(
        "UPDATE conversations SET last_message_preview = ? WHERE id = ? AND NOT EXISTS"
        " (SELECT 1 FROM messages m WHERE m.conversation_id = ? AND m.id > ?"
        " AND m.kind IN ('incoming', 'outgoing'))",
        stale,
    )
    return _conversations(sql, [conv_id for _line_, conv_id, _c, _m in stale])


def _conversations(sql: BatchSql, ids: list[int]) -> list[tuple[Any, ...]]:
    """These conversations' rows, in ``_CONVERSATION``'s columns."""
    test, params = sql.any_of(ids)
    return sql.fetch(
        f"SELECT {_CONVERSATION} FROM conversations c"
        " JOIN contacts ct ON ct.id = c.contact_id JOIN channels ch ON ch.id = c.channel_id"
        f" WHERE c.id {test}",
        params,
    )


#: PostgreSQL: the three steps in one statement (a round trip is the lane's cost there).
#: ``OFFSET 0`` keeps the later-message test a probe of the call's conversation's messages for
#: each call: without it PostgreSQL may turn the test into an anti-join, and the lane's plan, made
#: once on tables it had no statistics for yet, read every customer's message of the database
#: for each batch (5 ms after 2,500 calls, against 1.2 ms with it, and growing).
_SET_LINES_AT_ONCE = (
    "WITH up AS (UPDATE conversations AS c SET last_message_preview = d.line"
    " FROM unnest($1::int[], $2::text[], $3::bigint[]) AS d(id, line, message_id)"
    " WHERE c.id = d.id AND c.last_message_preview IS DISTINCT FROM d.line AND NOT EXISTS"
    " (SELECT 1 FROM messages m WHERE m.conversation_id = d.id AND m.id > d.message_id"
    " AND m.kind IN ('incoming', 'outgoing') OFFSET 0) RETURNING c.*)"
    f" SELECT {_CONVERSATION} FROM up c"
    " JOIN contacts ct ON ct.id = c.contact_id JOIN channels ch ON ch.id = c.channel_id"
)


def _set_lines_at_once(
    sql: PostgresBatchSql, lines: dict[int, tuple[int, str]]
) -> list[tuple[Any, ...]]:
    """``_set_lines`` in one statement (its marks are PostgreSQL's own, one array each)."""
    ids = sorted(lines)
    return sql.fetch(
        _SET_LINES_AT_ONCE, [ids, [lines[i][1] for i in ids], [lines[i][0] for i in ids]]
    )


class _Named:
    def __init__(self, id_: int, name: str | None, type_: str = "") -> None:
        self.id = id_
        self.name = name or ""
        self.type = type_


def _time(sql: BatchSql, value: Any) -> datetime:
    read = sql.read_time(value)
    assert read is not None  # the column is NOT NULL
    return read
