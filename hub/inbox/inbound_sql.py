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
* PostgreSQL: constant ``unnest`` statements, prepared once: a look-up (one round trip), then
  one statement that inserts the messages and updates their conversations. A transaction is
  opened only when new contacts or conversations are made. (One statement doing the look-up
  too measured slower: PostgreSQL spent more on it than the round trip saved.) ``INSERT …
  SELECT … ORDER BY`` draws ids in the rows' order, so the ascending ids pair with the rows.

This module holds what both share: the interface (``BatchSql``), the rows it passes and the
column lists; ``inbound_sqlite`` and ``inbound_postgres`` implement it, and
``inbound_batch.run_batch_sql`` runs one in its transaction. Both answer the same Python
values: aware UTC datetimes and decoded JSON. Columns a model fills by default are listed here
(``*_COLUMNS``), and a test keeps them in step with the models.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

#: Called with the text of each statement the batch runs (tests; debugging). SQLAlchemy's own
#: statement events do not see these, as they bypass it.
statement_observers: list[Callable[[str], None]] = []


def observe(sql: str) -> None:
    for observer in statement_observers:
        observer(sql)


CONTACT_COLUMNS = ("name", "search_text", "attributes", "created_at", "updated_at")
IDENTITY_COLUMNS = ("contact_id", "channel_id", "external_id", "created_at")
CONVERSATION_COLUMNS = (
    "channel_id",
    "contact_id",
    "identity_id",
    "team_id",
    "status",
    "thread_key",
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
    "reply_to_id",
)
#: A sender's newest conversation as ``BatchSql.lookup`` answers it, in this order.
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
ATTACHMENT_COLUMNS = (
    "message_id",
    "conversation_id",
    "filename",
    "content_type",
    "size",
    "sha256",
    "storage_key",
    "kind",
    "meta",
    "created_at",
)
#: The sender's own newest conversation outside any thread: by his identity, never by his
#: contact, which a merge may share with other people's identities. (Items with a thread key
#: take the per-message path.)
NEWEST_CONVERSATION = (
    "LEFT JOIN conversations v ON v.id = (SELECT max(id) FROM conversations"
    " WHERE identity_id = i.id AND thread_key IS NULL)"
)

ChannelRow = tuple[int, str, str, int | None, bool]
#: (channel_id, external_id, identity_id, contact_id, contact name, contact attributes, the
#: identity's newest conversation outside any thread as ``CONVERSATION_FIELDS`` or None)
SenderRow = tuple[int, str, int, int, str, dict[str, Any], tuple[Any, ...] | None]
#: (name, search_text, attributes)
NewContact = tuple[str, str, dict[str, Any]]
#: (channel_id, contact_id, identity_id, team_id, status, thread_key, attributes)
NewConversation = tuple[int, int, int, int | None, str, str | None, dict[str, Any]]
#: (conversation_id, channel_id, kind, body, sender_contact_id, provider_message_id, meta,
#: reply_to_id)
NewMessage = tuple[int, int, str, str, int | None, str | None, dict[str, Any], int | None]
#: (conversation_id, preview, messages added, attributes to set or None)
Touch = tuple[int, str, int, dict[str, Any] | None]
#: The statement that brings a conversation up to date after customer messages: its activity
#: and preview; the unread count raised in SQL (a reply committed meanwhile zeroes it and is
#: kept); the first incoming time where there was none; a resolved or snoozed conversation
#: open again (in SQL too: one resolved since the look-up opens as well); attributes replaced
#: where given. Parameters: time, preview, added, attributes, id (``?`` marks; ``$n`` on
#: PostgreSQL through ``unnest``).
REOPENED = "CASE WHEN {c}status IN ('resolved', 'snoozed') THEN 'open' ELSE {c}status END"
UNSNOOZED = "CASE WHEN {c}status IN ('resolved', 'snoozed') THEN NULL ELSE {c}snoozed_until END"


@dataclass(frozen=True, slots=True)
class Lookup:
    """What the batch must know before it writes."""

    channels: list[ChannelRow]
    #: (channel_id, provider_message_id) pairs stored already
    known: set[tuple[int, str]]
    senders: list[SenderRow]


class BatchSql(Protocol):
    """The statements of one inbound batch, run synchronously inside its transaction."""

    def lookup(
        self,
        channel_ids: Collection[int],
        provider_ids: Collection[tuple[int, str]],
        senders: Collection[tuple[int, str]],
    ) -> Lookup: ...

    def open_transaction(self) -> None:
        """Make sure what follows commits as one: a batch that writes more than its messages
        (``store_messages`` alone is one atomic statement) calls this before its first write."""
        ...

    def insert_contacts(self, rows: Sequence[NewContact], now: datetime) -> list[int]: ...

    def insert_identities(
        self, rows: Sequence[tuple[int, int, str]], now: datetime
    ) -> list[int]: ...

    def insert_conversations(self, rows: Sequence[NewConversation], now: datetime) -> list[int]: ...

    def store_messages(
        self, rows: Sequence[NewMessage], touches: Sequence[Touch], now: datetime
    ) -> list[int]:
        """Insert the messages (their ids, in order) and bring their conversations up to date
        (see ``REOPENED``)."""
        ...

    # The rarer parts of a batch (contact details, files, calls and emails, threads) are
    # written with plain statements, the same text on both backends: ``?`` marks a value,
    # ``?j`` a JSON value given as text (``dumps``). They run only when a batch needs them.

    def any_of(self, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """A membership test of ``values`` and its parameters, to follow a column: the same
        text whatever their number on PostgreSQL (``= ANY(?)`` with one array), so the
        statement is prepared once, not once for each length of the list."""
        ...

    def time(self, value: datetime) -> Any:
        """``value`` as this backend's driver stores it (``fetch`` reads it back with
        ``read_time``)."""
        ...

    def read_time(self, value: Any) -> datetime | None: ...

    def read_json(self, value: Any) -> dict[str, Any]: ...

    def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]: ...

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def insert_ids(self, sql: str, rows: Sequence[Sequence[Any]]) -> list[int]:
        """Run an INSERT once per row; the new ids, in order."""
        ...


def marks(count: int) -> str:
    return ",".join("?" * count)


def insert_sql(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks(len(columns))})"


def by_channel(pairs: Collection[tuple[int, str]]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for channel_id, value in pairs:
        out.setdefault(channel_id, []).append(value)
    return out


def columns_of(rows: Collection[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows turned into ``width`` column lists (empty ones when there are no rows)."""
    columns: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns
