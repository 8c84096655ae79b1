"""Customer messages stored a batch at a time, with a handful of set-based statements.

The ORM path in ``actions.receive_message`` costs about ten statements and much ORM bookkeeping
per message; under load that, not the commit, bounds the hub. Here a whole group of messages
costs about eight Core statements: look the identities and conversations up with ``IN``,
insert what is new with multi-row ``INSERT … RETURNING``, insert the messages, and update the
conversations with one executemany.

Only the common case is taken here: a known or brand-new sender without a phone or email to
add, in a conversation that is new, open or pending. Everything else (a repeated provider id,
a contact whose details change, a resolved or snoozed conversation that must reopen with an
activity) is handed back to the per-message ORM path, which runs right after in the same
transaction and sees what this batch wrote.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from hub.channels.base import InboundMessage
from hub.db import utcnow
from hub.events import ConversationCreated, Event, MessageCreated, Recipients
from hub.inbox.models import (
    Channel,
    Contact,
    ContactIdentity,
    Conversation,
    ConversationStatus,
    Message,
    MessageKind,
)
from hub.inbox.serialize import conversation_dict, message_dict
from hub.writes import RUN_ALONE, RunAlone

PREVIEW_CHARS = 200
_FAST_STATUSES = (ConversationStatus.OPEN.value, ConversationStatus.PENDING.value)

CHANNELS: Table = Channel.__table__  # type: ignore[assignment]
CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
IDENTITIES: Table = ContactIdentity.__table__  # type: ignore[assignment]
CONVERSATIONS: Table = Conversation.__table__  # type: ignore[assignment]
MESSAGES: Table = Message.__table__  # type: ignore[assignment]


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


async def _fast_items(
    conn: AsyncConnection, items: list[InboundMessage]
) -> tuple[list[int], dict[int, _Named], dict[int, int | None]]:
    """Indexes of the items this path may take; the channels' names and default teams."""
    rows = await conn.execute(
        select(
            CHANNELS.c.id,
            CHANNELS.c.name,
            CHANNELS.c.type,
            CHANNELS.c.team_id,
            CHANNELS.c.is_active,
        ).where(CHANNELS.c.id.in_({item.channel_id for item in items}))
    )
    channels: dict[int, _Named] = {}
    teams: dict[int, int | None] = {}
    for ch_id, name, ch_type, team_id, active in rows.all():
        if active:
            channels[ch_id] = _Named(ch_id, name, ch_type)
            teams[ch_id] = team_id
    provider_ids: dict[int, set[str]] = defaultdict(set)
    for item in items:
        if item.provider_message_id is not None:
            provider_ids[item.channel_id].add(item.provider_message_id)
    known: set[tuple[int, str]] = set()
    for ch_id, pids in provider_ids.items():  # one channel per batch, as a rule
        found = await conn.execute(
            select(MESSAGES.c.provider_message_id).where(
                MESSAGES.c.channel_id == ch_id, MESSAGES.c.provider_message_id.in_(pids)
            )
        )
        known.update((ch_id, pid) for pid in found.scalars().all())
    fast: list[int] = []
    seen: set[tuple[int, str]] = set()
    for i, item in enumerate(items):
        key = (item.channel_id, item.provider_message_id or "")
        repeated = item.provider_message_id is not None and (key in known or key in seen)
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


async def _contacts(
    conn: AsyncConnection, items: list[InboundMessage], fast: list[int], now: datetime
) -> tuple[list[int], dict[Identity, _Named]]:
    """The contact of every sender, new ones made; items whose contact needs a name set by
    the ORM path are dropped from ``fast``."""
    wanted: dict[int, set[str]] = defaultdict(set)
    for i in fast:
        wanted[items[i].channel_id].add(items[i].contact.external_id)
    contact_of: dict[Identity, _Named] = {}
    for ch_id, external_ids in wanted.items():
        rows = await conn.execute(
            select(IDENTITIES.c.external_id, CONTACTS.c.id, CONTACTS.c.name)
            .join(CONTACTS, CONTACTS.c.id == IDENTITIES.c.contact_id)
            .where(IDENTITIES.c.channel_id == ch_id, IDENTITIES.c.external_id.in_(external_ids))
        )
        contact_of.update(((ch_id, ext), _Named(cid, name)) for ext, cid, name in rows.all())
    fast = [
        i
        for i in fast
        if (key := (items[i].channel_id, items[i].contact.external_id)) not in contact_of
        or not (items[i].contact.name and not contact_of[key].name)
    ]
    first_name: dict[Identity, str] = {}
    for i in fast:
        key = (items[i].channel_id, items[i].contact.external_id)
        if key not in contact_of:
            first_name.setdefault(key, items[i].contact.name)
    if first_name:
        new = sorted(first_name)
        result = await conn.execute(
            insert(CONTACTS).returning(CONTACTS.c.id, sort_by_parameter_order=True),
            [
                {
                    "name": first_name[key],
                    "search_text": first_name[key].lower(),
                    "attributes": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for key in new
            ],
        )
        ids = list(result.scalars().all())
        await conn.execute(
            insert(IDENTITIES),
            [
                {"contact_id": cid, "channel_id": ch, "external_id": ext, "created_at": now}
                for cid, (ch, ext) in zip(ids, new, strict=True)
            ],
        )
        for cid, key in zip(ids, new, strict=True):
            contact_of[key] = _Named(cid, first_name[key])
    return fast, contact_of


async def _conversations(
    conn: AsyncConnection,
    pairs: set[tuple[int, int]],
    teams: dict[int, int | None],
    now: datetime,
) -> tuple[dict[tuple[int, int], _ConversationRow], set[int]]:
    """The newest conversation of each (contact, channel); new ones where there is none."""
    rows = await conn.execute(
        select(
            CONVERSATIONS.c.id,
            CONVERSATIONS.c.channel_id,
            CONVERSATIONS.c.contact_id,
            CONVERSATIONS.c.team_id,
            CONVERSATIONS.c.assignee_id,
            CONVERSATIONS.c.status,
            CONVERSATIONS.c.snoozed_until,
            CONVERSATIONS.c.created_at,
            CONVERSATIONS.c.last_activity_at,
            CONVERSATIONS.c.last_message_preview,
            CONVERSATIONS.c.unread_count,
            CONVERSATIONS.c.attributes,
        ).where(CONVERSATIONS.c.contact_id.in_({contact_id for contact_id, _ch in pairs}))
    )
    convs: dict[tuple[int, int], _ConversationRow] = {}
    for row in rows.all():
        conv = _ConversationRow(*tuple(row))
        pair = (conv.contact_id, conv.channel_id)
        if pair not in pairs:
            continue  # the same contact on another channel
        if pair not in convs or conv.id > convs[pair].id:
            convs[pair] = conv
    missing = sorted(pairs - convs.keys())
    created: set[int] = set()
    if missing:
        values: list[dict[str, Any]] = [
            {
                "channel_id": ch,
                "contact_id": cid,
                "team_id": teams[ch],
                "assignee_id": None,
                "status": ConversationStatus.OPEN.value,
                "snoozed_until": None,
                "created_at": now,
                "last_activity_at": now,
                "last_message_preview": "",
                "unread_count": 0,
                "attributes": {},
                "first_incoming_at": now,
            }
            for cid, ch in missing
        ]
        result = await conn.execute(
            insert(CONVERSATIONS).returning(CONVERSATIONS.c.id, sort_by_parameter_order=True),
            values,
        )
        for conv_id, (cid, ch) in zip(result.scalars().all(), missing, strict=True):
            convs[(cid, ch)] = _ConversationRow(
                conv_id,
                ch,
                cid,
                teams[ch],
                None,
                ConversationStatus.OPEN.value,
                None,
                now,
                now,
                "",
                0,
                {},
            )
            created.add(conv_id)
    return convs, created


async def store_batch(
    session: AsyncSession, items: list[InboundMessage]
) -> list[Stored | RunAlone]:
    """Store what the fast path can; answer ``RUN_ALONE`` for the rest."""
    out: list[Stored | RunAlone] = [RUN_ALONE] * len(items)
    conn = await session.connection()
    fast, channels, teams = await _fast_items(conn, items)
    if not fast:
        return out
    now = utcnow()
    fast, contact_of = await _contacts(conn, items, fast, now)

    def pair_of(i: int) -> tuple[int, int]:
        item = items[i]
        return contact_of[(item.channel_id, item.contact.external_id)].id, item.channel_id

    convs, created = await _conversations(conn, {pair_of(i) for i in fast}, teams, now)
    fast = [i for i in fast if convs[pair_of(i)].status in _FAST_STATUSES]
    if not fast:
        return out

    result = await conn.execute(
        insert(MESSAGES).returning(MESSAGES.c.id, sort_by_parameter_order=True),
        [
            {
                "conversation_id": convs[pair_of(i)].id,
                "channel_id": items[i].channel_id,
                "kind": MessageKind.INCOMING.value,
                "body": items[i].body,
                "sender_operator_id": None,
                "sender_contact_id": pair_of(i)[0],
                "provider_message_id": items[i].provider_message_id,
                "meta": dict(items[i].meta),
                "created_at": now,
                "delivery_status": None,
                "delivery_error": None,
                "delivery_attempts": 0,
                "next_attempt_at": None,
            }
            for i in fast
        ],
    )
    message_ids = list(result.scalars().all())
    per_pair: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i in fast:
        per_pair[pair_of(i)].append(i)
    # One executemany for every touched conversation; the count is added in SQL, so a reply
    # committed meanwhile on another lane (which zeroes it) is not overwritten.
    await conn.execute(
        update(CONVERSATIONS)
        .where(CONVERSATIONS.c.id == bindparam("b_id"))
        .values(
            last_activity_at=bindparam("b_at"),
            last_message_preview=bindparam("b_preview"),
            unread_count=CONVERSATIONS.c.unread_count + bindparam("b_added"),
            first_incoming_at=func.coalesce(CONVERSATIONS.c.first_incoming_at, bindparam("b_at")),
        ),
        [
            {
                "b_id": convs[pair].id,
                "b_at": now,
                "b_preview": preview(items[idx[-1]].body),
                "b_added": len(idx),
            }
            for pair, idx in per_pair.items()
        ],
    )

    seen_in_batch: dict[tuple[int, int], int] = defaultdict(int)
    for i, message_id in zip(fast, message_ids, strict=True):
        item, pair = items[i], pair_of(i)
        before = convs[pair]
        seen_in_batch[pair] += 1
        conv = replace(
            before,
            last_activity_at=now,
            last_message_preview=preview(item.body),
            unread_count=before.unread_count + seen_in_batch[pair],
        )
        contact = contact_of[(item.channel_id, item.contact.external_id)]
        msg = _IncomingRow(message_id, conv.id, item.body, contact.id, now, dict(item.meta))
        conv_data = conversation_dict(conv, contact, channels[item.channel_id])
        msg_data = message_dict(msg, contact_names={contact.id: contact.name})
        recipients = Recipients.for_conversation(conv.team_id, conv.assignee_id)
        is_new = conv.id in created and seen_in_batch[pair] == 1
        events: list[Event] = [ConversationCreated(recipients, conv_data)] if is_new else []
        events.append(MessageCreated(recipients, conv.id, msg_data, conv_data))
        out[i] = (ReceiveResult(msg_data, conv_data, False, is_new), events)
    return out
