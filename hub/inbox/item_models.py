"""Tables of the timeline items that are more than text: a call and an email.

Each belongs to one message row (``message_id``), which places it in its conversation, says
who it came from (``kind``: incoming from the customer, outgoing from the company) and carries
the provider's id that makes a repeated webhook a no-op. Neither is ever sent out: the delivery
worker sends operator replies only, and a call or an email arrives from a channel already done.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, JSONType


class CallDirection(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class CallStatus(enum.StrEnum):
    #: Still ringing (a telephony channel reports the call as it goes).
    RINGING = "ringing"
    ANSWERED = "answered"
    MISSED = "missed"
    BUSY = "busy"


class CallItem(Base):
    """A phone call: numbers in E.164, how it ended, how long it lasted, its recording."""

    __tablename__ = "message_calls"
    __table_args__ = (
        # Led by the provider's id: the fold's look-up of a batch's calls is one probe per id
        # whatever the planner knows of the table (migration 0021).
        Index("ix_message_calls_provider_call", "provider_call_id", "channel_id", unique=True),
        # The call sweep's calls still ringing, by when they started.
        Index("ix_message_calls_status_started", "status", "started_at"),
    )

    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    direction: Mapped[str] = mapped_column(String(10))
    from_number: Mapped[str] = mapped_column(String(32))
    to_number: Mapped[str] = mapped_column(String(32))
    #: The advert's number the customer dialled (call tracking), when it is not ``to_number``.
    tracking_number: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    status: Mapped[str] = mapped_column(String(10))
    duration_s: Mapped[int] = mapped_column(Integer, default=0)
    #: The provider's recording (its URL), or the copy kept in the media store (an attachment
    #: of the same message).
    recording_url: Mapped[str | None] = mapped_column(Text, default=None)
    #: For a telephony channel's call (``hub.inbox.call_fold``): the channel and the
    #: provider's id of the call, which every event of the call names (unique together).
    channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), default=None
    )
    provider_call_id: Mapped[str | None] = mapped_column(String(200), default=None)
    #: The extension or employee that answered.
    operator: Mapped[str | None] = mapped_column(String(200), default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    #: The provider's id of a recording it gives no URL for (Zadarma, Mango, Telphin).
    recording_ref: Mapped[str | None] = mapped_column(Text, default=None)
    #: The visit the call is attributed to: UTM, referrer, page (dynamic number insertion
    #: or the provider's), or the tracking number's source and campaign.
    attribution: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class CallPending(Base):
    """An event of a call the hub has not seen open yet that cannot open it (a recording
    ready before the call's start, naming no caller): kept until the call opens, then folded
    in. One per call and kind, so a repeated one is kept once."""

    __tablename__ = "call_pending_events"
    __table_args__ = (
        Index("ix_call_pending_events_call", "provider_call_id", "channel_id", "kind", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    provider_call_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    event: Mapped[dict[str, Any]] = mapped_column(JSONType)
    received_at: Mapped[datetime]


class EmailItem(Base):
    """An email: its subject, its text (the message's ``body``), its HTML as sanitised when it
    was stored, and the headers that thread it."""

    __tablename__ = "message_emails"

    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    subject: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    from_address: Mapped[str] = mapped_column(String(320), default="")
    #: ``{"to": [...], "cc": [...]}``: the addresses as the email gave them.
    recipients: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The Message-ID header (without angle brackets): what replies quote in In-Reply-To.
    message_id_header: Mapped[str] = mapped_column(String(998), default="", index=True)
