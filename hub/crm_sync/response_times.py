"""First response time: from a customer's first message in a conversation to the first reply
an operator sent after it.

The conversations are those started in the period (``conversations.created_at``); the clock
starts at the conversation's first ``incoming`` message and stops at its first ``outgoing``
message with an operator as sender at or after it. Internal notes and system activities do not
count, and neither do automatic messages without an operator. Conversations with no customer
message are left out; those not answered yet count as ``unanswered``. The reply's sender is the
operator the time counts for.

Each conversation costs two index seeks (``ix_messages_conv_kind_created``), whatever the size of
the messages table; the database groups the durations, so Python sees one row per distinct
(group, seconds) pair. With working hours configured the clock runs only in those hours: then
the pairs of timestamps are read and measured in Python, one row per answered conversation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hub.crm_sync.models import Lead
from hub.crm_sync.report_period import Period, WorkingHours
from hub.crm_sync.report_sql import durations, seconds_between
from hub.inbox.models import Conversation, Message, MessageKind

#: What the first-response figures can be grouped by.
GROUPS = ("all", "operator", "source")


def _base(period: Period, group: str) -> Any:
    """One row per conversation: its first incoming message time, reply time and replier."""
    first_in = aliased(Message)
    reply = aliased(Message)
    t_in = (
        select(func.min(first_in.created_at))
        .where(
            first_in.conversation_id == Conversation.id,
            first_in.kind == MessageKind.INCOMING.value,
        )
        .correlate(Conversation)
        .scalar_subquery()
    )
    columns: list[Any] = [Conversation.id.label("conversation_id"), t_in.label("t_in")]
    stmt = select(*columns).where(
        Conversation.created_at >= period.start, Conversation.created_at < period.end
    )
    if group == "source":
        stmt = stmt.outerjoin(Lead, Lead.conversation_id == Conversation.id).add_columns(
            Lead.source_channel, Lead.utm_source, Lead.utm_campaign
        )
    conv = stmt.subquery("conv")
    replies = (
        select(reply.created_at, reply.sender_operator_id)
        .where(
            reply.conversation_id == conv.c.conversation_id,
            reply.kind == MessageKind.OUTGOING.value,
            reply.sender_operator_id.is_not(None),
            reply.created_at >= conv.c.t_in,
        )
        .order_by(reply.created_at, reply.id)
        .limit(1)
        .correlate(conv)
    )
    t_out = replies.with_only_columns(reply.created_at).scalar_subquery()
    keys: list[Any] = []
    if group == "operator":
        keys = [replies.with_only_columns(reply.sender_operator_id).scalar_subquery().label("key0")]
    elif group == "source":
        keys = [
            conv.c.source_channel.label("key0"),
            conv.c.utm_source.label("key1"),
            conv.c.utm_campaign.label("key2"),
        ]
    return (
        select(conv.c.t_in, t_out.label("t_out"), *keys)
        .where(conv.c.t_in.is_not(None))
        .subquery("answered")
    )


def _key(row: Any, group: str) -> Hashable:
    if group == "operator":
        return int(row.key0) if row.key0 is not None else None
    if group == "source":
        return (row.key0, row.key1, row.key2)
    return None


async def first_response(
    session: AsyncSession,
    period: Period,
    *,
    group: str = "all",
    hours: WorkingHours | None = None,
) -> dict[Hashable, dict[str, Any]]:
    """Per group key (None, an operator id or a source triple): conversations, answered,
    unanswered, and the count, average, median and 90th percentile of the seconds."""
    assert group in GROUPS
    dialect = session.get_bind().dialect.name
    base = _base(period, group)
    key_cols = [c for c in base.c if c.name.startswith("key")]
    hist: dict[Hashable, dict[int, int]] = defaultdict(dict)
    totals: dict[Hashable, int] = defaultdict(int)
    if hours is None:
        seconds = seconds_between(base.c.t_in, base.c.t_out, dialect)
        measured = select(*key_cols, seconds.label("s")).subquery("measured")
        keys = [c for c in measured.c if c.name.startswith("key")]
        rows = await session.execute(
            select(*keys, measured.c.s, func.count().label("n")).group_by(*keys, measured.c.s)
        )
        for row in rows:
            key = _key(row, group)
            totals[key] += row.n
            if row.s is not None:
                hist[key][row.s] = hist[key].get(row.s, 0) + row.n
    else:
        rows = await session.execute(select(base.c.t_in, base.c.t_out, *key_cols))
        for row in rows:
            key = _key(row, group)
            totals[key] += 1
            if row.t_out is not None:
                s = hours.seconds_between(
                    row.t_in.replace(microsecond=0), row.t_out.replace(microsecond=0)
                )
                hist[key][s] = hist[key].get(s, 0) + 1
    out: dict[Hashable, dict[str, Any]] = {}
    for key, total in totals.items():
        figures = durations(sorted(hist[key].items()))
        out[key] = {
            "conversations": total,
            "answered": figures["count"],
            "unanswered": total - int(figures["count"] or 0),
            "avg_seconds": figures["avg_seconds"],
            "median_seconds": figures["median_seconds"],
            "p90_seconds": figures["p90_seconds"],
        }
    return out


def empty_first_response() -> dict[str, Any]:
    return {
        "conversations": 0,
        "answered": 0,
        "unanswered": 0,
        "avg_seconds": None,
        "median_seconds": None,
        "p90_seconds": None,
    }
