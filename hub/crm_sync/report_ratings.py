"""Customers' ratings per operator for the operators' report (``/reports/operators``).

A rating counts in the period it was given (``created_at`` in ``[from, to)``), for the operator
it was credited to (``hub.inbox.rating_models``: the conversation's assignee, else whoever
resolved it); ratings of nobody's conversations are left out. Deals' pipelines play no part.
Read from the ratings' report index alone: ``average`` (rounded to two places) and ``count``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.crm_sync.report_period import Period
from hub.inbox.rating_models import ConversationRating


def empty_rating() -> dict[str, Any]:
    return {"average": None, "count": 0}


async def ratings_by_operator(session: AsyncSession, period: Period) -> dict[int, dict[str, Any]]:
    rows = await session.execute(
        select(
            ConversationRating.operator_id,
            func.count(),
            func.avg(ConversationRating.score),
        )
        .where(
            ConversationRating.created_at >= period.start,
            ConversationRating.created_at < period.end,
            ConversationRating.operator_id.is_not(None),
        )
        .group_by(ConversationRating.operator_id)
    )
    return {
        int(operator_id): {"average": round(float(average), 2), "count": int(count)}
        for operator_id, count, average in rows.all()
    }
