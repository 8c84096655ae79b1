"""The lead intake: every new conversation is looked at once, in the background.

It reads conversations after a cursor (``crm_cursors`` row ``lead_intake``), so a restart or a
lost bus event never skips one, and it never slows the inbound write path: customer messages are
stored and acknowledged without a single CRM query. It wakes when a conversation is created
(the bus's small ``new-conversations`` topic, not the whole event stream) and also polls every
few seconds. With several hub processes one holds a lease on the cursor and runs the
intake; the others only check the lease, and take over when it runs out.

A brand-new contact who shares a phone, email or verified identity with an older one is first
merged into him (``join_known_contact``). Then the rules decide (``rules.intake_decision``): a
new lead in "incoming" with its source, the conversation joining the contact's open deal, or
nothing (an open lead already waits for this contact, or the channel turned automatic leads
off). A conversation that opens
with a callback request also makes a "call back" task. Deciding twice changes nothing: a
conversation with a lead or in a deal is skipped, so the cursor may re-read its last few rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.bus import follow, stop
from hub.channels.hooks import ContactRows
from hub.context import HubContext
from hub.crm_sync import rules
from hub.crm_sync.deals import announce
from hub.crm_sync.duplicates import exact_duplicates
from hub.crm_sync.leads import announce_lead
from hub.crm_sync.merge import announce_merge, merge_in_session
from hub.crm_sync.merge_log import note_automatic_merge
from hub.crm_sync.models import (
    CrmCursor,
    Deal,
    DealConversation,
    DealStatus,
    Lead,
    LeadStatus,
)
from hub.crm_sync.tasks import add_callback_task
from hub.db import utcnow
from hub.events import NEW_CONVERSATIONS_TOPIC, Event
from hub.inbox.models import Channel, Contact, Conversation, Message, MessageKind
from hub.worker import PeriodicWorker

log = logging.getLogger(__name__)

CURSOR = "lead_intake"
LEASE_S = 30.0
#: Rows younger than this are processed but the cursor is not moved past them yet: on
#: PostgreSQL a conversation with a smaller id may still be committing.
SETTLE_S = 5.0
BATCH = 200
#: Conversations decided in one write unit: under load a write unit waits for a batch of its
#: own, so one at a time would let leads fall behind a busy hub.
TAKE_AT_ONCE = 20


async def start_cursor_at_now(session: AsyncSession) -> None:
    """Make the cursor at the newest conversation: conversations older than the CRM are
    history, not new leads."""
    if await session.get(CrmCursor, CURSOR) is None:
        newest = await session.scalar(select(func.max(Conversation.id)))
        session.add(CrmCursor(name=CURSOR, last_id=newest or 0))
        await session.flush()


async def _callback_request(
    session: AsyncSession, conv_id: int
) -> tuple[str, datetime | None] | None:
    """The phone and due time of the callback request a conversation opens with, if any."""
    metas = (
        await session.scalars(
            select(Message.meta)
            .where(Message.conversation_id == conv_id, Message.kind == MessageKind.INCOMING.value)
            .order_by(Message.id)
            .limit(5)
        )
    ).all()
    for meta in metas:
        if isinstance(meta, dict) and meta.get("type") == "callback_request":
            return str(meta.get("phone") or ""), _due_at(meta.get("due_at"))
    return None


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


class LeadIntake(PeriodicWorker):
    """The background loop; ``run_once`` is one pass (tests call it directly). Woken by every
    new conversation, and looks every ``HUB_LEAD_INTAKE_POLL_INTERVAL_S`` besides."""

    name = "lead-intake"

    def __init__(self, ctx: HubContext) -> None:
        super().__init__(
            interval_s=ctx.settings.lead_intake_poll_interval_s,
            backoff_s=ctx.settings.worker_backoff_s,
        )
        self._ctx = ctx
        self.owner = f"{uuid.uuid4().hex[:12]}"
        self._follower: asyncio.Task[None] | None = None
        self.processed = 0
        #: Conversations after the cursor this process has taken already: an unsettled row is
        #: read again on each pass (the cursor may not pass it yet) but decided only once.
        self._taken: set[int] = set()

    def busy(self, done: int) -> bool:
        return done >= BATCH  # a shorter pass read everything there was

    async def start(self) -> None:
        if self._follower is None:
            after = await self._ctx.bus.last_id(NEW_CONVERSATIONS_TOPIC)
            self._follower = asyncio.create_task(
                follow(self._ctx.bus, NEW_CONVERSATIONS_TOPIC, after, self._on_created),
                name="lead-intake-wake",
            )
        await super().start()

    async def close(self) -> None:
        follower, self._follower = self._follower, None
        if follower is not None:
            await stop(follower)
        await self.stop()
        if follower is not None:  # it was started: let another process take over at once
            with contextlib.suppress(Exception):
                await self.release()

    async def _on_created(self, _event_id: str, _payload: dict[str, Any]) -> None:
        self.wake()

    async def acquire(self) -> int | None:
        """Take or renew the lease; the cursor's position if this process holds it."""
        now = utcnow()
        held = await self._ctx.read(lambda s: s.get(CrmCursor, CURSOR))
        if (
            held is not None
            and held.lease_owner not in (None, self.owner)
            and held.lease_until is not None
            and held.lease_until > now
        ):
            self._taken.clear()  # another process decides from here on
            return None
        if (
            held is not None
            and held.lease_owner == self.owner
            and held.lease_until is not None
            and held.lease_until > now + timedelta(seconds=LEASE_S / 2)
        ):
            return held.last_id  # held for a while yet: no write to renew it on every pass

        async def unit(session: AsyncSession) -> int | None:
            await start_cursor_at_now(session)
            result = await session.execute(
                update(CrmCursor)
                .where(
                    CrmCursor.name == CURSOR,
                    or_(
                        CrmCursor.lease_owner.is_(None),
                        CrmCursor.lease_owner == self.owner,
                        CrmCursor.lease_until < now,
                    ),
                )
                .values(lease_owner=self.owner, lease_until=now + timedelta(seconds=LEASE_S))
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return None
            return await session.scalar(select(CrmCursor.last_id).where(CrmCursor.name == CURSOR))

        return await self._ctx.write(unit)

    async def release(self) -> None:
        async def unit(session: AsyncSession) -> None:
            await session.execute(
                update(CrmCursor)
                .where(CrmCursor.name == CURSOR, CrmCursor.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )

        await self._ctx.write(unit)

    async def run_once(self) -> int:
        """One pass over the conversations after the cursor; how many it read."""
        last_id = await self.acquire()
        if last_id is None:
            return 0
        rows = (
            await self._ctx.read(
                lambda s: s.execute(
                    select(Conversation.id, Conversation.created_at)
                    .where(Conversation.id > last_id)
                    .order_by(Conversation.id)
                    .limit(BATCH)
                )
            )
        ).all()
        if not rows:
            return 0
        settled = utcnow() - timedelta(seconds=SETTLE_S)
        todo = [conv_id for conv_id, _created in rows if conv_id not in self._taken]
        for start in range(0, len(todo), TAKE_AT_ONCE):
            await self._take_many(todo[start : start + TAKE_AT_ONCE])
        new_last, moving = last_id, True
        for conv_id, created_at in rows:
            taken = conv_id in self._taken
            if taken and moving and created_at <= settled:
                new_last = conv_id
            else:
                moving = False
        if new_last != last_id:
            await self._save(new_last)
            self._taken = {conv_id for conv_id in self._taken if conv_id > new_last}
        return len(rows) if new_last != last_id else 0

    async def take(self, conv_ids: list[int]) -> None:
        """Decide these conversations now, whoever holds the lease (a conversation decided
        already is left as it is; a lead is one per conversation)."""
        for start in range(0, len(conv_ids), TAKE_AT_ONCE):
            await self._take_many(conv_ids[start : start + TAKE_AT_ONCE])

    async def _take_many(self, conv_ids: list[int]) -> None:
        """Decide several conversations in one write unit, each in a savepoint of its own (one
        that fails is logged and read again on the next pass; the others stand)."""
        events: list[Event] = []
        done: list[int] = []

        async def unit(session: AsyncSession) -> None:
            events.clear()
            done.clear()
            for conv_id in conv_ids:
                mine: list[Event] = []
                try:
                    async with session.begin_nested():
                        await take_conversation(session, conv_id, mine, self._ctx.contact_rows)
                except Exception:
                    log.exception("the lead intake failed on conversation %s", conv_id)
                    continue
                events.extend(mine)
                done.append(conv_id)

        try:
            await self._ctx.write(unit)
        except Exception:
            log.exception("the lead intake failed on conversations %s", conv_ids)
            return
        self.processed += len(done)
        self._taken.update(done)
        self._ctx.announce(*events)  # a worker answers nobody: no need to wait for the bus

    async def _save(self, last_id: int) -> None:
        async def unit(session: AsyncSession) -> None:
            await session.execute(
                update(CrmCursor)
                .where(CrmCursor.name == CURSOR, CrmCursor.lease_owner == self.owner)
                .values(last_id=last_id)
                .execution_options(synchronize_session=False)
            )

        await self._ctx.write(unit)
