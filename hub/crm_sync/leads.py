"""Named writes of leads: qualify into a deal, link to an existing deal, reject.

A lead is decided once: the decision is a conditional update of its status from ``incoming``,
so two operators clicking at the same moment on two processes make one deal, not two.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync import rules
from hub.crm_sync.access import contact_recipients, get_visible_deal, get_visible_lead
from hub.crm_sync.deals import announce, new_deal
from hub.crm_sync.models import Deal, DealConversation, Lead, LeadStatus
from hub.crm_sync.outbox import record_change
from hub.crm_sync.serialize import lead_dict
from hub.db import utcnow
from hub.errors import Conflict, InvalidInput
from hub.events import Event, LeadCreated, LeadUpdated
from hub.inbox.auth import Principal
from hub.inbox.models import Contact, Conversation


async def _decide(
    session: AsyncSession, actor: Principal, lead_id: int, status: LeadStatus, **values: Any
) -> Lead:
    lead = await get_visible_lead(session, actor, lead_id)
    result = await session.execute(
        update(Lead)
        .where(Lead.id == lead.id, Lead.status == LeadStatus.INCOMING.value)
        .values(status=status.value, decided_by_id=actor.operator_id, decided_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"the lead is {lead.status} already", code="lead_decided")
    await session.refresh(lead)
    return lead


async def announce_lead(
    session: AsyncSession, lead: Lead, events: list[Event], *, created: bool = False
) -> dict[str, Any]:
    contact = await session.get(Contact, lead.contact_id)
    data = lead_dict(lead, contact.name if contact else "")
    event = "lead.created" if created else "lead.updated"
    record_change(session, event=event, entity="lead", entity_id=lead.id, payload=data)
    recipients = await contact_recipients(session, lead.contact_id, lead.decided_by_id)
    events.append(LeadCreated(recipients, data) if created else LeadUpdated(recipients, data))
    return data


async def _join_conversations(session: AsyncSession, deal: Deal, lead: Lead) -> None:
    """The lead's conversation and the contact's others since the lead came join the deal."""
    conv_ids = set(
        (
            await session.scalars(
                select(Conversation.id).where(
                    Conversation.contact_id == lead.contact_id,
                    Conversation.created_at >= lead.created_at,
                )
            )
        ).all()
    )
    if lead.conversation_id is not None:
        conv_ids.add(lead.conversation_id)
    have = set(
        (
            await session.scalars(
                select(DealConversation.conversation_id).where(DealConversation.deal_id == deal.id)
            )
        ).all()
    )
    for conv_id in sorted(conv_ids - have):
        session.add(DealConversation(deal_id=deal.id, conversation_id=conv_id))


async def qualify(ctx: HubContext, actor: Principal, lead_id: int) -> dict[str, Any]:
    """One click: the lead becomes a deal on the default pipeline's first open stage, titled
    with the contact's name and owned by the operator who clicked. Answers the new deal."""
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        lead = await _decide(session, actor, lead_id, LeadStatus.QUALIFIED)
        contact = await session.get(Contact, lead.contact_id)
        assert contact is not None
        deal = await new_deal(
            session,
            actor.operator_id,
            contact=contact,
            title=None,
            language=ctx.settings.language,
            owner_id=actor.operator_id,
            conversation_id=None,
            source={
                "channel": lead.source_channel,
                "utm_source": lead.utm_source,
                "utm_campaign": lead.utm_campaign,
            },
        )
        deal.conversation_id = lead.conversation_id
        await _join_conversations(session, deal, lead)
        lead.deal_id = deal.id
        data = await announce(session, deal, events, created=True)
        await announce_lead(session, lead, events)
        return data

    data = await ctx.write(unit, key=("lead", lead_id))
    await ctx.publish(*events)
    return data


async def link(ctx: HubContext, actor: Principal, lead_id: int, deal_id: int) -> dict[str, Any]:
    """The lead belongs to a deal that exists already: its conversation joins that deal."""
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        deal = await get_visible_deal(session, actor, deal_id, lock=True)
        lead = await _decide(session, actor, lead_id, LeadStatus.LINKED, deal_id=deal.id)
        await _join_conversations(session, deal, lead)
        deal.updated_at = utcnow()
        await announce(session, deal, events, change="conversation")
        return await announce_lead(session, lead, events)

    data = await ctx.write(unit, key=("lead", lead_id))
    await ctx.publish(*events)
    return data


async def reject(ctx: HubContext, actor: Principal, lead_id: int, reason: str) -> dict[str, Any]:
    """Not a sale (spam, a supplier, a wrong number): the lead leaves "incoming" with a reason."""
    cleaned = rules.clean_reason(reason)
    if cleaned is None:
        raise InvalidInput("rejecting a lead needs a reason", code="reason_required")
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        lead = await _decide(session, actor, lead_id, LeadStatus.REJECTED, reject_reason=cleaned)
        return await announce_lead(session, lead, events)

    data = await ctx.write(unit, key=("lead", lead_id))
    await ctx.publish(*events)
    return data
