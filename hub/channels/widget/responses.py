"""The widget's JSON answers to visitors (conventions in ``hub.responses``): only what a
visitor may see of his own conversations, never an operator's notes or the hub's ids of people.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from hub.channels.widget.config import FieldMode, FieldName
from hub.inbox.models import AttachmentKind
from hub.responses import Omittable, Out


class VisitorSenderOut(Out):
    type: Literal["contact", "operator"]
    name: str = Field(description="The operator's name; empty for the visitor himself")


class VisitorFileOut(Out):
    id: int
    kind: AttachmentKind
    filename: str
    content_type: str
    size: int
    url: str = Field(description="Read with X-Visitor-Token (GET /api/widget/v1/attachments/{id})")


class CallbackWhenOut(Out):
    """The visitor's choice of time (``hub.crm_sync.callback_time``), his wall clock."""

    kind: Literal["asap", "today_after", "tomorrow_morning", "at"]
    time: Omittable[str] = Field(default=None, description="today_after: HH:MM")
    at: Omittable[str] = Field(default=None, description="at: YYYY-MM-DDTHH:MM")


class CallbackViewOut(Out):
    """A callback request as the widget shows it, in its own language."""

    phone: str | None
    when: CallbackWhenOut | None = Field(description="null for a request made before choices")
    due_at: datetime | None = Field(description="When the company will call")


class VisitorMessageOut(Out):
    id: int
    body: str
    sender: VisitorSenderOut
    created_at: datetime
    kind: Literal["message", "callback_request"]
    attachments: Omittable[list[VisitorFileOut]] = Field(
        default=None, description="Its files (a message's; a callback request has none)"
    )
    callback: Omittable[CallbackViewOut] = Field(
        default=None, description="kind callback_request: the number and when to call"
    )


class GreetingOut(Out):
    text: str
    delay_s: float


class PrechatOut(Out):
    enabled: bool
    fields: dict[FieldName, FieldMode]


class WidgetChannelOut(Out):
    """What the widget script may know of its channel: no secrets, no origins."""

    name: str
    lang: Literal["ru", "en"]
    color: str
    position: Literal["right", "left"]
    greeting: GreetingOut | None
    prechat: PrechatOut
    require_identity: bool
    reply_wait_s: int = Field(
        description="Seconds without an answer before the widget offers to leave a phone or email"
    )
    max_message_chars: int
    max_attachment_bytes: int


class VisitorContactOut(Out):
    """What the visitor told the hub himself (never his contact's details)."""

    name: str
    email: str | None
    phone: str | None


class OpeningOut(Out):
    day: Literal["today", "tomorrow", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    time: str = Field(description="HH:MM in the company's time zone (set in the admin area)")


class WorkingHoursOut(Out):
    """When the company answers (its working hours, set in the admin area): open now, or when
    it opens next."""

    open_now: bool
    opens: OpeningOut | None


class RatingRequestOut(Out):
    """His newest conversation was resolved and waits for his rating of that resolution."""

    resolution_id: int
    conversation_id: int


class WidgetSessionOut(Out):
    visitor_token: str = Field(description="Send it as X-Visitor-Token from now on")
    channel: WidgetChannelOut
    contact: VisitorContactOut
    messages: list[VisitorMessageOut] = Field(description="The latest of his conversations")
    operators_online: bool = Field(
        description="Someone who may see his conversation (its team or assignee, or a manager "
        "or admin) has the inbox open"
    )
    working_hours: WorkingHoursOut | None = Field(
        description="Null when the company has no working hours set (it answers any time)"
    )
    rating_request: RatingRequestOut | None


class VisitorMessagesOut(Out):
    items: list[VisitorMessageOut]
    rating_request: RatingRequestOut | None


class VisitorAckOut(Out):
    """A visitor's message stored (once per client_id)."""

    type: Literal["ack"]
    client_id: str
    message: VisitorMessageOut
    duplicate: bool = Field(description="This client_id was stored before")


class VisitorRatingOut(Out):
    id: int
    resolution_id: int
    score: int = Field(ge=1, le=5)
    comment: str
    created_at: datetime


class VisitorRatingAnswerOut(Out):
    rating: VisitorRatingOut


class CallbackOut(Out):
    message: VisitorMessageOut


class VisitorContactAnswerOut(Out):
    contact: VisitorContactOut


class PhoneNumberOut(Out):
    """The number the page shows in its ``data-hub-phone`` elements."""

    kind: Literal["pool", "default", "none"] = Field(
        description="pool: a tracking number held for this visitor until expires_at; default: "
        "every number is held, this is the site's default; none: no number to show (the site "
        "has no pool, or no default when it ran out): the page keeps its own"
    )
    number: str | None = Field(description="E.164, for tel: links")
    international: str | None = Field(description="Written for people: +7 495 123-00-01")
    national: str | None = Field(description="As its country dials it: 8 (495) 123-00-01")
    expires_at: datetime | None = Field(description="When the hold ends unless renewed")
    renew_in_seconds: int | None = Field(
        description="Ask again after this long while the page stays open, to keep the number"
    )
