"""Emails an operator wrote to go out later: the stored job, until it becomes a message.

A row is either a reply in an email conversation (``conversation_id`` set when scheduled) or a
new email to a contact (``conversation_id`` set when it goes, to the conversation it opened).
Until its time it is only this row: nothing is in the outbox, and it can be edited or
cancelled. When it is due, one worker claims it with a lease (``lease_owner``,
``lease_until``: "being sent", so an edit is refused meanwhile), and in one transaction turns
it into the conversation's outgoing message and marks it ``sent`` with that message's id; the
row's own id is the idempotency key of that step, as a second claim finds it ``sent`` already.
From then on the message is an ordinary reply in the delivery outbox.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, utcnow


class ScheduleStatus(enum.StrEnum):
    #: Waiting for its time; editable and cancellable (unless a worker holds its lease).
    SCHEDULED = "scheduled"
    #: Became the message ``message_id`` (its delivery is the outbox's from then on).
    SENT = "sent"
    CANCELLED = "cancelled"
    #: Could not become a message (the address was suppressed meanwhile, the conversation is
    #: no longer the author's to answer…): ``error`` says why.
    FAILED = "failed"


class ScheduleKind(enum.StrEnum):
    REPLY = "reply"
    NEW_EMAIL = "new_email"


class ScheduledEmail(Base):
    __tablename__ = "scheduled_emails"
    __table_args__ = (Index("ix_scheduled_emails_due", "status", "send_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ScheduleStatus.SCHEDULED.value)
    #: Who wrote it: who sees and edits it (and staff), and in whose name it goes.
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), default=None, index=True
    )
    #: A new email's recipient (one of the contact's addresses; his first when None).
    to_address: Mapped[str | None] = mapped_column(String(320), default=None)
    #: A new email's subject; a reply takes its thread's.
    subject: Mapped[str | None] = mapped_column(String(300), default=None)
    body: Mapped[str] = mapped_column(Text, default="")
    reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), default=None
    )
    #: The operator's open and click tracking switch, as it was when he scheduled it: the
    #: message it becomes keeps it (``meta.tracking``).
    tracking: Mapped[bool] = mapped_column(Boolean, default=True)
    #: When it goes (UTC), and the zone the operator picked it in (how it is shown back).
    send_at: Mapped[datetime] = mapped_column()
    time_zone: Mapped[str] = mapped_column(String(64))
    #: Claims so far; a claim that did not end in a message is tried again after its lease.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), default=None, unique=True
    )
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
