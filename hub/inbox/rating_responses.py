"""The JSON answer of a contact's ratings (conventions in ``hub.responses``; the dicts of
``hub.inbox.ratings``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from hub.responses import Out


class RatingOut(Out):
    id: int
    conversation_id: int
    resolution_id: int = Field(description="The activity of the resolve that was rated")
    score: int = Field(ge=1, le=5)
    comment: str
    operator_id: int | None = Field(
        description="Whom it counts for: the assignee, else the resolver"
    )
    operator_name: str | None
    created_at: datetime


class ContactRatingsOut(Out):
    count: int
    average: float | None = Field(description="To 2 places; null without ratings")
    items: list[RatingOut] = Field(description="Newest first, at most 200")
