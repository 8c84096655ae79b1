"""Tables of the sales side.

A lead is a first contact waiting to be taken: it keeps where the customer came from (channel,
first-touch UTM and referrer, a Telegram deep-link payload) flattened into columns, so reports
group by source with an index instead of reading JSON. A deal is what a qualified lead becomes: it
moves through the stages of a pipeline, every move recorded in ``stage_changes`` with its author
and, for a move backwards, its reason. Amounts are integers in minor units (kopecks), so sums in
reports are exact on both backends.

A merge of two contacts keeps the loser's row (``contacts.merged_into_id`` points at the winner)
and stores in ``contact_merges.moved`` exactly which rows moved, so it can be undone.

The intake of new conversations into leads runs from a cursor over ``conversations.id``
(``crm_cursors``), not from bus events, so a restart or a lost event never skips a conversation.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, JSONType, utcnow


class StageKind(enum.StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class LeadStatus(enum.StrEnum):
    """``incoming`` waits for an operator (amoCRM's "Неразобранное")."""

    INCOMING = "incoming"
    QUALIFIED = "qualified"
    LINKED = "linked"
    REJECTED = "rejected"


class DealStatus(enum.StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Pipeline(Base):
    __tablename__ = "pipelines"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Stage(Base):
    """A column of a pipeline; ``position`` orders the open stages, won and lost close a deal."""

    __tablename__ = "stages"
    __table_args__ = (Index("ix_stages_pipeline_position", "pipeline_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10), default=StageKind.OPEN.value)


class LostReason(Base):
    """The configurable list a lost deal picks its reason from."""

    __tablename__ = "lost_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Lead(Base):
    """A first contact; ``deal_id`` is the deal it was qualified into or linked to."""

    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_status_created", "status", "created_at"),
        #: Reports read leads in by source, and each conversation's source, from these alone.
        Index(
            "ix_leads_cohort",
            "created_at",
            "deal_id",
            "source_channel",
            "utm_source",
            "utm_campaign",
        ),
        Index(
            "ix_leads_conversation_source",
            "conversation_id",
            "source_channel",
            "utm_source",
            "utm_campaign",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    #: The conversation that made the lead (none for a lead made by hand or by a call).
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), default=None, unique=True
    )
    channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("channels.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[str] = mapped_column(String(20), default=LeadStatus.INCOMING.value)
    #: Channel type, UTM source / medium / campaign, referrer: flattened for reports.
    source_channel: Mapped[str | None] = mapped_column(String(30), default=None)
    utm_source: Mapped[str | None] = mapped_column(String(200), default=None)
    utm_medium: Mapped[str | None] = mapped_column(String(200), default=None)
    utm_campaign: Mapped[str | None] = mapped_column(String(200), default=None)
    referrer: Mapped[str | None] = mapped_column(Text, default=None)
    #: Everything else known of the first touch (landing page, deep-link payload, tracking number).
    source: Mapped[dict[str, Any]] = mapped_column(default=dict)
    deal_id: Mapped[int | None] = mapped_column(
        ForeignKey("deals.id", ondelete="SET NULL"), default=None, index=True
    )
    reject_reason: Mapped[str | None] = mapped_column(Text, default=None)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Deal(Base):
    __tablename__ = "deals"
    __table_args__ = (
        Index("ix_deals_pipeline_stage", "pipeline_id", "stage_id"),
        #: Wider than ``created_at`` so the reports' cohort of a period (with each deal's stage
        #: reach) reads this index alone.
        Index(
            "ix_deals_cohort",
            "created_at",
            "pipeline_id",
            "status",
            "closed_at",
            "last_move_at",
            "reach_position",
        ),
        Index("ix_deals_owner_created", "owner_id", "created_at"),
        #: The deals created in a period per source, read from this index alone.
        Index(
            "ix_deals_created_source",
            "created_at",
            "pipeline_id",
            "source_channel",
            "utm_source",
            "utm_campaign",
        ),
        #: Reports of closed deals (won, lost, deal length) read a range of closing times.
        Index("ix_deals_closed", "closed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    #: In minor units (kopecks for RUB).
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id", ondelete="RESTRICT"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(10), default=DealStatus.OPEN.value)
    #: The conversation the deal was made from, shown on the contact card.
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), default=None
    )
    source_channel: Mapped[str | None] = mapped_column(String(30), default=None)
    utm_source: Mapped[str | None] = mapped_column(String(200), default=None)
    utm_campaign: Mapped[str | None] = mapped_column(String(200), default=None)
    lost_reason: Mapped[str | None] = mapped_column(Text, default=None)
    #: The open stage the deal was in when it was lost.
    lost_stage_id: Mapped[int | None] = mapped_column(
        ForeignKey("stages.id", ondelete="SET NULL"), default=None
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    #: For the funnel report, kept by ``record_move``: the furthest position among the open
    #: stages of its pipeline the deal was ever moved into, and the time of its last stage
    #: change (a report ending before it reads ``stage_changes`` instead).
    reach_position: Mapped[int | None] = mapped_column(default=None)
    last_move_at: Mapped[datetime | None] = mapped_column(default=None)


class DealConversation(Base):
    """The conversations that belong to a deal, on any channel."""

    __tablename__ = "deal_conversations"

    deal_id: Mapped[int] = mapped_column(
        ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True
    )
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StageChange(Base):
    """One move of a deal: ``direction`` is initial, forward, backward, won or lost."""

    __tablename__ = "stage_changes"
    __table_args__ = (
        Index("ix_stage_changes_deal", "deal_id", "id"),
        Index("ix_stage_changes_created", "created_at"),
        #: Reports: how far a deal got by a time, from this index alone.
        Index("ix_stage_changes_reach", "deal_id", "created_at", "to_stage_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    from_stage_id: Mapped[int | None] = mapped_column(
        ForeignKey("stages.id", ondelete="SET NULL"), default=None
    )
    to_stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id", ondelete="RESTRICT"))
    direction: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_assignee_status_due", "assignee_id", "status", "due_at"),
        #: The reminder's look for open tasks that fell due and were not announced yet.
        Index("ix_tasks_status_reminded_due", "status", "reminded_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    #: ``callback`` for a customer's callback request, ``task`` otherwise.
    kind: Mapped[str] = mapped_column(String(20), default="task")
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    deal_id: Mapped[int | None] = mapped_column(
        ForeignKey("deals.id", ondelete="CASCADE"), default=None, index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), default=None, index=True
    )
    status: Mapped[str] = mapped_column(String(10), default=TaskStatus.OPEN.value)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(default=None)
    #: When its owner was told it fell due (``reminders``); set once, by one process.
    reminded_at: Mapped[datetime | None] = mapped_column(default=None)


class ContactMerge(Base):
    """A merge of ``merged_id`` into ``kept_id``; ``moved`` lists every row moved, for undo."""

    __tablename__ = "contact_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    kept_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    merged_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    moved: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(default=None)
    undone_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )


class CrmCursor(Base):
    """How far a background pass (the lead intake) has read, with a lease so one process runs it."""

    __tablename__ = "crm_cursors"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)


class WebhookSubscription(Base):
    """An outside system that receives lead, deal and contact changes, signed with ``secret``."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(200))
    #: Event names it wants (``lead.created``, ``deal.updated``…); empty means all.
    events: Mapped[list[str]] = mapped_column(JSONType, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SyncRecord(Base):
    """The outbox: one change of a lead, deal or contact, written in the change's transaction.

    ``ordering_key`` (``deal:12``) keeps a subscriber's deliveries of one entity in order.
    """

    __tablename__ = "sync_records"
    __table_args__ = (Index("ix_sync_records_ordering", "ordering_key", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int] = mapped_column(BigInteger)
    ordering_key: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SyncDelivery(Base):
    """One record on its way to one subscriber (idempotency key ``<record>-<subscription>``)."""

    __tablename__ = "sync_deliveries"
    __table_args__ = (
        Index("ix_sync_deliveries_due", "status", "next_attempt_at"),
        Index("ix_sync_deliveries_sub_key", "subscription_id", "ordering_key", "record_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    record_id: Mapped[int] = mapped_column(ForeignKey("sync_records.id", ondelete="CASCADE"))
    ordering_key: Mapped[str] = mapped_column(String(60))
    #: pending, delivered, or failed (gave up after the last retry; an admin can retry it).
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


class SyncAttempt(Base):
    """The delivery log: one row per HTTP attempt."""

    __tablename__ = "sync_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("sync_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
