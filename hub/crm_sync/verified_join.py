"""A customer who proves his phone joins the contact who has it, and brings no second lead.

A Telegram user presses Start (a new contact, and within a second the lead intake makes him a
lead), then shares his phone with Telegram's own contact button, which proves the number is his.
When an older contact already has that number, the new one is merged into him
(``merge.merge_in_session``, reason "automatic: same verified phone", undoable like any merge)
and the new lead is folded into what the known customer has open, so the result is what the
intake would have made had the phone come first:

* the known customer has an open deal: the lead is linked to it and its conversation joins it;
* he has a lead waiting in "incoming": the new one is rejected as folded into that one;
* he has neither: the moved lead is simply his.

Only a contact the hub has just met is joined this way (one conversation, no deal of his own);
older contacts who share a number are left to the operators' duplicates list. Customers keep
reading and being answered by their own identity, as with every merge.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync.deals import announce
from hub.crm_sync.leads import announce_lead
from hub.crm_sync.merge import announce_merge, merge_in_session
from hub.crm_sync.models import Deal, DealConversation, DealStatus, Lead, LeadStatus
from hub.db import utcnow
from hub.events import Event
from hub.inbox.models import Contact, ContactPhone, Conversation

REASON = "automatic: same verified phone"


async def _known_customer(session: AsyncSession, contact: Contact, phone: str) -> Contact | None:
    kept_id = await session.scalar(
        select(ContactPhone.contact_id)
        .join(Contact, Contact.id == ContactPhone.contact_id)
        .where(
            ContactPhone.e164 == phone,
            Contact.id < contact.id,
            Contact.merged_into_id.is_(None),
        )
        .order_by(Contact.id)
        .limit(1)
    )
    return None if kept_id is None else await session.get(Contact, kept_id)


async def _is_new(session: AsyncSession, contact: Contact) -> bool:
    convs = await session.scalar(
        select(func.count(Conversation.id)).where(Conversation.contact_id == contact.id)
    )
    deals = await session.scalar(select(func.count(Deal.id)).where(Deal.contact_id == contact.id))
    return convs == 1 and deals == 0


async def _fold(
    session: AsyncSession, kept: Contact, lead_ids: list[int], events: list[Event]
) -> None:
    """The moved incoming leads join the known customer's open deal or older incoming lead."""
    moved = list(
        (
            await session.scalars(
                select(Lead).where(Lead.id.in_(lead_ids), Lead.status == LeadStatus.INCOMING.value)
            )
        ).all()
    )
    if not moved:
        return
    deal = await session.scalar(
        select(Deal)
        .where(Deal.contact_id == kept.id, Deal.status == DealStatus.OPEN.value)
        .order_by(Deal.updated_at.desc(), Deal.id.desc())
        .limit(1)
    )
    older = await session.scalar(
        select(Lead.id)
        .where(
            Lead.contact_id == kept.id,
            Lead.status == LeadStatus.INCOMING.value,
            Lead.id.not_in(lead_ids),
        )
        .order_by(Lead.id)
        .limit(1)
    )
    for lead in moved:
        if deal is not None:
            lead.status, lead.deal_id = LeadStatus.LINKED.value, deal.id
            if lead.conversation_id is not None:
                session.add(DealConversation(deal_id=deal.id, conversation_id=lead.conversation_id))
        elif older is not None:
            lead.status = LeadStatus.REJECTED.value
            lead.reject_reason = f"folded into lead #{older}: the same customer (verified phone)"
        else:
            continue
        lead.decided_at = utcnow()
        await session.flush()
        await announce_lead(session, lead, events)
    if deal is not None:
        deal.updated_at = utcnow()
        await announce(session, deal, events, change="conversation")


async def join_on_verified_phone(
    ctx: HubContext, contact_id: int, phone: str
) -> dict[str, Any] | None:
    """Merge a contact the hub just met into the older one with the phone he proved is his;
    the merge record, or None when there is nobody to join."""
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any] | None:
        events.clear()
        contact = await session.get(Contact, contact_id)
        if contact is None or contact.merged_into_id is not None:
            return None
        kept = await _known_customer(session, contact, phone)
        if kept is None or not await _is_new(session, contact):
            return None
        record = await merge_in_session(
            session,
            kept,
            contact,
            operator_id=None,
            reason=REASON,
            channel_rows=ctx.contact_rows,
        )
        data = await announce_merge(session, record, "contact.merged", events)
        await _fold(session, kept, list(record.moved.get("leads", [])), events)
        return data

    data = await ctx.write(unit, key=("contact", contact_id))
    await ctx.publish(*events)
    return data
