"""The Telegram channel's tables: the bot behind each channel, and the updates it received.

The bot token is kept here, not in the channel's ``config`` (which admins read back), and is
never serialised. Each update is stored by ``(channel_id, update_id)`` before it is applied and
acknowledged, so a redelivered update changes nothing and one that failed half-way is applied
again when Telegram redelivers it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, utcnow


class TelegramBot(Base):
    __tablename__ = "telegram_bots"

    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(200))
    #: One channel per bot: a second webhook would silently take the first one's updates.
    bot_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    username: Mapped[str] = mapped_column(String(100))
    #: Long polling: the process that polls this bot now, until when, and the next update id.
    poll_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    poll_lease_until: Mapped[datetime | None] = mapped_column(default=None)
    poll_offset: Mapped[int] = mapped_column(BigInteger, default=0)


class TelegramUpdate(Base):
    __tablename__ = "telegram_updates"
    __table_args__ = (UniqueConstraint("channel_id", "update_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    update_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set once the update is applied (or found to need nothing); unset, a redelivery retries it.
    processed_at: Mapped[datetime | None] = mapped_column(default=None)
    #: Why an update could not be applied (it is not retried).
    error: Mapped[str | None] = mapped_column(Text, default=None)
