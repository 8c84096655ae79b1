"""Tracked emails per operator (``/reports/email-tracking``): how many he sent in the period,
how many a person opened and clicked, and, apart, how many only machines opened.

An email counts in the period it was sent (``email_tracking.sent_at`` in ``[from, to)``) for
the operator who sent it. "Opened" means at least one hit judged human (``tracking_view``):
Apple's prefetch, image proxies and scanners never make an email opened here; an email that
only machines loaded is counted in ``machine_only``, and every machine load in
``machine_opens``. Rates are of the emails sent, to 3 places; null when he sent none.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync.report_period import Period
from hub.inbox.auth import Principal
from hub.inbox.models import Message, Operator
from hub.inbox.tracking_models import EmailTracking
from hub.inbox.tracking_view import summaries_of


def _row(operator_id: int, name: str) -> dict[str, Any]:
    return {
        "operator_id": operator_id,
        "operator_name": name,
        "sent": 0,
        "opened": 0,
        "clicked": 0,
        "open_rate": None,
        "click_rate": None,
        "machine_only": 0,
        "machine_opens": 0,
    }


async def by_operator(
    ctx: HubContext, actor: Principal, period: Period, pipeline_id: int | None
) -> dict[str, Any]:
    """The report; deals' pipelines play no part (``pipeline_id`` is accepted and ignored, as
    the other reports' parameters are shared)."""

    async def query(session: AsyncSession) -> dict[str, Any]:
        sent = (
            await session.execute(
                select(EmailTracking.message_id, Message.sender_operator_id, Operator.name)
                .join(Message, Message.id == EmailTracking.message_id)
                .join(Operator, Operator.id == Message.sender_operator_id)
                .where(EmailTracking.sent_at >= period.start, EmailTracking.sent_at < period.end)
            )
        ).all()
        summaries = await summaries_of(session, [message_id for message_id, _, _ in sent])
        rows: dict[int, dict[str, Any]] = {}
        for message_id, operator_id, name in sent:
            if operator_id is None:  # the join on Operator keeps only senders; for the types
                continue
            row = rows.setdefault(operator_id, _row(operator_id, name))
            summary = summaries.get(message_id) or {}
            row["sent"] += 1
            row["opened"] += summary.get("opens", 0) > 0
            row["clicked"] += summary.get("clicks", 0) > 0
            machine = summary.get("machine_opens", 0)
            row["machine_opens"] += machine
            row["machine_only"] += machine > 0 and summary.get("opens", 0) == 0
        for row in rows.values():
            row["open_rate"] = round(row["opened"] / row["sent"], 3)
            row["click_rate"] = round(row["clicked"] / row["sent"], 3)
        items = sorted(rows.values(), key=lambda r: (-r["sent"], r["operator_name"]))
        return {"period": period.to_dict(), "items": items}

    return await ctx.read(query)
