"""Named writes of deals: create, change fields, move stage, win, lose, reopen.

Each validates (the rules are in ``rules``), writes the deal, its stage change and its outbox
record in one transaction, commits, then announces ``deal.created`` or ``deal.updated``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync import rules
from hub.crm_sync.access import contact_recipients, get_visible_contact, get_visible_deal
from hub.crm_sync.hand_contacts import NewContact, make_contact
from hub.crm_sync.models import (
    Deal,
    DealConversation,
    DealStatus,
    LostReason,
    Pipeline,
    Stage,
    StageChange,
    StageKind,
)
from hub.crm_sync.outbox import record_change
from hub.crm_sync.serialize import deal_dict
from hub.db import utcnow
from hub.errors import InvalidInput
from hub.events import DealCreated, DealUpdated, Event
from hub.inbox.access import visible_conversations
from hub.inbox.auth import Principal
from hub.inbox.models import Channel, Contact, Conversation, Operator

DEFAULT_CURRENCY = "RUB"
#: A deal of a contact without a name is called after him in the installation's language.
UNNAMED = {"en": "Contact #{id}", "ru": "Клиент #{id}"}


def stage_info(stage: Stage) -> rules.StageInfo:
    return rules.StageInfo(stage.id, stage.pipeline_id, stage.position, stage.kind)


async def default_pipeline(session: AsyncSession) -> Pipeline:
    pipeline = await session.scalar(
        select(Pipeline).order_by(Pipeline.is_default.desc(), Pipeline.id).limit(1)
    )
    if pipeline is None:
        raise InvalidInput("there is no pipeline yet", code="no_pipeline")
    return pipeline


async def stage_of_kind(session: AsyncSession, pipeline_id: int, kind: StageKind) -> Stage:
    """The first stage of a kind: the first open stage, or the pipeline's won or lost stage."""
    stage = await session.scalar(
        select(Stage)
        .where(Stage.pipeline_id == pipeline_id, Stage.kind == kind.value)
        .order_by(Stage.position, Stage.id)
        .limit(1)
    )
    if stage is None:
        raise InvalidInput(f"the pipeline has no {kind.value} stage", code="pipeline_incomplete")
    return stage


async def check_owner(
    session: AsyncSession, owner_id: int, code: str = "owner_not_found"
) -> Operator:
    owner = await session.get(Operator, owner_id)
    if owner is None or not owner.is_active:
        raise InvalidInput(f"operator {owner_id} not found", code=code)
    return owner


async def deal_out(session: AsyncSession, deal: Deal) -> dict[str, Any]:
    """The deal as the API shows it, with its stage, contact and owner names."""
    stage = await session.get(Stage, deal.stage_id)
    contact = await session.get(Contact, deal.contact_id)
    owner = await session.get(Operator, deal.owner_id) if deal.owner_id else None
    return deal_dict(
        deal,
        stage,
        contact_name=contact.name if contact else "",
        owner_name=owner.name if owner else None,
    )


async def announce(
    session: AsyncSession,
    deal: Deal,
    events: list[Event],
    *,
    created: bool = False,
    change: str = "fields",
    also_notify: int | None = None,
) -> dict[str, Any]:
    """Write the deal's outbox record and queue its event; returns the deal's JSON."""
    await session.flush()
    data = await deal_out(session, deal)
    event = "deal.created" if created else "deal.updated"
    record_change(session, event=event, entity="deal", entity_id=deal.id, payload=data)
    recipients = await contact_recipients(session, deal.contact_id, deal.owner_id, also_notify)
    events.append(
        DealCreated(recipients, data) if created else DealUpdated(recipients, data, change)
    )
    return data


def record_move(
    session: AsyncSession,
    deal: Deal,
    to_stage: Stage,
    direction: str,
    actor_id: int | None,
    reason: str | None = None,
) -> None:
    """The stage change, and the deal's report columns: its furthest open stage and the time
    of its last move (the funnel reads these instead of every deal's stage changes)."""
    now = utcnow()
    session.add(
        StageChange(
            deal_id=deal.id,
            from_stage_id=None if direction == rules.Direction.INITIAL.value else deal.stage_id,
            to_stage_id=to_stage.id,
            direction=direction,
            reason=reason,
            operator_id=actor_id,
            created_at=now,
        )
    )
    if to_stage.kind == StageKind.OPEN.value and to_stage.pipeline_id == deal.pipeline_id:
        deal.reach_position = max(to_stage.position, deal.reach_position or to_stage.position)
    deal.stage_id = to_stage.id
    deal.updated_at = now
    deal.last_move_at = now


async def new_deal(
    session: AsyncSession,
    actor_id: int | None,
    *,
    contact: Contact,
    title: str | None,
    amount_minor: int = 0,
    currency: str = DEFAULT_CURRENCY,
    owner_id: int | None = None,
    pipeline_id: int | None = None,
    stage_id: int | None = None,
    conversation_id: int | None = None,
    source: dict[str, str | None] | None = None,
    language: str = "en",
) -> Deal:
    """A deal on a pipeline's stage (the default pipeline's first open stage unless given)."""
    if pipeline_id is None and stage_id is None:
        pipeline = await default_pipeline(session)
    elif pipeline_id is not None:
        found = await session.get(Pipeline, pipeline_id)
        if found is None:
            raise InvalidInput(f"pipeline {pipeline_id} not found", code="pipeline_not_found")
        pipeline = found
    else:
        given = await session.get(Stage, stage_id)
        if given is None:
            raise InvalidInput(f"stage {stage_id} not found", code="stage_not_found")
        pipeline = await session.get(Pipeline, given.pipeline_id)  # type: ignore[assignment]
    if stage_id is None:
        stage = await stage_of_kind(session, pipeline.id, StageKind.OPEN)
    else:
        found_stage = await session.get(Stage, stage_id)
        if found_stage is None or found_stage.pipeline_id != pipeline.id:
            raise InvalidInput("the stage is not in the pipeline", code="stage_not_in_pipeline")
        if found_stage.kind != StageKind.OPEN.value:
            raise InvalidInput("a new deal starts in an open stage", code="stage_not_open")
        stage = found_stage
    if owner_id is not None:
        await check_owner(session, owner_id)
    now = utcnow()
    src = source or {}
    deal = Deal(
        title=(title or contact.name or UNNAMED[language].format(id=contact.id)).strip()[:300],
        amount_minor=amount_minor,
        currency=currency,
        contact_id=contact.id,
        owner_id=owner_id,
        pipeline_id=pipeline.id,
        stage_id=stage.id,
        status=DealStatus.OPEN.value,
        conversation_id=conversation_id,
        source_channel=src.get("channel"),
        utm_source=src.get("utm_source"),
        utm_campaign=src.get("utm_campaign"),
        created_by_id=actor_id,
        created_at=now,
        updated_at=now,
    )
    session.add(deal)
    await session.flush()
    record_move(session, deal, stage, rules.Direction.INITIAL.value, actor_id)
    if conversation_id is not None:
        session.add(DealConversation(deal_id=deal.id, conversation_id=conversation_id))
    return deal


async def create_deal(
    ctx: HubContext,
    actor: Principal,
    *,
    contact_id: int | None,
    title: str | None = None,
    amount: str | None = None,
    currency: str | None = None,
    owner_id: int | None = None,
    pipeline_id: int | None = None,
    stage_id: int | None = None,
    conversation_id: int | None = None,
    new_contact: NewContact | None = None,
) -> dict[str, Any]:
    """A deal made directly (not from a lead); the actor owns it unless another owner is given.
    Its customer is a contact he may see, or ``new_contact``, made in the same commit."""
    if (contact_id is None) == (new_contact is None):
        raise InvalidInput("give contact_id or new_contact", code="contact_required")
    amount_minor = rules.parse_amount(amount) if amount is not None else 0
    code = rules.clean_currency(currency) if currency is not None else DEFAULT_CURRENCY
    if title is not None and not title.strip():
        raise InvalidInput("the title is empty", code="invalid_title")
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        if new_contact is not None:
            contact = await make_contact(session, actor, new_contact, ctx.engine.dialect.name)
        else:
            assert contact_id is not None
            contact = await get_visible_contact(session, actor, contact_id)
        if contact.merged_into_id is not None:
            raise InvalidInput("the contact was merged into another", code="contact_merged")
        source: dict[str, str | None] = {}
        if conversation_id is not None:
            conv = await session.scalar(
                select(Conversation).where(
                    Conversation.id == conversation_id, visible_conversations(actor)
                )
            )
            if conv is None or conv.contact_id != contact.id:
                raise InvalidInput(
                    "the conversation is not one of the contact's", code="conversation_not_found"
                )
            channel = await session.get(Channel, conv.channel_id)
            found = rules.lead_source(channel.type if channel else "", conv.attributes)
            source = source_columns(found)
        deal = await new_deal(
            session,
            actor.operator_id,
            contact=contact,
            title=title,
            language=ctx.settings.language,
            amount_minor=amount_minor,
            currency=code,
            owner_id=owner_id if owner_id is not None else actor.operator_id,
            pipeline_id=pipeline_id,
            stage_id=stage_id,
            conversation_id=conversation_id,
            source=source,
        )
        return await announce(session, deal, events, created=True)

    # Two customers made at once with one phone (or email) keep their order, so the second
    # finds the first (on one process; across processes the duplicate search joins them).
    key: object = ("contact", contact_id)
    if new_contact is not None:
        key = ("new_contact", (*new_contact.phones, *new_contact.emails)[0])
    data = await ctx.write(unit, key=key)
    await ctx.publish(*events)
    return data


async def update_deal(
    ctx: HubContext, actor: Principal, deal_id: int, fields: dict[str, Any]
) -> dict[str, Any]:
    """Change a deal's title, amount, currency or owner (only the fields given)."""
    changes: dict[str, Any] = {}
    if "title" in fields:
        title = (fields["title"] or "").strip()
        if not title:
            raise InvalidInput("the title is empty", code="invalid_title")
        changes["title"] = title[:300]
    if "amount" in fields:
        if fields["amount"] is None:
            raise InvalidInput("amount cannot be null", code="invalid_amount")
        changes["amount_minor"] = rules.parse_amount(fields["amount"])
    if "currency" in fields:
        changes["currency"] = rules.clean_currency(fields["currency"] or "")
    if "owner_id" in fields:
        changes["owner_id"] = fields["owner_id"]
    if not changes:
        raise InvalidInput("nothing to change", code="empty_patch")
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        deal = await get_visible_deal(session, actor, deal_id, lock=True)
        previous_owner = deal.owner_id
        if changes.get("owner_id") is not None:
            await check_owner(session, changes["owner_id"])
        for name, value in changes.items():
            setattr(deal, name, value)
        deal.updated_at = utcnow()
        return await announce(session, deal, events, also_notify=previous_owner)

    data = await ctx.write(unit, key=("deal", deal_id))
    await ctx.publish(*events)
    return data


async def move_stage(
    ctx: HubContext, actor: Principal, deal_id: int, stage_id: int, reason: str | None
) -> dict[str, Any]:
    """Move a deal to another open stage: forward freely, backward only with a reason."""
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        deal = await get_visible_deal(session, actor, deal_id, lock=True)
        current = await session.get(Stage, deal.stage_id)
        target = await session.get(Stage, stage_id)
        if target is None:
            raise InvalidInput(f"stage {stage_id} not found", code="stage_not_found")
        assert current is not None
        direction = rules.stage_move(deal.status, stage_info(current), stage_info(target), reason)
        kept_reason = rules.clean_reason(reason)
        record_move(session, deal, target, direction, actor.operator_id, kept_reason)
        return await announce(session, deal, events, change="stage")

    data = await ctx.write(unit, key=("deal", deal_id))
    await ctx.publish(*events)
    return data


async def close_deal(
    ctx: HubContext, actor: Principal, deal_id: int, outcome: str, reason: str | None = None
) -> dict[str, Any]:
    """Win or lose a deal; a lost one keeps its reason and the stage it was lost in."""
    if outcome not in (rules.Direction.WON.value, rules.Direction.LOST.value):
        raise ValueError(outcome)
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        deal = await get_visible_deal(session, actor, deal_id, lock=True)
        cleaned = rules.check_close(deal.status, outcome, reason)
        kind = StageKind.WON if outcome == rules.Direction.WON.value else StageKind.LOST
        target = await stage_of_kind(session, deal.pipeline_id, kind)
        if kind is StageKind.LOST:
            assert cleaned is not None
            names = (await session.scalars(select(LostReason.name))).all()
            cleaned = rules.pick_lost_reason(cleaned, names)
            deal.lost_reason = cleaned
            deal.lost_stage_id = deal.stage_id
        record_move(session, deal, target, outcome, actor.operator_id, cleaned)
        deal.status = outcome
        deal.closed_at = deal.updated_at
        return await announce(session, deal, events, change=outcome)

    data = await ctx.write(unit, key=("deal", deal_id))
    await ctx.publish(*events)
    return data


async def reopen_deal(
    ctx: HubContext, actor: Principal, deal_id: int, reason: str | None
) -> dict[str, Any]:
    """Take a won or lost deal back to the open stage it was closed from, with a reason
    (recorded as a backward move)."""
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        deal = await get_visible_deal(session, actor, deal_id, lock=True)
        cleaned = rules.check_reopen(deal.status, reason)
        back_to = await session.scalar(
            select(StageChange.from_stage_id)
            .where(
                StageChange.deal_id == deal.id,
                StageChange.direction.in_([rules.Direction.WON.value, rules.Direction.LOST.value]),
            )
            .order_by(StageChange.id.desc())
            .limit(1)
        )
        stage = await session.get(Stage, back_to) if back_to is not None else None
        if stage is None or stage.kind != StageKind.OPEN.value:
            stage = await stage_of_kind(session, deal.pipeline_id, StageKind.OPEN)
        record_move(
            session, deal, stage, rules.Direction.BACKWARD.value, actor.operator_id, cleaned
        )
        deal.status = DealStatus.OPEN.value
        deal.closed_at = None
        deal.lost_reason = None
        deal.lost_stage_id = None
        return await announce(session, deal, events, change="reopened")

    data = await ctx.write(unit, key=("deal", deal_id))
    await ctx.publish(*events)
    return data


def source_columns(source: rules.LeadSource) -> dict[str, str | None]:
    return {
        "channel": source.channel or None,
        "utm_source": source.utm_source,
        "utm_campaign": source.utm_campaign,
    }
