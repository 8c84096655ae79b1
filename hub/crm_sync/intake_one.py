"""The lead intake's decision for one conversation, through the ORM (``take_conversation``).

The intake decides new conversations a batch at a time (``intake_batch``); this path decides
what the batch leaves to it (a conversation whose brand-new contact may be one we know: the
merge is written here) and, one conversation at a time, the whole batch when the batch fails.
It is also what the batch is held to (``tests/test_intake_paths.py``).

A brand-new contact who shares a phone, email or verified identity with an older one is first
merged into him (``join_known_contact``). Then the rules decide (``rules.intake_decision``): a
new lead in "incoming" with its source, the conversation joining the contact's open deal, or
nothing (an open lead already waits for this contact, or the channel turned automatic leads
off). A conversation that opens with a callback request also makes a "call back" task.
Deciding twice changes nothing: a conversation with a lead or in a deal is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.hooks import ContactRows
from hub.crm_sync import rules
from hub.crm_sync.deals import announce
from hub.crm_sync.duplicates import exact_duplicates
from hub.crm_sync.leads import announce_lead
from hub.crm_sync.merge import announce_merge, merge_in_session
from hub.crm_sync.merge_log import note_automatic_merge
from hub.crm_sync.models import Deal, DealConversation, DealStatus, Lead, LeadStatus
from hub.crm_sync.tasks import add_callback_task
from hub.db import utcnow
from hub.events import Event
from hub.inbox.models import Channel, Contact, Conversation, Message, MessageKind

#: A callback request counts when it is among a conversation's first incoming messages.
FIRST_MESSAGES = 5


def callback_ask(metas: Iterable[Any]) -> tuple[str, datetime | None] | None:
    """The phone and due time of the first callback request among ``metas`` (the first
    incoming messages' ``meta``, in order), if any."""
    for meta in metas:
        if isinstance(meta, dict) and meta.get("type") == "callback_request":
            return str(meta.get("phone") or ""), _due_at(meta.get("due_at"))
    return None


async def _callback_request(
    session: AsyncSession, conv_id: int
) -> tuple[str, datetime | None] | None:
    """The phone and due time of the callback request a conversation opens with, if any."""
    metas = (
        await session.scalars(
            select(Message.meta)
            .where(Message.conversation_id == conv_id, Message.kind == MessageKind.INCOMING.value)
            .order_by(Message.id)
            .limit(FIRST_MESSAGES)
        )
    ).all()
    return callback_ask(metas)


def _due_at(raw: Any) -> datetime | None:
    """The due time a request recorded (``callback_time``); None for one that recorded none."""
    if not isinstance(raw, str):
        return None
    try:
        due = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return due if due.tzinfo is not None else None


async def join_known_contact(
    session: AsyncSession,
    conv: Conversation,
    contact: Contact,
    events: list[Event],
    channel_rows: Sequence[ContactRows],
) -> Contact:
    """A brand-new contact who shares a phone, email or verified identity with an older contact
    is merged into him, so his conversation joins what the known contact has open. For
    operators only: the reason says which of the shared keys nobody verified, and customers
    keep reading and being answered by their own identity (``merge``). The conversation says
    so in an activity, with the merge's id to undo it (``merge_log``)."""
    count = select(func.count(Conversation.id)).where(Conversation.contact_id == contact.id)
    if await session.scalar(count) != 1:
        return contact
    dialect = session.get_bind().dialect.name
    older = [
        (cid, why)
        for cid, why in await exact_duplicates(session, contact, dialect)
        if cid < contact.id
    ]
    if not older:
        return contact
    kept = await session.get(Contact, older[0][0])
    if kept is None:
        return contact
    record = await merge_in_session(
        session,
        kept,
        contact,
        operator_id=None,
        reason="automatic: same " + older[0][1],
        channel_rows=channel_rows,
    )
    await announce_merge(session, record, "contact.merged", events)
    await session.refresh(conv)
    await note_automatic_merge(session, conv, record, contact, kept, older[0][1], events)
    return kept


async def take_conversation(
    session: AsyncSession,
    conv_id: int,
    events: list[Event],
    channel_rows: Sequence[ContactRows],
) -> str:
    """Apply the intake rules to one conversation; returns what was done."""
    conv = await session.get(Conversation, conv_id)
    if conv is None:
        return "gone"
    if await session.scalar(select(Lead.id).where(Lead.conversation_id == conv.id)) is not None:
        return "done"
    in_deal = select(DealConversation.deal_id).where(DealConversation.conversation_id == conv.id)
    if await session.scalar(in_deal) is not None:
        return "done"
    contact = await session.get(Contact, conv.contact_id)
    channel = await session.get(Channel, conv.channel_id)
    if contact is None or channel is None:
        return "gone"
    contact = await join_known_contact(session, conv, contact, events, channel_rows)
    open_deal = await session.scalar(
        select(Deal)
        .where(Deal.contact_id == contact.id, Deal.status == DealStatus.OPEN.value)
        .order_by(Deal.updated_at.desc(), Deal.id.desc())
        .limit(1)
    )
    open_lead = await session.scalar(
        select(Lead.id)
        .where(Lead.contact_id == contact.id, Lead.status == LeadStatus.INCOMING.value)
        .limit(1)
    )
    decision = rules.intake_decision(
        auto_leads=rules.auto_leads_enabled(channel.config),
        open_lead_id=open_lead,
        open_deal_id=open_deal.id if open_deal is not None else None,
    )
    if decision is rules.IntakeDecision.JOIN_DEAL:
        assert open_deal is not None
        session.add(DealConversation(deal_id=open_deal.id, conversation_id=conv.id))
        open_deal.updated_at = utcnow()
        await announce(session, open_deal, events, change="conversation")
    elif decision is rules.IntakeDecision.NEW_LEAD:
        source = rules.lead_source(channel.type, conv.attributes, contact.attributes)
        lead = Lead(
            contact_id=contact.id,
            conversation_id=conv.id,
            channel_id=channel.id,
            status=LeadStatus.INCOMING.value,
            source_channel=source.channel,
            utm_source=source.utm_source,
            utm_medium=source.utm_medium,
            utm_campaign=source.utm_campaign,
            referrer=source.referrer,
            source=source.details,
            created_at=conv.created_at,
        )
        session.add(lead)
        await session.flush()
        await announce_lead(session, lead, events, created=True)
    asked = await _callback_request(session, conv.id)
    if asked is not None:
        # Re-reading an unsettled row finds the task open and adds no second one.
        await add_callback_task(
            session,
            contact_id=contact.id,
            phone=asked[0],
            assignee_id=conv.assignee_id,
            deal_id=open_deal.id if open_deal is not None else None,
            due_at=asked[1],
        )
    return decision.value
