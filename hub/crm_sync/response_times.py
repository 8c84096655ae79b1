"""First response time: from a customer's first message in a conversation to the first reply
an operator sent after it.

The conversations are those started in the period (``conversations.created_at``); the clock
starts at the conversation's first ``incoming`` message and stops at its first ``outgoing``
message with an operator as sender at or after it. Internal notes and system activities do not
count, and neither do automatic messages without an operator. Conversations with no customer
message are left out; those not answered yet count as ``unanswered``. The reply's sender is the
operator the time counts for.

Each conversation costs one range of ``ix_messages_conv_kind_created`` (its own messages),
whatever the size of the messages table. The database also computes the durations, their sums
and the values at the median and 90th-percentile ranks (window functions), so Python sees a few
rows per group. With working hours configured the clock runs only in those hours: then the pairs
of timestamps are read and measured in Python, one row per conversation of the period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hub.crm_sync.models import Lead
from hub.crm_sync.report_period import Period, WorkingHours
from hub.crm_sync.report_sql import durations, round_div, seconds_between
from hub.inbox.models import Conversation, Message, MessageKind

#: What the first-response figures can be grouped by.
GROUPS = ("all", "operator", "source")


def _conversations(period: Period, group: str, *, first_in: bool = False) -> Any:
    """The conversations of the period, with their lead's source for the per-source report,
    and with ``first_in`` the time of their first customer message (one seek each)."""
    stmt = select(Conversation.id.label("conversation_id")).where(
        Conversation.created_at >= period.start, Conversation.created_at < period.end
    )
    if first_in:
        incoming = aliased(Message)
        t_in = (
            select(func.min(incoming.created_at))
            .where(
                incoming.conversation_id == Conversation.id,
                incoming.kind == MessageKind.INCOMING.value,
            )
            .correlate(Conversation)
            .scalar_subquery()
        )
        stmt = stmt.add_columns(t_in.label("t_in"))
    if group == "source":
        stmt = stmt.outerjoin(Lead, Lead.conversation_id == Conversation.id).add_columns(
            Lead.source_channel.label("key0"),
            Lead.utm_source.label("key1"),
            Lead.utm_campaign.label("key2"),
        )
    # Materialized: read once, however often the later steps refer to it.
    return stmt.cte("conv").prefix_with("MATERIALIZED")


def _answered(period: Period, group: str, dialect: str) -> Any:
    """One row per conversation with a customer message: the first customer message's time,
    the first operator reply at or after it, and the group keys.

    The two backends get the plan each runs fastest (measured with ``bench.reports``), with
    the same answer: SQLite reads each conversation's messages once; PostgreSQL seeks the first
    customer message and the first reply after it (it would hash-aggregate the one pass).
    """
    if dialect == "sqlite":
        return _answered_in_one_pass(period, group)
    return _answered_by_seeks(period, group)


def _answered_by_seeks(period: Period, group: str) -> Any:
    conv = _conversations(period, group, first_in=True)
    reply = aliased(Message)
    replies = select(reply.created_at).where(
        reply.conversation_id == conv.c.conversation_id,
        reply.kind == MessageKind.OUTGOING.value,
        reply.sender_operator_id.is_not(None),
        reply.created_at >= conv.c.t_in,
    )
    # The first one in the index's order, not min(): min() would read every later reply.
    t_out = replies.order_by(reply.created_at).limit(1).correlate(conv).scalar_subquery()
    keys: list[Any] = [c for c in conv.c if c.name.startswith("key")]
    if group == "operator":
        replier = (
            replies.with_only_columns(reply.sender_operator_id)
            .order_by(reply.created_at, reply.id)
            .limit(1)
            .correlate(conv)
            .scalar_subquery()
        )
        keys = [replier.label("key0")]
    return (
        select(conv.c.t_in, t_out.label("t_out"), *keys)
        .where(conv.c.t_in.is_not(None))
        .cte("answered")
        .prefix_with("MATERIALIZED")
    )


def _answered_in_one_pass(period: Period, group: str) -> Any:
    """One pass over each conversation's entries of ``ix_messages_conv_kind_created`` gives its
    first customer message and its first operator reply; only when that reply came before the
    customer wrote (the operator wrote first) is the first reply after it sought again.
    """
    conv = _conversations(period, group)
    operator_reply = and_(
        Message.kind == MessageKind.OUTGOING.value, Message.sender_operator_id.is_not(None)
    )
    firsts = (
        select(
            Message.conversation_id.label("cid"),
            func.min(case((Message.kind == MessageKind.INCOMING.value, Message.created_at))).label(
                "t_in"
            ),
            func.min(case((operator_reply, Message.created_at))).label("first_out"),
        )
        .where(
            Message.conversation_id.in_(select(conv.c.conversation_id)),
            Message.kind.in_((MessageKind.INCOMING.value, MessageKind.OUTGOING.value)),
        )
        .group_by(Message.conversation_id)
        .cte("firsts")
        .prefix_with("MATERIALIZED")
    )
    reply = aliased(Message)
    replies = select(reply.created_at).where(
        reply.conversation_id == firsts.c.cid,
        reply.kind == MessageKind.OUTGOING.value,
        reply.sender_operator_id.is_not(None),
        reply.created_at >= firsts.c.t_in,
    )
    later = replies.order_by(reply.created_at).limit(1).correlate(firsts).scalar_subquery()
    t_out = case(
        (firsts.c.first_out.is_(None), None),
        (firsts.c.first_out >= firsts.c.t_in, firsts.c.first_out),
        else_=later,
    )
    keys: list[Any] = []
    stmt = select(firsts.c.t_in, t_out.label("t_out")).where(firsts.c.t_in.is_not(None))
    if group == "operator":
        replier = (
            replies.with_only_columns(reply.sender_operator_id)
            .order_by(reply.created_at, reply.id)
            .limit(1)
            .correlate(firsts)
            .scalar_subquery()
        )
        keys = [replier.label("key0")]
    elif group == "source":
        stmt = stmt.join(conv, conv.c.conversation_id == firsts.c.cid)
        keys = [c for c in conv.c if c.name.startswith("key")]
    return stmt.add_columns(*keys).cte("answered").prefix_with("MATERIALIZED")


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
    answered = _answered(period, group, dialect)
    keys = [c for c in answered.c if c.name.startswith("key")]
    seconds = seconds_between(answered.c.t_in, answered.c.t_out, dialect)
    measured = select(*keys, seconds.label("d")).cte("measured").prefix_with("MATERIALIZED")
    mkeys = [c for c in measured.c if c.name.startswith("key")]
    ranked = (
        select(
            *mkeys,
            measured.c.d,
            func.row_number().over(partition_by=mkeys, order_by=measured.c.d).label("rn"),
            func.count().over(partition_by=mkeys).label("n"),
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
    answered = _answered(period, group, session.get_bind().dialect.name)
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
