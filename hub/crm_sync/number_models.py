"""Tables of dynamic number insertion: a site's pool of tracking numbers and who held which.

A pool belongs to a channel whose script runs on the site (the widget): the script shows each
visitor a number of the pool for a while, so a call to that number is the visit's call. The
reservations are the history that attribution reads (``number_pool.attribution_for_call``):
rows are only ever added, and a live one only renewed (``last_seen_at``, ``expires_at``, the
page the visitor is on), never given to someone else, so a later audit can replay a decision.
Times the pool ran out are rows too (``number_pool_misses``), for the admin's usage figures.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, utcnow

#: E.164 is at most 15 digits and a plus; as the calls' own column, with room to spare.
NUMBER_LEN = 32


class NumberPool(Base):
    """One per site channel that uses number insertion; its row is locked while a number is
    picked, so two hub processes never hand out the same free number."""

    __tablename__ = "number_pools"

    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    #: Shown when every number is held (or to a page that cannot get one): the site's own.
    default_number: Mapped[str | None] = mapped_column(String(NUMBER_LEN), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PoolNumber(Base):
    """A number of a pool. A number is in one pool only: a call is attributed by it alone."""

    __tablename__ = "pool_numbers"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("number_pools.channel_id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str] = mapped_column(String(NUMBER_LEN), unique=True)
    #: The admin's note: the provider's line, the advert.
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NumberReservation(Base):
    """A number held for one visitor from ``reserved_at`` to ``expires_at`` (renewed while he
    stays), with the visit it records."""

    __tablename__ = "number_reservations"
    __table_args__ = (
        Index("ix_number_reservations_number_reserved_at", "number", "reserved_at"),
        Index("ix_number_reservations_channel_id_expires_at", "channel_id", "expires_at"),
        Index("ix_number_reservations_visitor_id_expires_at", "visitor_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    #: Kept as text, not only by id: a number taken out of the pool still attributes the calls
    #: of the visits that held it.
    number: Mapped[str] = mapped_column(String(NUMBER_LEN))
    pool_number_id: Mapped[int | None] = mapped_column(
        ForeignKey("pool_numbers.id", ondelete="SET NULL"), default=None
    )
    visitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("widget_visitors.id", ondelete="SET NULL"), default=None
    )
    #: The visitor's contact when the number was reserved or renewed (a visitor who never
    #: wrote has none; his visitor row may get one later, which attribution reads first).
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None
    )
    #: The UTM tags of the page that reserved the number.
    utm: Mapped[dict[str, Any]] = mapped_column(default=dict)
    referrer: Mapped[str | None] = mapped_column(String(2000), default=None)
    landing_page: Mapped[str | None] = mapped_column(String(2000), default=None)
    #: The page he was on when he last renewed it.
    page: Mapped[str | None] = mapped_column(String(2000), default=None)
    ttl_seconds: Mapped[int] = mapped_column()
    reserved_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class NumberPoolMiss(Base):
    """A visitor was shown the default number because every number of the pool was held."""

    __tablename__ = "number_pool_misses"
    __table_args__ = (Index("ix_number_pool_misses_channel_id_at", "channel_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    visitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("widget_visitors.id", ondelete="SET NULL"), default=None
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
