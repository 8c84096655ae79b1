"""The inbox's JSON answers: operators, teams, conversations, messages and their items, canned
responses, contacts and log-ins (conventions in ``hub.responses``).

They describe the dicts of ``hub.inbox.serialize`` (and ``items``, ``canned``) as the routes
send them; the contact card, which carries the contact's sales too, is in
``hub.inbox.card_responses``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from hub.inbox.item_models import CallDirection, CallStatus
from hub.inbox.models import AttachmentKind, ConversationStatus, DeliveryStatus, MessageKind, Role
from hub.responses import Omittable, Out


class RefOut(Out):
    """Another row named where it is mentioned: its id and name."""

    id: int
    name: str


class ChannelRefOut(Out):
    id: int
    type: str
    name: str


# --- staff and log-ins -----------------------------------------------------------------------


class MeOut(Out):
    """The operator behind a token or session, as the hub knows him for this request."""

    id: int
    name: str
    role: Role
    team_ids: list[int]


class OperatorOut(Out):
    id: int
    email: str
    name: str
    role: Role
    active: bool
    invited: bool = Field(
        description="Invited by email and not joined yet: he cannot log in until he sets his "
        "password through the invitation's link"
    )
    created_at: datetime
    team_ids: list[int]


class OperatorsOut(Out):
    items: list[OperatorOut]


class CreatedOperatorOut(Out):
    operator: OperatorOut
    password: str | None = Field(
        description="The generated password, shown this once; null when the admin chose one"
    )


class TeamOut(Out):
    id: int
    name: str
    created_at: datetime
    operator_ids: list[int]


class TeamsOut(Out):
    items: list[TeamOut]


class LoginOut(Out):
    token: str = Field(description="The bearer token (hub_…) for Authorization: Bearer")
    operator: OperatorOut


class SessionOut(Out):
    """A new web inbox session: its cookie is set; changes send the CSRF token."""

    operator: OperatorOut
    csrf_token: str


class CurrentSessionOut(Out):
    """The cookie session's operator (after a reload) and its CSRF token again."""

    operator: MeOut
    csrf_token: str


# --- conversations ---------------------------------------------------------------------------


class ConversationOut(Out):
    id: int
    channel_id: int
    contact_id: int
    team_id: int | None
    assignee_id: int | None
    status: ConversationStatus
    snoozed_until: datetime | None
    created_at: datetime
    last_activity_at: datetime
    last_message_preview: str
    unread_count: int
    attributes: dict[str, Any] = Field(
        description="What channels keep on the conversation: the widget's first_touch (page, "
        "referrer, UTM parameters), a Telegram deep link's telegram_start, and the like"
    )


class ChannelConversationOut(ConversationOut):
    """A conversation listed under a contact or a deal: with its channel."""

    channel: ChannelRefOut


class ListedConversationOut(ChannelConversationOut):
    """A conversation of the inbox list: with its contact and channel."""

    contact: RefOut


class InboxConversationOut(ListedConversationOut):
    """A conversation as the inbox lists it: with the caller's own unread count."""

    my_unread_count: int = Field(
        description="Customer messages the caller has not read: after his read marker (POST "
        ".../read) and after the last reply; unread_count is the same for everyone (since the "
        "last reply)"
    )


class ConversationDetailOut(InboxConversationOut):
    assignee: RefOut | None = Field(
        default=None, description="The assigned operator; absent when nobody is assigned"
    )


class ConversationPageOut(Out):
    items: list[InboxConversationOut]
    next_cursor: str | None = Field(description="The cursor of the next page; null on the last")


# --- messages and their items ----------------------------------------------------------------


class AuthorOut(Out):
    """Who wrote a group chat's message (the contact is the group)."""

    telegram_id: int
    name: str
    username: str | None


class SenderOut(Out):
    type: Literal["contact", "operator", "system"]
    id: int | None
    name: str
    author: Omittable[AuthorOut] = None


class AttachmentOut(Out):
    id: int
    kind: AttachmentKind
    filename: str
    content_type: str
    size: int
    url: str = Field(description="Downloads the file with the operator's token or session")


class CallOut(Out):
    direction: CallDirection
    from_: str = Field(alias="from", description="E.164")
    to: str = Field(description="E.164")
    tracking_number: str | None
    status: CallStatus
    duration_s: int
    recording_url: str | None = Field(
        description="The provider's recording; the copy the hub keeps is the message's audio "
        "attachment"
    )
    recording_ref: str | None = Field(
        description="The provider's id of the call's recording where it gives no address "
        "(Telphin; Zadarma and Mango, which the hub fetches by it when it has their API key)"
    )
    operator: str | None = Field(description="The extension or employee who answered")
    started_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    attribution: dict[str, Any] = Field(
        description="Where the call came from: utm_source, utm_medium, utm_campaign, "
        "referrer, page… (the visit that held the tracking number, or the number's label)"
    )


class TrackingOut(Out):
    """Opens and clicks of an email the hub sent with tracking. Only hits judged human count
    as opens and clicks; machine ones (Apple's prefetch, image proxies, link scanners) are
    counted apart, and unknown ones (nothing to tell) in ``unknown``."""

    opens: int
    clicks: int
    first_opened_at: datetime | None = Field(description="The first human open")
    last_opened_at: datetime | None
    machine_opens: int
    machine_clicks: int
    machine_client: str | None = Field(
        description='The machine named by the verdicts ("Apple Mail", "Gmail", "scanner")'
    )
    unknown: int


class TrackingHitOut(Out):
    """One open or click of a tracked email, with its verdict and why."""

    message_id: int
    conversation_id: int
    subject: str
    kind: Literal["open", "click"]
    at: datetime
    verdict: Literal["human", "machine", "unknown"]
    reason: str
    client: str
    link: str | None


class EmailOut(Out):
    subject: str
    html: str = Field(description="Sanitised as it was stored: no scripts, styles or images")
    from_: str = Field(alias="from")
    to: list[str]
    cc: list[str]
    message_id: str
    tracking: TrackingOut | None = Field(
        default=None, description="Open and click tracking of an email sent tracked; else null"
    )


class MessageDeliveryOut(Out):
    """How sending a reply to the customer goes; null for what is not sent."""

    status: DeliveryStatus
    error: str | None
    attempts: int


class MessageOut(Out):
    id: int
    conversation_id: int
    kind: MessageKind
    private: bool
    body: str
    sender: SenderOut
    meta: dict[str, Any] = Field(
        description="What the channel or the hub adds: an activity's action, a widget page, "
        "a Telegram message's ids, a location, an edit's edited_at, and the like"
    )
    attachments: list[AttachmentOut]
    call: CallOut | None
    email: EmailOut | None
    reply_to_id: int | None
    created_at: datetime
    delivery: MessageDeliveryOut | None


class MessagePageOut(Out):
    items: list[MessageOut]
    has_more: bool = Field(description="More messages lie beyond this page")


# --- canned responses ------------------------------------------------------------------------


class CannedOut(Out):
    id: int
    short_code: str
    content: str
    created_at: datetime
    updated_at: datetime


class CannedListOut(Out):
    items: list[CannedOut]


# --- contacts --------------------------------------------------------------------------------


class ContactOut(Out):
    """A contact as an edit answers it."""

    id: int
    name: str
    phones: list[str] = Field(description="E.164")
    emails: list[str]
    attributes: dict[str, Any] = Field(
        description="company and notes as edited, and what channels keep (the widget's "
        "first_touch, …)"
    )
    merged_into_id: int | None
    created_at: datetime
    updated_at: datetime


class IdentityOut(Out):
    """The contact as one channel knows him."""

    channel_id: int
    channel_type: str
    external_id: str
    created_at: datetime
