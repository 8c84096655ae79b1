"""The pieces every report shares: exact durations in SQL, nearest-rank percentiles, money as
decimal strings, and reads tuned for reports.

Durations are whole seconds between timestamps truncated to the second, computed by the database
as integers on both backends (``strftime('%s')`` on SQLite, ``floor(extract(epoch))`` on
PostgreSQL), so both give identical figures. The database ranks them (``row_number()`` over
each group) and answers the values at the ranks wanted; ``nearest_rank`` does the same on a small
histogram in Python, where working hours are measured.

Percentiles use the **nearest-rank** method: the p-th percentile of n values sorted ascending is
the value at rank ``ceil(p / 100 * n)`` (1-based). The median is the 50th percentile, so for an
even n it is the lower of the two middle values; it is always a value that occurred.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Integer, cast, func, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from hub.context import HubContext

T = TypeVar("T")


async def report_read(ctx: HubContext, query: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """A read for a report. On PostgreSQL without JIT compilation: a report's statements look
    expensive to the planner, which then spends 100-150 ms compiling each one for a run of a few
    hundred milliseconds."""

    async def run(session: AsyncSession) -> T:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("SET LOCAL jit = off"))
        return await query(session)

    return await ctx.read(run)


def epoch_seconds(value: Any, dialect: str) -> ColumnElement[int]:
    """Whole seconds since 1970 of a stored timestamp, truncated, as an integer."""
    if dialect == "sqlite":
        return cast(func.strftime("%s", value), Integer)
    return cast(func.floor(func.extract("epoch", value)), BigInteger)


def seconds_between(start: Any, end: Any, dialect: str) -> ColumnElement[int]:
    return epoch_seconds(end, dialect) - epoch_seconds(start, dialect)


def nearest_rank(histogram: Iterable[tuple[int, int]], percent: int) -> int | None:
    """The ``percent``-th percentile of values given as (value, how many) pairs."""
    pairs = sorted((int(v), int(n)) for v, n in histogram if v is not None and n)
    total = sum(n for _, n in pairs)
    if total == 0:
        return None
    rank = -(-percent * total // 100)  # ceil, in integers
    seen = 0
    for value, n in pairs:
        seen += n
        if seen >= rank:
            return value
    return pairs[-1][0]


def round_div(total: int, n: int) -> int | None:
    """``total / n`` rounded to the nearest integer, halves away from zero; None for n = 0."""
    if n == 0:
        return None
    q = (abs(total) * 2 + n) // (2 * n)
    return q if total >= 0 else -q


def ratio(part: int, whole: int) -> float | None:
    """A share, rounded to 4 decimals (0.6667); None when there is nothing to divide."""
    return round(part / whole, 4) if whole else None


def money(amount_minor: int) -> str:
    """Kopecks as a decimal string in roubles: 15000000 -> "150000.00"."""
    sign = "-" if amount_minor < 0 else ""
    whole, cents = divmod(abs(amount_minor), 100)
    return f"{sign}{whole}.{cents:02d}"


def durations(histogram: list[tuple[int, int]]) -> dict[str, int | None]:
    """Count, average (rounded), median and 90th percentile of a histogram of seconds."""
    n = sum(c for _, c in histogram)
    total = sum(v * c for v, c in histogram)
    return {
        "count": n,
        "avg_seconds": round_div(total, n),
        "median_seconds": nearest_rank(histogram, 50),
        "p90_seconds": nearest_rank(histogram, 90),
    }
