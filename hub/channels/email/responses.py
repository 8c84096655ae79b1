"""The email channel's answers (conventions in ``hub.responses``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from hub.channels.email.scheduled_models import ScheduleKind, ScheduleStatus
from hub.inbox.responses import ListedConversationOut, MessageOut, RefOut
from hub.responses import Out


class NewEmailOut(Out):
    conversation: ListedConversationOut = Field(
        description="The new conversation: the email's thread, assigned to its writer"
    )
    message: MessageOut = Field(
        description="The email, pending in the outbox (delivery.status), with its subject "
        "and Message-ID (email)"
    )


class ScheduledEmailOut(Out):
    """An email scheduled to go later (``hub.channels.email.scheduling``)."""

    id: int
    kind: ScheduleKind = Field(description="reply (in its conversation) or new_email")
    status: ScheduleStatus
    operator: RefOut = Field(description="Its author, in whose name it goes")
    channel_id: int
    contact_id: int
    conversation_id: int | None = Field(
        description="A reply's conversation; a new email's once it went (the one it opened)"
    )
    to: str | None = Field(description="A new email's recipient")
    subject: str | None = Field(description="A new email's subject; a reply takes its thread's")
    body: str
    reply_to_id: int | None
    tracking: bool = Field(
        description="Open and click tracking, as the operator chose: the message keeps it"
    )
    send_at: datetime = Field(description="When it goes (UTC)")
    time_zone: str = Field(description="The zone it was scheduled in")
    local_send_at: str = Field(description="send_at on time_zone's clock, YYYY-MM-DDTHH:MM")
    sending: bool = Field(description="A worker holds it right now: edits are refused")
    message_id: int | None = Field(description="The message it became, once sent")
    error: str | None = Field(description="Why it failed, or why the last attempt did")
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


class ScheduledEmailsOut(Out):
    items: list[ScheduledEmailOut] = Field(description="Soonest first")
    time_zone: str = Field(
        description="The company's time zone (set in the admin area), the default"
    )
