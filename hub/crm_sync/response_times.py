"""First response time: from a customer's first message in a conversation to the first reply
an operator sent after it.

The conversations are those started in the period (``conversations.created_at``); the clock
starts at the conversation's first ``incoming`` message and stops at its first ``outgoing``
message with an operator as sender at or after it. Internal notes and system activities do not
count, and neither do automatic messages without an operator. Conversations with no customer
message are left out; those not answered yet count as ``unanswered``. The reply's sender is the
operator the time counts for.

The write path keeps both times and the replier on the conversation (``first_incoming_at``,
``first_reply_at``, ``first_replier_id``; ``hub.crm_sync.report_columns`` computes the same
from the messages), so a period costs one range of ``ix_conversations_first_response``, whatever
the size of the messages table; per source, each conversation's lead is joined. The database
also computes the durations, their sums and the values at the median and 90th-percentile ranks
(window functions), so Python sees a few rows per group. With working hours configured the clock
runs only in those hours: then the pairs of timestamps are read and measured in Python, one row
per conversation of the period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from typing import Any

from sqlalchemy import func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from hub.crm_sync.models import Lead
from hub.crm_sync.report_period import Period, WorkingHours
from hub.crm_sync.report_sql import durations, round_div, seconds_between
from hub.inbox.models import Conversation

#: What the first-response figures can be grouped by.
GROUPS = ("all", "operator", "source")


def _answered(period: Period, group: str) -> Any:
    """One row per conversation of the period with a customer message: the first customer
    message's time, the first operator reply at or after it, and the group keys."""
    stmt = select(
        Conversation.first_incoming_at.label("t_in"), Conversation.first_reply_at.label("t_out")
    ).where(
        Conversation.created_at >= period.start,
        Conversation.created_at < period.end,
        Conversation.first_incoming_at.is_not(None),
    )
    if group == "operator":
        stmt = stmt.add_columns(Conversation.first_replier_id.label("key0"))
    elif group == "source":
        stmt = stmt.outerjoin(Lead, Lead.conversation_id == Conversation.id).add_columns(
            Lead.source_channel.label("key0"),
            Lead.utm_source.label("key1"),
            Lead.utm_campaign.label("key2"),
        )
    # Materialized: read once, however often the later steps refer to it.
    return stmt.cte("answered").prefix_with("MATERIALIZED")


def _key(row: Any, group: str) -> Hashable:
    if group == "operator":
        return int(row.key0) if row.key0 is not None else None
    if group == "source":
        return (row.key0, row.key1, row.key2)
    return None


def _figures(total: int, answered: int, seconds: int, ranks: dict[int, int]) -> dict[str, Any]:
    """The figures of one group from its counts and the values at the needed ranks."""

    def at(percent: int) -> int | None:
        return ranks.get(-(-percent * answered // 100)) if answered else None

    return {
        "conversations": total,
        "answered": answered,
        "unanswered": total - answered,
        "avg_seconds": round_div(seconds, answered),
        "median_seconds": at(50),
        "p90_seconds": at(90),
    }


async def _in_sql(
    session: AsyncSession, period: Period, group: str
) -> dict[Hashable, dict[str, Any]]:
    """Counts, sums and the values at the median and 90th-percentile ranks, per group, in one
    statement: only a few rows per group come back, however many conversations there are."""
    dialect = session.get_bind().dialect.name
    answered = _answered(period, group)
    keys = [c for c in answered.c if c.name.startswith("key")]
    seconds = seconds_between(answered.c.t_in, answered.c.t_out, dialect)
    measured = select(*keys, seconds.label("d")).cte("measured").prefix_with("MATERIALIZED")
    mkeys = [c for c in measured.c if c.name.startswith("key")]
    ranked = (
        select(
            *mkeys,
            measured.c.d,
            func.row_number().over(partition_by=mkeys, order_by=measured.c.d).label("rn"),
            # The same window (the whole partition as frame): one sort serves both.
            func.count()
            .over(partition_by=mkeys, order_by=measured.c.d, rows=(None, None))
            .label("n"),
        )
        .where(measured.c.d.is_not(None))
        .subquery("ranked")
    )
    rkeys = [c for c in ranked.c if c.name.startswith("key")]
    totals = select(
        *mkeys,
        literal(0).label("what"),
        func.count().label("a"),
        func.count(measured.c.d).label("b"),
        func.coalesce(func.sum(measured.c.d), 0).label("c"),
    ).group_by(*mkeys)
    n = ranked.c.n
    at_ranks = select(*rkeys, literal(1), ranked.c.d, ranked.c.rn, ranked.c.n).where(
        or_(ranked.c.rn == (n * 50 + 99) // 100, ranked.c.rn == (n * 90 + 99) // 100)
    )
    rows = (await session.execute(union_all(totals, at_ranks))).all()
    counts: dict[Hashable, tuple[int, int, int]] = {}
    ranks: dict[Hashable, dict[int, int]] = defaultdict(dict)
    for row in rows:
        key = _key(row, group)
        if row.what == 0:
            counts[key] = (int(row.a), int(row.b), int(row.c))
        else:
            ranks[key][int(row.b)] = int(row.a)
    return {key: _figures(*c, ranks[key]) for key, c in counts.items()}


async def first_response(
    session: AsyncSession,
    period: Period,
    *,
    group: str = "all",
    hours: WorkingHours | None = None,
) -> dict[Hashable, dict[str, Any]]:
    """Per group key (None, an operator id or a source triple): conversations, answered,
    unanswered, and the average, median and 90th percentile of the seconds."""
    assert group in GROUPS
    if hours is None:
        return await _in_sql(session, period, group)
    answered = _answered(period, group)
    keys = [c for c in answered.c if c.name.startswith("key")]
    hist: dict[Hashable, dict[int, int]] = defaultdict(dict)
    totals: dict[Hashable, int] = defaultdict(int)
    for row in await session.execute(select(answered.c.t_in, answered.c.t_out, *keys)):
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
