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

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hub.crm_sync import rules
from hub.crm_sync.duplicates import VERIFIED_PREFIX
from hub.crm_sync.intake_one import FIRST_MESSAGES, callback_ask
from hub.db import one_of
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


async def read_facts(session: AsyncSession, conv_ids: Sequence[int]) -> Facts:
    """A handful of statements, whatever the batch's size."""
    other = aliased(Conversation)
    count = (
        select(func.count(other.id))
        .where(other.contact_id == Conversation.contact_id)
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            select(Conversation.id, Conversation.contact_id, Conversation.channel_id, count).where(
                one_of(session, Conversation.id, conv_ids)
            )
        )
    ).all()
    contact_of = {conv_id: contact_id for conv_id, contact_id, _, _ in rows}
    channel_of = {conv_id: channel_id for conv_id, _, channel_id, _ in rows}
    single = sorted({contact_id for _, contact_id, _, n in rows if n == 1})
    channels = {
        channel_id: ChannelFacts(kind, rules.auto_leads_enabled(config))
        for channel_id, kind, config in (
            await session.execute(
                select(Channel.id, Channel.type, Channel.config).where(
                    one_of(session, Channel.id, set(channel_of.values()))
                )
            )
        ).all()
    }
    return Facts(
        contact_of,
        channel_of,
        channels,
        await _asks(session, list(contact_of)),
        await _maybe_known(session, single),
    )


async def _asks(
    session: AsyncSession, conv_ids: list[int]
) -> dict[int, tuple[str, datetime | None]]:
    """The callback requests among each conversation's first incoming messages (only those
    messages' ``meta`` is read: an email's is large)."""
    if not conv_ids:
        return {}
    ranked = (
        select(
            Message.conversation_id,
            Message.meta,
            func.row_number()
            .over(partition_by=Message.conversation_id, order_by=Message.id)
            .label("n"),
        )
        .where(
            one_of(session, Message.conversation_id, conv_ids),
            Message.kind == MessageKind.INCOMING.value,
        )
        .subquery()
    )
    rows = await session.execute(
        select(ranked.c.conversation_id, ranked.c.meta)
        .where(
            ranked.c.n <= FIRST_MESSAGES,
            ranked.c.meta["type"].as_string() == "callback_request",
        )
        .order_by(ranked.c.conversation_id, ranked.c.n)
    )
    metas: dict[int, list[object]] = {}
    for conv_id, meta in rows.all():
        metas.setdefault(conv_id, []).append(meta)
    asks = {conv_id: callback_ask(found) for conv_id, found in metas.items()}
    return {conv_id: ask for conv_id, ask in asks.items() if ask is not None}


async def _maybe_known(session: AsyncSession, contact_ids: list[int]) -> frozenset[int]:
    """Those of ``contact_ids`` whose phone, email (as stored or case-folded, as
    ``duplicates.candidate_ids`` looks it up) or verified identity another contact has too."""
    if not contact_ids:
        return frozenset()
    keys = (
        await session.execute(
            union_all(
                select(literal("phone"), ContactPhone.contact_id, ContactPhone.e164).where(
                    one_of(session, ContactPhone.contact_id, contact_ids)
                ),
                select(literal("address"), ContactEmail.contact_id, ContactEmail.email).where(
                    one_of(session, ContactEmail.contact_id, contact_ids)
                ),
                select(
                    literal("verified"), ContactIdentity.contact_id, ContactIdentity.external_id
                ).where(
                    one_of(session, ContactIdentity.contact_id, contact_ids),
                    ContactIdentity.external_id.startswith(VERIFIED_PREFIX),
                ),
            )
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
        union_all(
            select(literal("phone"), ContactPhone.contact_id, ContactPhone.e164).where(
                one_of(session, ContactPhone.e164, of("phone"))
            ),
            select(literal("address"), ContactEmail.contact_id, ContactEmail.email).where(
                one_of(session, ContactEmail.email, of("address"))
            ),
            select(
                literal("verified"), ContactIdentity.contact_id, ContactIdentity.external_id
            ).where(one_of(session, ContactIdentity.external_id, of("verified"))),
        )
    )
    known: set[int] = set()
    for kind, holder, value in holders.all():
        known |= wanted.get((kind, value), set()) - {holder}
    return frozenset(known)
