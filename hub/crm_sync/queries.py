"""The read side of sales: lead and deal lists, the board's column totals, a deal with its
timeline, and a contact's leads and deals for his card. Every query shows only what the
principal may see (``access``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync.access import get_visible_deal, visible_deals, visible_leads
from hub.crm_sync.models import (
    Deal,
    DealConversation,
    Lead,
    LeadStatus,
    Stage,
    StageChange,
    Task,
)
from hub.crm_sync.rules import format_amount
from hub.crm_sync.serialize import deal_dict, lead_dict, stage_change_dict, task_dict
from hub.db import MAX_ID, utcnow
from hub.errors import InvalidInput
from hub.inbox.access import visible_conversations
from hub.inbox.auth import Principal
from hub.inbox.models import Channel, Contact, Conversation, Operator
from hub.inbox.serialize import conversation_dict
from hub.inbox.tracking_view import hits_in

MAX_DEALS = 500
MAX_LEADS = 200


@dataclass(frozen=True, slots=True)
class DealFilter:
    pipeline_id: int | None = None
    stage_id: int | None = None
    status: str | None = None
    owner: str | None = None  # "me" or an operator id
    source: str | None = None  # a channel type
    contact_id: int | None = None
    limit: int = 200


def _deal_conditions(principal: Principal, flt: DealFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [visible_deals(principal)]
    if flt.pipeline_id is not None:
        conds.append(Deal.pipeline_id == flt.pipeline_id)
    if flt.stage_id is not None:
        conds.append(Deal.stage_id == flt.stage_id)
    if flt.status is not None:
        if flt.status not in ("open", "won", "lost"):
            raise InvalidInput(f"unknown status {flt.status!r}", code="invalid_status")
        conds.append(Deal.status == flt.status)
    if flt.owner == "me":
        conds.append(Deal.owner_id == principal.operator_id)
    elif flt.owner is not None:
        if not (flt.owner.isascii() and flt.owner.isdigit()) or len(flt.owner) > 10:
            raise InvalidInput("owner must be me or an operator id", code="invalid_owner")
        conds.append(Deal.owner_id == min(int(flt.owner), MAX_ID))
    if flt.source is not None:
        conds.append(Deal.source_channel == flt.source[:30])
    if flt.contact_id is not None:
        conds.append(Deal.contact_id == flt.contact_id)
    return conds


async def list_deals(ctx: HubContext, principal: Principal, flt: DealFilter) -> dict[str, Any]:
    """Deals, newest first, and per stage the count and sum (per currency) of all that match,
    not only of this page: what the board's column headers show."""
    conds = _deal_conditions(principal, flt)
    limit = max(1, min(flt.limit, MAX_DEALS))

    async def query(session: AsyncSession) -> dict[str, Any]:
        rows = (
            await session.execute(
                select(Deal, Stage, Contact.name, Operator.name)
                .join(Stage, Stage.id == Deal.stage_id)
                .join(Contact, Contact.id == Deal.contact_id)
                .outerjoin(Operator, Operator.id == Deal.owner_id)
                .where(*conds)
                .order_by(Deal.updated_at.desc(), Deal.id.desc())
                .limit(limit)
            )
        ).all()
        totals = (
            await session.execute(
                select(Deal.stage_id, Deal.currency, func.count(), func.sum(Deal.amount_minor))
                .where(*conds)
                .group_by(Deal.stage_id, Deal.currency)
            )
        ).all()
        stages: dict[int, dict[str, Any]] = {}
        for stage_id, currency, count, total in totals:
            entry = stages.setdefault(stage_id, {"stage_id": stage_id, "count": 0, "sums": {}})
            entry["count"] += count
            entry["sums"][currency] = format_amount(int(total or 0))
        items = [deal_dict(d, s, contact_name=c, owner_name=o) for d, s, c, o in rows]
        return {"items": items, "stages": sorted(stages.values(), key=lambda e: e["stage_id"])}

    return await ctx.read(query)


async def list_leads(
    ctx: HubContext, principal: Principal, status: str | None, limit: int = 50
) -> dict[str, Any]:
    """Leads, newest first; by default those waiting in "incoming"."""
    conds: list[ColumnElement[bool]] = [visible_leads(principal)]
    if status != "all":
        wanted = status or LeadStatus.INCOMING.value
        if wanted not in {s.value for s in LeadStatus}:
            raise InvalidInput(f"unknown status {wanted!r}", code="invalid_status")
        conds.append(Lead.status == wanted)
    limit = max(1, min(limit, MAX_LEADS))

    async def query(session: AsyncSession) -> dict[str, Any]:
        rows = (
            await session.execute(
                select(Lead, Contact.name)
                .join(Contact, Contact.id == Lead.contact_id)
                .where(*conds)
                .order_by(Lead.created_at.desc(), Lead.id.desc())
                .limit(limit)
            )
        ).all()
        return {"items": [lead_dict(lead, name) for lead, name in rows]}

    return await ctx.read(query)


async def _conversations(
    session: AsyncSession, principal: Principal, deal_id: int
) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(Conversation, Channel)
            .join(DealConversation, DealConversation.conversation_id == Conversation.id)
            .join(Channel, Channel.id == Conversation.channel_id)
            .where(DealConversation.deal_id == deal_id, visible_conversations(principal))
            .order_by(Conversation.created_at, Conversation.id)
        )
    ).all()
    return [conversation_dict(c, None, ch) for c, ch in rows]


async def get_deal(ctx: HubContext, principal: Principal, deal_id: int) -> dict[str, Any]:
    """A deal with its conversations, stage changes and tasks, and one timeline of all three,
    oldest first."""

    async def query(session: AsyncSession) -> dict[str, Any]:
        deal = await get_visible_deal(session, principal, deal_id)
        stage = await session.get(Stage, deal.stage_id)
        contact = await session.get(Contact, deal.contact_id)
        owner = await session.get(Operator, deal.owner_id) if deal.owner_id else None
        data = deal_dict(
            deal,
            stage,
            contact_name=contact.name if contact else "",
            owner_name=owner.name if owner else None,
        )
        changes = (
            await session.scalars(
                select(StageChange).where(StageChange.deal_id == deal.id).order_by(StageChange.id)
            )
        ).all()
        stage_names = dict((await session.execute(select(Stage.id, Stage.name))).all())
        op_names = dict((await session.execute(select(Operator.id, Operator.name))).all())
        tasks = (
            await session.scalars(select(Task).where(Task.deal_id == deal.id).order_by(Task.id))
        ).all()
        now = utcnow()
        data["stage_changes"] = [
            {
                **stage_change_dict(c),
                "from_stage_name": stage_names.get(c.from_stage_id or 0),
                "to_stage_name": stage_names.get(c.to_stage_id),
                "operator_name": op_names.get(c.operator_id or 0),
            }
            for c in changes
        ]
        data["conversations"] = await _conversations(session, principal, deal.id)
        data["tasks"] = [task_dict(t, now) for t in tasks]
        timeline = [
            {"type": "stage_change", "at": c["created_at"], "item": c}
            for c in data["stage_changes"]
        ]
        timeline += [
            {"type": "conversation", "at": c["created_at"], "item": c}
            for c in data["conversations"]
        ]
        timeline += [{"type": "task", "at": t["created_at"], "item": t} for t in data["tasks"]]
        hits = await hits_in(session, [c["id"] for c in data["conversations"]])
        timeline += [{"type": "email_hit", "at": h["at"], "item": h} for h in hits]
        timeline.sort(key=lambda e: e["at"] or "")
        data["timeline"] = timeline
        return data

    return await ctx.read(query)


async def contact_sales(
    session: AsyncSession, principal: Principal, contact_id: int
) -> dict[str, list[dict[str, Any]]]:
    """A contact's leads and the deals he may see, newest first, each deal with its stage and
    the conversation that created it (for the contact card)."""
    leads = (
        await session.scalars(
            select(Lead)
            .where(Lead.contact_id == contact_id)
            .order_by(Lead.created_at.desc(), Lead.id.desc())
        )
    ).all()
    deals = (
        await session.execute(
            select(Deal, Stage)
            .join(Stage, Stage.id == Deal.stage_id)
            .where(Deal.contact_id == contact_id, visible_deals(principal))
            .order_by(Deal.created_at.desc(), Deal.id.desc())
        )
    ).all()
    conv_ids = {d.conversation_id for d, _ in deals if d.conversation_id is not None}
    convs: dict[int, dict[str, Any]] = {}
    if conv_ids:
        rows = (
            await session.execute(
                select(Conversation, Channel)
                .join(Channel, Channel.id == Conversation.channel_id)
                .where(Conversation.id.in_(conv_ids))
            )
        ).all()
        convs = {
            c.id: {"id": c.id, "channel": {"id": ch.id, "type": ch.type, "name": ch.name}}
            for c, ch in rows
        }
    out_deals = []
    for deal, stage in deals:
        item = deal_dict(deal, stage)
        item["conversation"] = convs.get(deal.conversation_id or 0)
        out_deals.append(item)
    return {"leads": [lead_dict(lead) for lead in leads], "deals": out_deals}
