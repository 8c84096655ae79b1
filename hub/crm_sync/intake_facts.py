"""What the lead intake reads about a batch of new conversations before it writes, outside the
write lane: which channel and contact each conversation has, the channels' type and
``auto_leads``, the callback request a conversation opens with, and which brand-new contacts
may be people we know already (they share a phone, email or verified identity with another
contact: ``intake_one.join_known_contact`` decides, and merges, those).

Read here, these cost the write lane nothing, and it is safe: none of them decides anything
alone. The write unit reads again, in a few set-based statements, what may have changed
meanwhile and what the decision rests on (whether a conversation was decided, its contact, the
contact's open lead and deal, the open "call back" tasks), and a conversation whose contact
changed since is left to the per-conversation path. What is read here and may still change
(a channel's ``auto_leads``, a message arriving) reads as it would have had the pass come a
moment earlier. The contacts that may be known are a superset: each is decided exactly by the
ORM path, which merges only on an exact match with an older contact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from hub.crm_sync import rules
from hub.crm_sync.duplicates import VERIFIED_PREFIX
from hub.crm_sync.intake_one import FIRST_MESSAGES, callback_ask
from hub.db import listed, on_postgresql
from hub.inbox.models import (
    Channel,
    ContactEmail,
    ContactIdentity,
    ContactPhone,
    Conversation,
    Message,
    MessageKind,
)


@dataclass(frozen=True, slots=True)
class ChannelFacts:
    type: str
    auto_leads: bool


@dataclass(frozen=True, slots=True)
class Facts:
    """A batch's conversations as read before the write unit."""

    #: Each conversation's contact and channel, for those that exist.
    contact_of: dict[int, int]
    channel_of: dict[int, int]
    channels: dict[int, ChannelFacts]
    #: The phone and due time of the callback request a conversation opens with.
    asks: dict[int, tuple[str, datetime | None]]
    #: Contacts with one conversation that share a key with another contact.
    maybe_known: frozenset[int]


class _Statements(NamedTuple):
    """``read_facts``'s statements, built once per database (``hub.db.listed``)."""

    conversations: Select[Any]
    channels: Select[Any]
    asks: Select[Any]
    keys: CompoundSelect[str, int, str]
    holders: CompoundSelect[str, int, str]


def _keyed(
    phone: ColumnElement[bool], address: ColumnElement[bool], verified: ColumnElement[bool]
) -> CompoundSelect[str, int, str]:
    """(kind, contact, value) of the phones, emails and verified identities that match: the
    keys ``duplicates.candidate_ids`` looks a contact up by (an email as stored or
    case-folded)."""
    return union_all(
        select(literal("phone"), ContactPhone.contact_id, ContactPhone.e164).where(phone),
        select(literal("address"), ContactEmail.contact_id, ContactEmail.email).where(address),
        select(literal("verified"), ContactIdentity.contact_id, ContactIdentity.external_id).where(
            verified
        ),
    )


@cache
def _statements(postgresql: bool) -> _Statements:
    def member(column: InstrumentedAttribute[Any], name: str) -> ColumnElement[bool]:
        return listed(column, name, postgresql)

    other = aliased(Conversation)
    count = (
        select(func.count(other.id))
        .where(other.contact_id == Conversation.contact_id)
        .scalar_subquery()
    )
    # The callback requests among each conversation's first incoming messages (only those
    # messages' ``meta`` is read: an email's is large).
    ranked = (
        select(
            Message.conversation_id,
            Message.meta,
            func.row_number()
            .over(partition_by=Message.conversation_id, order_by=Message.id)
            .label("n"),
        )
        .where(member(Message.conversation_id, "ids"), Message.kind == MessageKind.INCOMING.value)
        .subquery()
    )
    # A contact's keys, and then who else holds them.
    keys = _keyed(
        member(ContactPhone.contact_id, "phone_of"),
        member(ContactEmail.contact_id, "address_of"),
        and_(
            member(ContactIdentity.contact_id, "verified_of"),
            ContactIdentity.external_id.startswith(VERIFIED_PREFIX),
        ),
    )
    holders = _keyed(
        member(ContactPhone.e164, "phone"),
        member(ContactEmail.email, "address"),
        member(ContactIdentity.external_id, "verified"),
    )
    return _Statements(
        select(Conversation.id, Conversation.contact_id, Conversation.channel_id, count).where(
            member(Conversation.id, "ids")
        ),
        select(Channel.id, Channel.type, Channel.config).where(member(Channel.id, "ids")),
        select(ranked.c.conversation_id, ranked.c.meta)
        .where(
            ranked.c.n <= FIRST_MESSAGES,
            ranked.c.meta["type"].as_string() == "callback_request",
        )
        .order_by(ranked.c.conversation_id, ranked.c.n),
        keys,
        holders,
    )


async def read_facts(session: AsyncSession, conv_ids: Sequence[int]) -> Facts:
    """A handful of statements, whatever the batch's size."""
    q = _statements(on_postgresql(session))
    rows = (await session.execute(q.conversations, {"ids": list(conv_ids)})).all()
    contact_of = {conv_id: contact_id for conv_id, contact_id, _, _ in rows}
    channel_of = {conv_id: channel_id for conv_id, _, channel_id, _ in rows}
    single = sorted({contact_id for _, contact_id, _, n in rows if n == 1})
    channels = {
        channel_id: ChannelFacts(kind, rules.auto_leads_enabled(config))
        for channel_id, kind, config in (
            await session.execute(q.channels, {"ids": sorted(set(channel_of.values()))})
        ).all()
    }
    return Facts(
        contact_of,
        channel_of,
        channels,
        await _asks(session, q, list(contact_of)),
        await _maybe_known(session, q, single),
    )


async def _asks(
    session: AsyncSession, q: _Statements, conv_ids: list[int]
) -> dict[int, tuple[str, datetime | None]]:
    if not conv_ids:
        return {}
    metas: dict[int, list[object]] = {}
    for conv_id, meta in (await session.execute(q.asks, {"ids": conv_ids})).all():
        metas.setdefault(conv_id, []).append(meta)
    asks = {conv_id: callback_ask(found) for conv_id, found in metas.items()}
    return {conv_id: ask for conv_id, ask in asks.items() if ask is not None}


async def _maybe_known(
    session: AsyncSession, q: _Statements, contact_ids: list[int]
) -> frozenset[int]:
    """Those of ``contact_ids`` whose phone, email or verified identity another contact has
    too."""
    if not contact_ids:
        return frozenset()
    keys = (
        await session.execute(
            q.keys, {"phone_of": contact_ids, "address_of": contact_ids, "verified_of": contact_ids}
        )
    ).all()
    if not keys:
        return frozenset()
    wanted: dict[tuple[str, str], set[int]] = {}
    for kind, contact_id, value in keys:
        values = {value, value.casefold()} if kind == "address" else {value}
        for one in values:
            wanted.setdefault((kind, one), set()).add(contact_id)

    def of(kind: str) -> list[str]:
        return sorted({value for k, value in wanted if k == kind})

    holders = await session.execute(
        q.holders, {"phone": of("phone"), "address": of("address"), "verified": of("verified")}
    )
    known: set[int] = set()
    for kind, holder, value in holders.all():
        known |= wanted.get((kind, value), set()) - {holder}
    return frozenset(known)
