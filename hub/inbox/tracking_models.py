"""Tables of email-open and click tracking: which sent email a pixel or link token belongs to,
and every hit on them with the verdict it got.

A tracked email has one ``EmailTracking`` row: its unguessable token (the only thing in the
pixel's and links' addresses), the links of its HTML part in order (a click names a link by
its place, so the hub only ever redirects to a link it stored) and when it was sent (what the
"too soon after sending to be a person" rule measures from). Each request for the pixel or a
link is an ``EmailTrackingEvent``: time, address, user agent, method, the link, and the
classifier's verdict (human, machine, unknown) with its reason in words.

The summaries ("opened twice · 1 click") are read from ``EmailTrackingCount``: one row per
email, kind and verdict, added to in the same statement batch that stores the events, so it
always agrees with them. Counting the events on every read instead cost a scan of all an
email's hits for each batch of new ones (70 ms at 40,000 hits on SQLite), which grew with every
open; a count row is one look-up whatever the email's history.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, JSONType


class HitKind(enum.StrEnum):
    OPEN = "open"
    CLICK = "click"


class Verdict(enum.StrEnum):
    HUMAN = "human"
    MACHINE = "machine"
    UNKNOWN = "unknown"


class EmailTracking(Base):
    """A sent email whose opens and clicks are tracked."""

    __tablename__ = "email_tracking"

    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    #: The HTML part's links, in order: a click token carries a place in this list.
    links: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: When the hub handed the email to its SMTP server (the last attempt's time).
    sent_at: Mapped[datetime]


class EmailTrackingEvent(Base):
    """One request for a tracked email's pixel or one of its links."""

    __tablename__ = "email_tracking_events"
    __table_args__ = (Index("ix_email_tracking_events_message_kind", "message_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("email_tracking.message_id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime]
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(500), default="")
    method: Mapped[str] = mapped_column(String(8), default="GET")
    #: The link followed (a click); null for an open.
    link: Mapped[str | None] = mapped_column(Text, default=None)
    verdict: Mapped[str] = mapped_column(String(8))
    #: Why, in words: "Apple Mail Privacy Protection prefetch (Apple's proxy address)".
    reason: Mapped[str] = mapped_column(String(200), default="")
    #: The mail client or machine named by the reason ("Apple Mail", "Outlook", "Gmail").
    client: Mapped[str] = mapped_column(String(60), default="")


class EmailTrackingCount(Base):
    """How many hits of one kind and verdict a tracked email has had, first and last."""

    __tablename__ = "email_tracking_counts"

    message_id: Mapped[int] = mapped_column(
        ForeignKey("email_tracking.message_id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(8), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    #: The greatest client name among the hits, as ``max(client)`` over them would give.
    client: Mapped[str] = mapped_column(String(60), default="")


def summary_fields() -> dict[str, Any]:
    """An untracked-yet summary: what ``tracking_view.summary`` starts from."""
    return {
        "opens": 0,
        "clicks": 0,
        "first_opened_at": None,
        "last_opened_at": None,
        "machine_opens": 0,
        "machine_clicks": 0,
        "machine_client": None,
        "unknown": 0,
    }
