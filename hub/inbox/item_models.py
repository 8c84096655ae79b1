"""Tables of the timeline items that are more than text: a call and an email.

Each belongs to one message row (``message_id``), which places it in its conversation, says
who it came from (``kind``: incoming from the customer, outgoing from the company) and carries
the provider's id that makes a repeated webhook a no-op. Neither is ever sent out: the delivery
worker sends operator replies only, and a call or an email arrives from a channel already done.
"""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base


class CallDirection(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class CallStatus(enum.StrEnum):
    ANSWERED = "answered"
    MISSED = "missed"
    BUSY = "busy"


class CallItem(Base):
    """A phone call: numbers in E.164, how it ended, how long it lasted, its recording."""

    __tablename__ = "message_calls"

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
