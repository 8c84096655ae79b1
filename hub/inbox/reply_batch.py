"""Operators' replies and notes stored a batch at a time, with two statements per batch.

The ORM path (``replies.reply_one``) costs a session's worth of statements and bookkeeping per
reply, in a savepoint of the group commit; with a hundred visitors chatting that, more than the
database, was the reply's cost. Here a batch is a look-up and a write (``reply_sql``, per
backend) on the write lane's driver connection, and the answers, events and live hand-overs
are built from what the look-up read, as the ORM path builds them from its objects.

Only the common case is taken: a reply or note without files, to a conversation the operator
may see, on a channel that takes replies, answering nothing or a message of that conversation.
Everything else (files to claim, a request that fails a check, which the ORM path then refuses
with its own error) is handed back to the ORM path, and so is every later item of the same
conversation in the batch, so that each conversation's messages keep their order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from hub.channels.base import OutboundMessage
from hub.channels.capabilities import Capabilities
from hub.db import utcnow
from hub.driver import DriverConnection
from hub.events import Event, MessageCreated, Recipients
from hub.inbox.auth import Principal
from hub.inbox.inbound_plan import preview
from hub.inbox.inbound_state import ConversationSnapshot
from hub.inbox.models import DeliveryStatus, MessageKind
from hub.inbox.reply_sql import (
    FOUND_FIELDS,
    FoundRow,
    NewReply,
    PostgresReplySql,
    ReplySql,
    ReplyTouch,
    SqliteReplySql,
)
from hub.inbox.serialize import conversation_dict, iso, message_dict
from hub.writes import RUN_ALONE, RunAlone

#: (channel type, channel settings, the reply as its live adapter takes it)
LiveReply = tuple[str, dict[str, Any], OutboundMessage]
#: The answer, the events to publish, the replies to hand to live adapters after the commit.
Posted = tuple[dict[str, Any], list[Event], list[LiveReply]]


@dataclass(frozen=True, slots=True)
class ReplyItem:
    """One reply or note as the operator asked for it (its body checked already)."""

    actor: Principal
    conversation_id: int
    body: str
    private: bool
    attachment_ids: tuple[int, ...] = ()
    reply_to_id: int | None = None
    #: The operator's switch for open and click tracking (a channel that tracks, email);
    #: off is kept in the message's ``meta`` by the ORM path, which such a reply takes.
    tracking: bool = True


@dataclass(frozen=True, slots=True)
class Found(ConversationSnapshot):
    """A conversation as the look-up read it (``reply_sql.FOUND_FIELDS``: the inbound batch's
    fields and these), then as each reply of the batch leaves it."""

    identity_id: int | None
    first_incoming_at: datetime | None
    first_reply_at: datetime | None


@dataclass(frozen=True, slots=True)
class _ReplyRow:
    """A stored reply or note, as ``message_dict`` reads it."""

    id: int
    conversation_id: int
    kind: str
    body: str
    sender_operator_id: int
    created_at: datetime
    delivery_status: str | None
    delivery_attempts: int
    reply_to_id: int | None
    sender_contact_id: int | None = None
    delivery_error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def private(self) -> bool:
        return self.kind == MessageKind.NOTE.value


@dataclass(frozen=True, slots=True)
class _Planned:
    """What the batch writes for one item, and the conversation as that leaves it."""

    row: NewReply
    conversation: Found
    #: (channel type, settings, customer's external id) of a reply handed over at commit
    live: tuple[str, dict[str, Any], str | None] | None


def _delivery(
    item: ReplyItem, conv: Found, caps: Capabilities, config: dict[str, Any], now: datetime
) -> tuple[str | None, int, datetime | None, bool]:
    """Delivery status, attempts, next attempt and whether it goes out live, as the ORM path
    sets them: a live channel's reply is sent at commit, any other that leaves waits."""
    if item.private:
        return None, 0, None, False
    if caps.live and conv.identity_id is not None:
        return DeliveryStatus.SENT.value, 1, None, True
    if caps.delivers(config):
        return DeliveryStatus.PENDING.value, 0, now, False
    return None, 0, None, False


def plan(
    items: list[ReplyItem],
    found: list[FoundRow | None],
    capabilities_of: Callable[[str], Capabilities],
    now: datetime,
) -> tuple[list[_Planned | None], list[ReplyTouch]]:
    """What the fast path writes for each item (None: the ORM path's), in order, and how
    each conversation it writes to changes."""
    state: dict[int, Found] = {}
    slow: set[int] = set()
    touches: dict[int, tuple[str | None, int | None]] = {}
    out: list[_Planned | None] = []
    width = len(FOUND_FIELDS)
    for item, row in zip(items, found, strict=True):
        conv_id = item.conversation_id
        if row is None or item.attachment_ids or not item.tracking or conv_id in slow:
            slow.add(conv_id)
            out.append(None)
            continue
        conv = state.get(conv_id) or Found(*row[:width])
        channel_type, config, external_id, target_conversation = row[width:]
        caps = capabilities_of(channel_type)
        refused = not item.private and not caps.replies
        if refused or (item.reply_to_id is not None and target_conversation != conv.id):
            slow.add(conv_id)
            out.append(None)
            continue
        status, attempts, next_at, instant = _delivery(item, conv, caps, config, now)
        if item.private:
            conv = replace(conv, last_activity_at=now)
        else:
            first = conv.first_incoming_at is not None and conv.first_reply_at is None
            text = preview(item.body)
            conv = replace(
                conv,
                last_activity_at=now,
                last_message_preview=text,
                unread_count=0,
                first_reply_at=now if first else conv.first_reply_at,
            )
            earlier = touches.get(conv_id, (None, None))[1]
            touches[conv_id] = (text, item.actor.operator_id if earlier is None else earlier)
        touches.setdefault(conv_id, (None, None))
        state[conv_id] = conv
        kind = (MessageKind.NOTE if item.private else MessageKind.OUTGOING).value
        new: NewReply = (
            conv_id,
            conv.channel_id,
            kind,
            item.body,
            item.actor.operator_id,
            status,
            attempts,
            next_at,
            item.reply_to_id,
        )
        live = (channel_type, config, external_id) if instant else None
        out.append(_Planned(new, conv, live))
    return out, [(conv_id, *touch) for conv_id, touch in touches.items()]


def _write(
    sql: ReplySql,
    items: list[ReplyItem],
    capabilities_of: Callable[[str], Capabilities],
    now: datetime,
) -> tuple[list[_Planned | None], list[int]]:
    """Look up, plan and store; runs on the driver's side, in the batch's transaction."""
    found = sql.lookup(
        [
            (
                item.conversation_id,
                item.actor.operator_id,
                item.actor.is_staff,
                sorted(item.actor.team_ids),
                item.reply_to_id,
            )
            for item in items
        ]
    )
    planned, touches = plan(items, found, capabilities_of, now)
    rows = [p.row for p in planned if p is not None]
    return planned, sql.store(rows, touches, now) if rows else []


async def write_replies(
    conn: DriverConnection,
    items: list[ReplyItem],
    capabilities_of: Callable[[str], Capabilities],
) -> list[Posted | RunAlone]:
    """Store what the fast path can, committed; ``RUN_ALONE`` for the rest."""
    now = utcnow()

    def in_transaction(driver: Any) -> tuple[list[_Planned | None], list[int]]:
        sql: ReplySql = (
            SqliteReplySql(driver) if conn.dialect == "sqlite" else PostgresReplySql(driver)
        )
        sql.begin()
        try:
            result = _write(sql, items, capabilities_of, now)
        except BaseException:
            sql.rollback()
            raise
        sql.commit()
        return result

    planned, ids = await conn.run(in_transaction)
    next_id = iter(ids)
    out: list[Posted | RunAlone] = []
    for item, done in zip(items, planned, strict=True):
        if done is None:
            out.append(RUN_ALONE)
            continue
        out.append(_posted(item, done, next(next_id), now))
    return out


def _posted(item: ReplyItem, done: _Planned, message_id: int, now: datetime) -> Posted:
    """The answer, events and hand-over of one stored item, as ``reply_one`` makes them."""
    conv_id, channel_id, kind, body, operator_id, status, attempts, _next, reply_to = done.row
    msg = _ReplyRow(message_id, conv_id, kind, body, operator_id, now, status, attempts, reply_to)
    data = message_dict(msg, {operator_id: item.actor.name})
    conv = done.conversation
    recipients = Recipients.for_conversation(conv.team_id, conv.assignee_id)
    events: list[Event] = [MessageCreated(recipients, conv_id, data, conversation_dict(conv))]
    live: list[LiveReply] = []
    if done.live is not None:
        channel_type, config, external_id = done.live
        out = OutboundMessage(
            message_id=message_id,
            conversation_id=conv_id,
            channel_id=channel_id,
            body=body,
            contact_external_id=external_id,
            operator_name=item.actor.name,
            created_at=iso(now),
            contact_id=conv.contact_id,
            live=True,
        )
        live.append((channel_type, dict(config), out))
    return data, events, live
