"""The table of customers' ratings: one per resolution of a conversation.

A resolution is the activity an operator's "resolve" wrote into the conversation; the customer
rates that one, once (``resolution_id`` is unique), so a conversation resolved, reopened and
resolved again may be rated again. The rating counts for the operator who had the
conversation: its assignee when it was rated, else whoever resolved it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, utcnow


class ConversationRating(Base):
    __tablename__ = "conversation_ratings"
    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        #: The operators' report: ratings of a period per operator, from this index alone.
        Index("ix_conversation_ratings_report", "created_at", "operator_id", "score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    resolution_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
