"""The sales API's JSON answers: leads, deals, pipelines, tasks, merges, duplicates and webhook
subscriptions (conventions in ``hub.responses``; the reports' are in
``hub.crm_sync.report_responses``).

They describe the dicts of ``hub.crm_sync.serialize`` and ``subscriptions`` as the routes send
them: the same dicts are the socket events' data and the webhook records' payloads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from hub.crm_sync.models import DealStatus, LeadStatus, StageKind, TaskStatus
from hub.crm_sync.rules import Direction, MatchStrength
from hub.crm_sync.subscriptions import SyncDeliveryStatus
from hub.inbox.responses import ChannelConversationOut, ChannelRefOut, RefOut, TrackingHitOut
from hub.responses import Omittable, Out

#: Amounts are exact decimal strings in the currency's major unit: "150000.00".
Amount = Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", examples=["150000.00"])]


# --- pipelines -------------------------------------------------------------------------------


class StageOut(Out):
    id: int
    pipeline_id: int
    name: str
    position: int
    kind: StageKind


class PipelineOut(Out):
    id: int
    name: str
    is_default: bool
    created_at: datetime
    stages: list[StageOut] = Field(description="In order: the open stages, then won and lost")


class PipelinesOut(Out):
    items: list[PipelineOut]


class LostReasonOut(Out):
    id: int
    name: str
    position: int


class LostReasonsOut(Out):
    items: list[LostReasonOut]


# --- leads -----------------------------------------------------------------------------------


class TelegramStartOut(Out):
    """A Telegram deep link's /start payload, as an advert link carried it."""

    payload: Omittable[str] = None
    utm_source: Omittable[str] = None
    utm_medium: Omittable[str] = None
    utm_campaign: Omittable[str] = None


class LeadSourceOut(Out):
    """Where the lead came from: the channel, the first touch's UTM parameters and referrer,
    and the details there were (landing page, click ids, a Telegram deep link)."""

    channel: str | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    referrer: str | None
    landing_page: Omittable[str] = None
    utm_term: Omittable[str] = None
    utm_content: Omittable[str] = None
    gclid: Omittable[str] = None
    yclid: Omittable[str] = None
    telegram_start: Omittable[TelegramStartOut] = None
    telegram_start_kind: Omittable[str] = None


class ContactLeadOut(Out):
    """A lead as the contact card lists it."""

    id: int
    contact_id: int
    conversation_id: int | None
    channel_id: int | None
    status: LeadStatus
    source: LeadSourceOut
    deal_id: int | None
    reject_reason: str | None
    decided_by_id: int | None
    decided_at: datetime | None
    created_at: datetime


class LeadOut(ContactLeadOut):
    """A lead with its contact's name."""

    contact: RefOut


class LeadsOut(Out):
    items: list[LeadOut]


# --- deals -----------------------------------------------------------------------------------


class DealSourceOut(Out):
    channel: str | None
    utm_source: str | None
    utm_campaign: str | None


class StageRefOut(Out):
    id: int
    name: str
    kind: StageKind


class DealFieldsOut(Out):
    """A deal's own fields, as every answer with a deal has them."""

    id: int
    title: str
    amount: Amount
    currency: str = Field(description="ISO 4217, e.g. RUB")
    contact_id: int
    owner_id: int | None
    pipeline_id: int
    stage_id: int
    status: DealStatus
    conversation_id: int | None
    source: DealSourceOut
    lost_reason: str | None
    lost_stage_id: int | None
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class DealOut(DealFieldsOut):
    """A deal with its stage, its contact and its owner (absent when it has none)."""

    stage: StageRefOut
    contact: RefOut
    owner: Omittable[RefOut] = None


class ConversationRefOut(Out):
    id: int
    channel: ChannelRefOut


class ContactDealOut(DealFieldsOut):
    """A deal as the contact card lists it: with its stage and the conversation it came from."""

    stage: StageRefOut
    conversation: ConversationRefOut | None


class StageTotalsOut(Out):
    """A board column's header: every deal that matches in this stage, not only this page's."""

    stage_id: int
    count: int
    sums: dict[str, Amount] = Field(description="The sum of the amounts, per currency")


class DealsOut(Out):
    items: list[DealOut]
    stages: list[StageTotalsOut]


class StageChangeOut(Out):
    id: int
    deal_id: int
    from_stage_id: int | None
    to_stage_id: int
    direction: Direction
    reason: str | None
    operator_id: int | None
    created_at: datetime
    from_stage_name: str | None
    to_stage_name: str | None
    operator_name: str | None


class TaskOut(Out):
    id: int
    title: str
    kind: Literal["task", "callback"]
    due_at: datetime | None
    assignee_id: int | None
    deal_id: int | None
    contact_id: int | None
    status: TaskStatus
    overdue: bool = Field(description="Open and past its due time")
    created_by_id: int | None
    created_at: datetime
    done_at: datetime | None


class TasksOut(Out):
    items: list[TaskOut]


class StageChangeEntryOut(Out):
    type: Literal["stage_change"]
    at: datetime
    item: StageChangeOut


class ConversationEntryOut(Out):
    type: Literal["conversation"]
    at: datetime
    item: ChannelConversationOut


class TaskEntryOut(Out):
    type: Literal["task"]
    at: datetime
    item: TaskOut


class EmailHitEntryOut(Out):
    """An open or click of an email sent in one of the deal's conversations."""

    type: Literal["email_hit"]
    at: datetime
    item: TrackingHitOut


TimelineEntry = Annotated[
    StageChangeEntryOut | ConversationEntryOut | TaskEntryOut | EmailHitEntryOut,
    Field(discriminator="type"),
]


class DealDetailOut(DealOut):
    """A deal with its stage changes, conversations and tasks, and all three in one timeline,
    oldest first, with the opens and clicks of the emails sent in its conversations (those the
    caller may see; machine ones too, with their verdict)."""

    stage_changes: list[StageChangeOut]
    conversations: list[ChannelConversationOut]
    tasks: list[TaskOut]
    timeline: list[TimelineEntry]


# --- contacts: merges and duplicates ---------------------------------------------------------


class MovedOut(Out):
    """The ids of the rows a merge moved to the kept contact; an undo moves exactly these."""

    conversations: list[int]
    deals: list[int]
    leads: list[int]
    identities: list[int]
    tasks: list[int]
    widget_visitors: list[int]
    scheduled_emails: Omittable[list[int]] = Field(
        default=None,
        description="Scheduled emails (the email channel's); absent in a merge recorded before "
        "the hub had them",
    )
    phones: list[int]
    emails: list[int]


class MergeOut(Out):
    id: int
    kept_id: int
    merged_id: int
    reason: str
    operator_id: int | None
    moved: MovedOut
    created_at: datetime
    undone_at: datetime | None
    undone_by_id: int | None


class ListedMergeOut(MergeOut):
    """A merge as the list shows it: with both contacts' names and whether it was automatic."""

    automatic: bool = Field(description="Made by the lead intake, not by an operator")
    kept: RefOut
    merged: RefOut


class MergePageOut(Out):
    items: list[ListedMergeOut] = Field(description="Newest first")
    next_cursor: str | None = Field(description="The cursor of the next page; null on the last")


class DuplicateOut(Out):
    contact: RefOut
    strength: MatchStrength
    reasons: list[Literal["phone", "email", "identity", "name", "name_and_phone_tail"]]


class DuplicatesOut(Out):
    items: list[DuplicateOut] = Field(description="Exact matches first")


# --- webhook subscriptions (sync out) --------------------------------------------------------


class SubscriptionOut(Out):
    id: int
    name: str
    url: str
    events: list[str] = Field(description="Event names or patterns (deal.*, *)")
    active: bool
    created_at: datetime


class CreatedSubscriptionOut(SubscriptionOut):
    secret: str = Field(description="The signing secret (whsec_…), shown this once")


class ListedSubscriptionOut(SubscriptionOut):
    pending: int = Field(description="Deliveries waiting to be sent")
    failed: int = Field(description="Deliveries that gave up")


class SubscriptionsOut(Out):
    items: list[ListedSubscriptionOut]


class AttemptOut(Out):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class WebhookDeliveryOut(Out):
    id: int
    subscription_id: int
    idempotency_key: str = Field(description="The webhook-id header of every attempt")
    record_id: int
    event: str
    entity: str
    entity_id: int
    status: SyncDeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="Set while pending")
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    log: list[AttemptOut] = Field(description="Every attempt, oldest first")


class DeliveriesOut(Out):
    items: list[WebhookDeliveryOut]
    next_before: int | None = Field(description="before= of the next page; null on the last")
