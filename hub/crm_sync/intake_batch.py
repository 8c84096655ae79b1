"""The lead intake's write unit for a batch of new conversations: a few set-based statements
for the whole batch instead of about ten ORM statements for each conversation.

Given what was read before the unit (``intake_facts``), the unit reads, in one statement, each
conversation with what its decision rests on (whether it has a lead or is in a deal, its
contact's name, attributes, open lead and newest open deal), and in another the teams and
assignees of those contacts' conversations (who hears of it). The rules then decide each
conversation in the batch's order, as ``intake_one.take_conversation`` would one after another
(a contact's second new conversation finds the lead his first made; a request already made
into an open task makes none), and the unit writes all the leads in one statement, their
outbox records in another, the "call back" tasks in a third, and for conversations that join
an open deal the deal links and the deals' new time.

A conversation whose brand-new contact may be one we know, or whose contact changed since the
facts were read, is decided by ``take_conversation`` in its place in the order (it may merge
contacts); the conversations after it are read again and go on in a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple, cast

from sqlalchemy import Select, Table, exists, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.hooks import ContactRows
from hub.crm_sync import rules
from hub.crm_sync.intake_facts import Facts
from hub.crm_sync.intake_one import take_conversation
from hub.crm_sync.models import (
    Deal,
    DealConversation,
    DealStatus,
    Lead,
    LeadStatus,
    Stage,
    SyncRecord,
    Task,
    TaskStatus,
)
from hub.crm_sync.serialize import deal_dict, lead_dict
from hub.crm_sync.tasks import callback_title
from hub.db import listed, on_postgresql, utcnow
from hub.events import DealUpdated, Event, LeadCreated, Recipients
from hub.inbox.models import Contact, Conversation, Operator

LEADS, SYNC_RECORDS, TASKS = (cast(Table, m.__table__) for m in (Lead, SyncRecord, Task))


@dataclass(frozen=True, slots=True)
class _Conv:
    """A conversation as the unit read it, with what its decision rests on."""

    id: int
    contact_id: int
    channel_id: int
    assignee_id: int | None
    attributes: dict[str, Any]
    created_at: datetime
    decided: bool
    contact_name: str | None  # None: the contact is gone
    contact_attributes: dict[str, Any]
    open_deal_id: int | None
    open_lead: bool


@dataclass(slots=True)
class Counts:
    """How a batch's conversations were decided: in the batch, or one by one by the ORM."""

    batched: int = 0
    alone: int = 0


@dataclass(slots=True)
class _Segment:
    """What a run of conversations decided in a batch writes, in their order."""

    leads: list[tuple[_Conv, rules.LeadSource]] = field(default_factory=list)
    joins: list[_Conv] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    #: ("lead" or "deal", index into ``leads`` or ``joins``) in the conversations' order.
    order: list[tuple[str, int]] = field(default_factory=list)


async def decide_batch(
    session: AsyncSession,
    conv_ids: Sequence[int],
    facts: Facts,
    events: list[Event],
    channel_rows: Sequence[ContactRows],
) -> Counts:
    """Decide ``conv_ids`` (in this order) in the caller's unit; events go to ``events``."""
    counts = Counts()
    pending = list(conv_ids)
    rows = await _read(session, pending)
    fresh = True
    while pending:
        cut = next(
            (n for n, conv_id in enumerate(pending) if _alone(rows.get(conv_id), facts)),
            len(pending),
        )
        if cut and not fresh:
            # What came before changed rows these may read (an open lead, a merged contact);
            # one after another the ORM path needs none of them (it reads for itself).
            rows, fresh = await _read(session, pending), True
            continue
        await _write(session, [rows[c] for c in pending[:cut] if c in rows], facts, events)
        counts.batched += cut
        if cut < len(pending):
            await take_conversation(session, pending[cut], events, channel_rows)
            counts.alone += 1
        pending, fresh = pending[cut + 1 :], False
    return counts


def _alone(row: _Conv | None, facts: Facts) -> bool:
    """Whether the ORM path must decide this conversation (it is undecided, and its contact
    may be one we know, or changed since the facts were read)."""
    if row is None or row.decided or row.contact_name is None:
        return False  # nothing to do, as the ORM path would find
    return (
        facts.contact_of.get(row.id) != row.contact_id
        or facts.channel_of.get(row.id) != row.channel_id
        or row.channel_id not in facts.channels
        or row.contact_id in facts.maybe_known
    )


class _Reads(NamedTuple):
    """The unit's reads, built once per database (``hub.db.listed``)."""

    #: Conversations, with what their decisions rest on.
    conversations: Select[Any]
    #: The open "call back" tasks among some contacts' and titles.
    callbacks: Select[int | None, str]
    #: The teams and assignees of some contacts' conversations.
    heard: Select[int, int | None, int | None]


@cache
def _statements(postgresql: bool) -> _Reads:
    has_lead = exists().where(Lead.conversation_id == Conversation.id)
    in_deal = exists().where(DealConversation.conversation_id == Conversation.id)
    open_lead = exists().where(
        Lead.contact_id == Conversation.contact_id, Lead.status == LeadStatus.INCOMING.value
    )
    open_deal = (
        select(Deal.id)
        .where(Deal.contact_id == Conversation.contact_id, Deal.status == DealStatus.OPEN.value)
        .order_by(Deal.updated_at.desc(), Deal.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    conversations = (
        select(
            Conversation.id,
            Conversation.contact_id,
            Conversation.channel_id,
            Conversation.assignee_id,
            Conversation.attributes,
            Conversation.created_at,
            or_(has_lead, in_deal),
            Contact.name,
            Contact.attributes,
            open_deal,
            open_lead,
        )
        .outerjoin(Contact, Contact.id == Conversation.contact_id)
        .where(listed(Conversation.id, "ids", postgresql))
    )
    callbacks = select(Task.contact_id, Task.title).where(
        Task.kind == "callback",
        Task.status == TaskStatus.OPEN.value,
        listed(Task.contact_id, "contacts", postgresql),
        listed(Task.title, "titles", postgresql),
    )
    heard = select(Conversation.contact_id, Conversation.team_id, Conversation.assignee_id).where(
        listed(Conversation.contact_id, "contacts", postgresql)
    )
    return _Reads(conversations, callbacks, heard)


async def _read(session: AsyncSession, conv_ids: list[int]) -> dict[int, _Conv]:
    reads = _statements(on_postgresql(session))
    rows = await session.execute(reads.conversations, {"ids": conv_ids})
    out = {}
    for row in rows.all():
        conv_id, contact_id, channel_id, assignee_id, attributes, created_at = row[:6]
        decided, name, contact_attributes, deal_id, lead = row[6:]
        out[conv_id] = _Conv(
            conv_id,
            contact_id,
            channel_id,
            assignee_id,
            attributes or {},
            created_at,
            bool(decided),
            name,
            contact_attributes or {},
            deal_id,
            bool(lead),
        )
    return out


async def _plan(session: AsyncSession, run: list[_Conv], facts: Facts) -> _Segment:
    """Each conversation decided by the rules, in order, as one after another."""
    seg = _Segment()
    now = utcnow()
    with_lead = {row.contact_id for row in run if row.open_lead}
    asks = {row.id: facts.asks[row.id] for row in run if row.id in facts.asks}
    open_tasks = await _open_callbacks(
        session,
        [(row.contact_id, callback_title(asks[row.id][0])) for row in run if row.id in asks],
    )
    for row in run:
        if row.decided or row.contact_name is None:
            continue
        channel = facts.channels[row.channel_id]
        decision = rules.intake_decision(
            auto_leads=channel.auto_leads,
            open_lead_id=0 if row.contact_id in with_lead else None,
            open_deal_id=row.open_deal_id,
        )
        if decision is rules.IntakeDecision.JOIN_DEAL:
            seg.order.append(("deal", len(seg.joins)))
            seg.joins.append(row)
        elif decision is rules.IntakeDecision.NEW_LEAD:
            source = rules.lead_source(channel.type, row.attributes, row.contact_attributes)
            seg.order.append(("lead", len(seg.leads)))
            seg.leads.append((row, source))
            with_lead.add(row.contact_id)
        ask = asks.get(row.id)
        if ask is not None and (row.contact_id, callback_title(ask[0])) not in open_tasks:
            open_tasks.add((row.contact_id, callback_title(ask[0])))
            seg.tasks.append(
                {
                    "title": callback_title(ask[0]),
                    "kind": "callback",
                    "due_at": ask[1] or now,
                    "assignee_id": row.assignee_id,
                    "contact_id": row.contact_id,
                    "deal_id": row.open_deal_id,
                    "status": TaskStatus.OPEN.value,
                    "created_at": now,
                }
            )
    return seg


async def _open_callbacks(
    session: AsyncSession, wanted: list[tuple[int, str]]
) -> set[tuple[int, str]]:
    """Which of these (contact, title) have an open "call back" task already."""
    if not wanted:
        return set()
    rows = await session.execute(
        _statements(on_postgresql(session)).callbacks,
        {
            "contacts": sorted({contact for contact, _ in wanted}),
            "titles": sorted({title for _, title in wanted}),
        },
    )
    return {(contact, title) for contact, title in rows.all() if contact is not None}


async def _write(
    session: AsyncSession, run: list[_Conv], facts: Facts, events: list[Event]
) -> None:
    if not run:
        return
    seg = await _plan(session, run, facts)
    # Inserted as the tables' rows, not through the ORM's bulk path: the unit holds the
    # writer, and making and flushing ORM objects cost it more than the statements.
    if seg.tasks:
        await session.execute(insert(TASKS), seg.tasks)
    if not seg.order:
        return
    made: list[_NewLead] = []
    if seg.leads:
        rows = [_lead_row(row, source) for row, source in seg.leads]
        # Matched by conversation (one lead each): SQLite would insert row by row to keep
        # the rows' order, and the order is all ``sort_by_parameter_order`` adds.
        result = await session.execute(
            insert(LEADS).returning(LEADS.c.conversation_id, LEADS.c.id), rows
        )
        ids = {conv_id: lead_id for conv_id, lead_id in result.all()}
        made = [
            _NewLead(ids[row.id], **values)
            for (row, _), values in zip(seg.leads, rows, strict=True)
        ]
    deals = await _join_deals(session, seg.joins)
    heard = await _recipients(session, {row.contact_id for row in run})
    records: list[dict[str, Any]] = []
    for kind, index in seg.order:
        if kind == "lead":
            lead, row = made[index], seg.leads[index][0]
            data = lead_dict(lead, row.contact_name)
            records.append(_record("lead.created", "lead", lead.id, data))
            events.append(LeadCreated(heard(row.contact_id), data))
        else:
            data, owner_id = deals[index]
            records.append(_record("deal.updated", "deal", data["id"], data))
            events.append(
                DealUpdated(heard(seg.joins[index].contact_id, owner_id), data, "conversation")
            )
    await session.execute(insert(SYNC_RECORDS), records)


@dataclass(frozen=True, slots=True)
class _NewLead:
    """A lead as this unit inserted it (``serialize.LeadLike``): new, so undecided."""

    id: int
    contact_id: int
    conversation_id: int
    channel_id: int
    status: str
    source_channel: str | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    referrer: str | None
    source: dict[str, Any]
    created_at: datetime
    deal_id: None = None
    reject_reason: None = None
    decided_by_id: None = None
    decided_at: None = None


def _lead_row(row: _Conv, source: rules.LeadSource) -> dict[str, Any]:
    return {
        "contact_id": row.contact_id,
        "conversation_id": row.id,
        "channel_id": row.channel_id,
        "status": LeadStatus.INCOMING.value,
        "source_channel": source.channel,
        "utm_source": source.utm_source,
        "utm_medium": source.utm_medium,
        "utm_campaign": source.utm_campaign,
        "referrer": source.referrer,
        "source": source.details,
        "created_at": row.created_at,
    }


def _record(event: str, entity: str, entity_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    """An outbox record (``outbox.record_change``'s row)."""
    return {
        "event": event,
        "entity": entity,
        "entity_id": entity_id,
        "ordering_key": f"{entity}:{entity_id}",
        "payload": payload,
        "created_at": utcnow(),
    }


async def _join_deals(
    session: AsyncSession, joins: list[_Conv]
) -> list[tuple[dict[str, Any], int | None]]:
    """Each joining conversation linked to its contact's open deal, the deal's time moved on;
    the deal's JSON after each join (``deals.announce``) and its owner."""
    if not joins:
        return []
    ids = {row.open_deal_id for row in joins}
    found = await session.scalars(
        select(Deal).where(Deal.id.in_(ids)).execution_options(populate_existing=True)
    )
    deals = {deal.id: deal for deal in found.all()}
    stage_ids = {deal.stage_id for deal in deals.values()}
    stages = {
        stage.id: stage
        for stage in (await session.scalars(select(Stage).where(Stage.id.in_(stage_ids)))).all()
    }
    owner_ids = {deal.owner_id for deal in deals.values() if deal.owner_id is not None}
    owners: dict[int, str] = {}
    if owner_ids:
        rows = await session.execute(
            select(Operator.id, Operator.name).where(Operator.id.in_(owner_ids))
        )
        owners = {owner_id: name for owner_id, name in rows.all()}
    await session.execute(
        insert(DealConversation),
        [{"deal_id": row.open_deal_id, "conversation_id": row.id} for row in joins],
    )
    out = []
    for row in joins:
        assert row.open_deal_id is not None
        deal = deals[row.open_deal_id]
        deal.updated_at = utcnow()
        owner = owners.get(deal.owner_id) if deal.owner_id is not None else None
        data = deal_dict(
            deal, stages.get(deal.stage_id), contact_name=row.contact_name, owner_name=owner
        )
        out.append((data, deal.owner_id))
    return out


async def _recipients(session: AsyncSession, contact_ids: set[int]) -> Callable[..., Recipients]:
    """``access.contact_recipients`` for many contacts at once: a function of the contact."""
    rows = (
        await session.execute(
            _statements(on_postgresql(session)).heard, {"contacts": sorted(contact_ids)}
        )
    ).all()
    teams: dict[int, set[int]] = {}
    ops: dict[int, set[int]] = {}
    for contact_id, team_id, assignee_id in rows:
        if team_id is not None:
            teams.setdefault(contact_id, set()).add(team_id)
        if assignee_id is not None:
            ops.setdefault(contact_id, set()).add(assignee_id)

    def heard(contact_id: int, *operators: int | None) -> Recipients:
        extra = {o for o in operators if o is not None}
        return Recipients(
            True,
            frozenset(teams.get(contact_id, ())),
            frozenset(ops.get(contact_id, set()) | extra),
        )

    return heard
