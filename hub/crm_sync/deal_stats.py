"""Figures of the deals closed in a period, per group, in one statement.

One pass over the closed deals (``ix_deals_closed``) gives, per group key (none, the owner, the
source): won and lost counts, won sums per currency, and the deal lengths' count, sum and the
value at the median rank (nearest rank, by a window function), so only a few rows per group come
back whatever the number of deals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from hub.crm_sync.models import Deal, DealStatus
from hub.crm_sync.report_period import Period
from hub.crm_sync.report_sql import money, ratio, round_div, seconds_between

CLOSED = (DealStatus.WON.value, DealStatus.LOST.value)


def closed_in(period: Period, pipeline_id: int | None) -> list[Any]:
    where = [
        Deal.closed_at >= period.start,
        Deal.closed_at < period.end,
        Deal.status.in_(CLOSED),
    ]
    if pipeline_id is not None:
        where.append(Deal.pipeline_id == pipeline_id)
    return where


@dataclass
class ClosedStats:
    won: int = 0
    lost: int = 0
    won_sums: dict[str, int] = field(default_factory=dict)
    length_total: int = 0
    length_median: int | None = None

    def figures(self) -> dict[str, Any]:
        n = self.won + self.lost
        return {
            "deals_won": self.won,
            "deals_lost": self.lost,
            "win_rate": ratio(self.won, n),
            "won_amount": [
                {"currency": cur, "amount": money(total)}
                for cur, total in sorted(self.won_sums.items())
            ],
            "deal_length": {
                "count": n,
                "avg_seconds": round_div(self.length_total, n),
                "median_seconds": self.length_median,
            },
        }


async def closed_stats(
    session: AsyncSession, period: Period, pipeline_id: int | None, keys: list[Any]
) -> dict[Hashable, ClosedStats]:
    dialect = session.get_bind().dialect.name
    length = seconds_between(Deal.created_at, Deal.closed_at, dialect)
    labelled = [k.label(f"key{i}") for i, k in enumerate(keys)]
    closed = (
        select(*labelled, Deal.status, Deal.currency, Deal.amount_minor, length.label("d"))
        .where(*closed_in(period, pipeline_id))
        .cte("closed")
        .prefix_with("MATERIALIZED")
    )
    ckeys = [c for c in closed.c if c.name.startswith("key")]
    totals = select(
        *ckeys,
        literal(0).label("what"),
        closed.c.status,
        closed.c.currency,
        func.count().label("n"),
        func.sum(closed.c.amount_minor).label("amount"),
        func.sum(closed.c.d).label("total"),
    ).group_by(*ckeys, closed.c.status, closed.c.currency)
    ranked = select(
        *ckeys,
        closed.c.d,
        func.row_number().over(partition_by=ckeys, order_by=closed.c.d).label("rn"),
        # The same window (the whole partition as frame): one sort serves both.
        func.count().over(partition_by=ckeys, order_by=closed.c.d, rows=(None, None)).label("cnt"),
    ).subquery("ranked")
    rkeys = [c for c in ranked.c if c.name.startswith("key")]
    medians = select(
        *rkeys, literal(1), null(), null(), ranked.c.d, ranked.c.rn, ranked.c.cnt
    ).where(ranked.c.rn == (ranked.c.cnt * 50 + 99) // 100)
    out: dict[Hashable, ClosedStats] = defaultdict(ClosedStats)
    for row in await session.execute(union_all(totals, medians)):
        key: Hashable = None if not keys else row[0] if len(keys) == 1 else tuple(row[: len(keys)])
        stats = out[key]
        if row.what == 1:
            stats.length_median = int(row.n)
            continue
        n, amount, total = int(row.n), int(row.amount or 0), int(row.total or 0)
        stats.length_total += total
        if row.status == DealStatus.WON.value:
            stats.won += n
            stats.won_sums[row.currency] = stats.won_sums.get(row.currency, 0) + amount
        else:
            stats.lost += n
    return out
