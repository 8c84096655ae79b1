"""Customer messages stored a batch at a time, with a handful of set-based statements.

The ORM path in ``actions.receive_message`` costs about ten statements and much ORM bookkeeping
per message; under load that, not the commit, bounds the hub. Here a whole group of messages
costs a few statements (``inbound_sql``, written per backend): a look-up of senders,
conversations and provider ids, inserts of what is new, the messages, and one update of the
conversations.

Only the common case is taken here: a known or brand-new sender without a phone or email to
add, in a conversation that is new, open or pending. Everything else (a repeated provider id,
a contact whose details change, a resolved or snoozed conversation that must reopen with an
activity) is handed back to the per-message ORM path, which runs right after this batch
committed and sees what it wrote.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from hub.channels.base import InboundMessage
from hub.db import utcnow
from hub.driver import DriverConnection
from hub.events import ConversationCreated, Event, MessageCreated, Recipients
from hub.inbox.inbound_postgres import PostgresBatchSql
from hub.inbox.inbound_sql import BatchSql, Lookup
from hub.inbox.inbound_sqlite import SqliteBatchSql
from hub.inbox.models import ConversationStatus, MessageKind
from hub.inbox.serialize import conversation_dict, message_dict
from hub.writes import RUN_ALONE, RunAlone

T = TypeVar("T")
PREVIEW_CHARS = 200
_FAST_STATUSES = (ConversationStatus.OPEN.value, ConversationStatus.PENDING.value)


@dataclass(frozen=True, slots=True)
class ReceiveResult:
    message: dict[str, Any]
    conversation: dict[str, Any]
    duplicate: bool
    created_conversation: bool


Stored = tuple[ReceiveResult, list[Event]]
Identity = tuple[int, str]


def preview(body: str) -> str:
    return " ".join(body.split())[:PREVIEW_CHARS]


@dataclass(frozen=True, slots=True)
class _Named:
    id: int
    name: str
    type: str = ""


@dataclass(frozen=True, slots=True)
class _ConversationRow:
    id: int
    channel_id: int
    contact_id: int
    team_id: int | None
    assignee_id: int | None
    status: str
    snoozed_until: datetime | None
    created_at: datetime
    last_activity_at: datetime
    last_message_preview: str
    unread_count: int
    attributes: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _IncomingRow:
    id: int
    conversation_id: int
    body: str
    sender_contact_id: int
    created_at: datetime
    meta: dict[str, Any] = field(default_factory=dict)
    kind: str = MessageKind.INCOMING.value
    private: bool = False
    sender_operator_id: int | None = None
    delivery_status: str | None = None
    delivery_error: str | None = None
    delivery_attempts: int = 0
    reply_to_id: int | None = None


def _fast_items(
    look: Lookup, items: list[InboundMessage]
) -> tuple[list[int], dict[int, _Named], dict[int, int | None]]:
    """Indexes of the items this path may take; the channels' names and default teams."""
    channels: dict[int, _Named] = {}
    teams: dict[int, int | None] = {}
    for ch_id, name, ch_type, team_id, active in look.channels:
        if active:
            channels[ch_id] = _Named(ch_id, name, ch_type)
            teams[ch_id] = team_id
    fast: list[int] = []
    seen: set[tuple[int, str]] = set()
    for i, item in enumerate(items):
        key = (item.channel_id, item.provider_message_id or "")
        repeated = item.provider_message_id is not None and (key in look.known or key in seen)
        if (
            item.channel_id not in channels
            or item.contact.phone
            or item.contact.email
            or repeated
            or not item.plain
        ):
            continue
        if item.provider_message_id is not None:
            seen.add(key)
        fast.append(i)
    return fast, channels, teams


@dataclass(frozen=True, slots=True)
class _Sender:
    """A sender's identity on the channel and his contact."""

    identity_id: int
    channel_id: int
    contact: _Named


def _contacts(
    sql: BatchSql,
    look: Lookup,
    items: list[InboundMessage],
    fast: list[int],
    now: datetime,
) -> tuple[list[int], dict[Identity, _Sender], dict[int, _ConversationRow]]:
    """The identity and contact of every sender, new ones made, and the newest conversation of
    each known identity; items whose contact needs a name set by the ORM path leave ``fast``."""
    sender_of: dict[Identity, _Sender] = {}
    convs: dict[int, _ConversationRow] = {}
    for ch_id, external_id, identity_id, contact_id, name, conv in look.senders:
        sender_of[(ch_id, external_id)] = _Sender(identity_id, ch_id, _Named(contact_id, name))
        if conv is not None:
            convs[identity_id] = _ConversationRow(*conv)
    fast = [
        i
        for i in fast
        if (key := (items[i].channel_id, items[i].contact.external_id)) not in sender_of
        or not (items[i].contact.name and not sender_of[key].contact.name)
    ]
    first_name: dict[Identity, str] = {}
    for i in fast:
        key = (items[i].channel_id, items[i].contact.external_id)
        if key not in sender_of:
            first_name.setdefault(key, items[i].contact.name)
    if first_name:
        new = sorted(first_name)
        ids = sql.insert_contacts([first_name[key] for key in new], now)
        identity_ids = sql.insert_identities(
            [(cid, ch, ext) for cid, (ch, ext) in zip(ids, new, strict=True)], now
        )
        for cid, identity_id, key in zip(ids, identity_ids, new, strict=True):
            sender_of[key] = _Sender(identity_id, key[0], _Named(cid, first_name[key]))
    return fast, sender_of, convs


def _open_conversations(
    sql: BatchSql,
    convs: dict[int, _ConversationRow],
    senders: dict[int, _Sender],
    teams: dict[int, int | None],
    now: datetime,
) -> set[int]:
    """A new conversation for each sender identity that has none; their ids."""
    missing = sorted(senders.keys() - convs.keys())
    if not missing:
        return set()
    opened = ConversationStatus.OPEN.value
    rows = []
    for identity_id in missing:
        who = senders[identity_id]
        rows.append((who.channel_id, who.contact.id, identity_id, teams[who.channel_id], opened))
    ids = sql.insert_conversations(rows, now)
    for conv_id, identity_id in zip(ids, missing, strict=True):
        ch, cid = senders[identity_id].channel_id, senders[identity_id].contact.id
        convs[identity_id] = _ConversationRow(
            conv_id, ch, cid, teams[ch], None, opened, None, now, now, "", 0, {}
        )
    return set(ids)


@dataclass(frozen=True, slots=True)
class _Written:
    """What the batch's statements stored for one item, for the events built on the loop."""

    message_id: int
    conversation: _ConversationRow
    contact: _Named
    channel: _Named
    is_new: bool


def write_batch(sql: BatchSql, items: list[InboundMessage], now: datetime) -> list[_Written | None]:
    """Store what the fast path can (``None`` for the rest); runs on the driver's side."""
    out: list[_Written | None] = [None] * len(items)
    look = sql.lookup(
        {item.channel_id for item in items},
        {(item.channel_id, item.provider_message_id) for item in items if item.provider_message_id},
        {(item.channel_id, item.contact.external_id) for item in items},
    )
    fast, channels, teams = _fast_items(look, items)
    if not fast:
        return out
    fast, sender_of, convs = _contacts(sql, look, items, fast, now)

    def sender(i: int) -> _Sender:
        return sender_of[(items[i].channel_id, items[i].contact.external_id)]

    writing = {sender(i).identity_id: sender(i) for i in fast}
    created = _open_conversations(sql, convs, writing, teams, now)
    fast = [i for i in fast if convs[sender(i).identity_id].status in _FAST_STATUSES]
    if not fast:
        return out
    per_identity: dict[int, list[int]] = defaultdict(list)
    for i in fast:
        per_identity[sender(i).identity_id].append(i)
    message_ids = sql.store_messages(
        [
            (
                convs[sender(i).identity_id].id,
                items[i].channel_id,
                MessageKind.INCOMING.value,
                items[i].body,
                sender(i).contact.id,
                items[i].provider_message_id,
                dict(items[i].meta),
            )
            for i in fast
        ],
        [
            (convs[identity_id].id, preview(items[idx[-1]].body), len(idx))
            for identity_id, idx in per_identity.items()
        ],
        now,
    )
    seen_in_batch: dict[int, int] = defaultdict(int)
    for i, message_id in zip(fast, message_ids, strict=True):
        item, identity_id = items[i], sender(i).identity_id
        before = convs[identity_id]
        seen_in_batch[identity_id] += 1
        conv = replace(
            before,
            last_activity_at=now,
            last_message_preview=preview(item.body),
            unread_count=before.unread_count + seen_in_batch[identity_id],
        )
        is_new = conv.id in created and seen_in_batch[identity_id] == 1
        out[i] = _Written(message_id, conv, sender(i).contact, channels[item.channel_id], is_new)
    return out


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


async def store_batch(
    conn: DriverConnection, items: list[InboundMessage]
) -> list[Stored | RunAlone]:
    """Store what the fast path can, committed; answer ``RUN_ALONE`` for the rest."""
    now = utcnow()
    written = await run_batch_sql(conn, lambda sql: write_batch(sql, items, now))
    out: list[Stored | RunAlone] = []
    for item, done in zip(items, written, strict=True):
        if done is None:
            out.append(RUN_ALONE)
            continue
        conv, contact = done.conversation, done.contact
        msg = _IncomingRow(done.message_id, conv.id, item.body, contact.id, now, dict(item.meta))
        conv_data = conversation_dict(conv, contact, done.channel)
        msg_data = message_dict(msg, contact_names={contact.id: contact.name})
        recipients = Recipients.for_conversation(conv.team_id, conv.assignee_id)
        events: list[Event] = [ConversationCreated(recipients, conv_data)] if done.is_new else []
        events.append(MessageCreated(recipients, conv.id, msg_data, conv_data))
        out.append((ReceiveResult(msg_data, conv_data, False, done.is_new), events))
    return out
