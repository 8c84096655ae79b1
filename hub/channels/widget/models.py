"""The widget's own table: a visitor is a browser that opened the widget on a site.

A visitor exists before he writes anything (the session is made when the page loads), so he has
no contact until his first message, callback request or contact form: page views alone never
fill the contact list. His token is stored only as a SHA-256.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, utcnow


class WidgetVisitor(Base):
    __tablename__ = "widget_visitors"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None, index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The site's own user id, once verified with identifier_hash.
    identifier: Mapped[str | None] = mapped_column(String(200), default=None)
    #: Name, email and phone the visitor gave before he had a contact.
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_touch: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_touch: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
