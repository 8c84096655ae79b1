"""The period a report covers, and the company's working hours, read from what people type.

A period is half-open, ``[from, to)``, in UTC. ``from`` and ``to`` are ISO dates or datetimes:
a date is a day of the company's time zone (``ctx.company``), and a ``to`` date includes that
whole day; a datetime without an offset is in that zone too. With neither, the last 30 days.

Working hours (``HUB_WORKING_HOURS``, and the stored ones) are groups like
``mon-fri 09:00-18:00`` separated by ``;`` (``mon-fri 09:00-18:00; sat 10:00-14:00``); unset
means the clock never stops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.errors import InvalidInput

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_GROUP = re.compile(
    r"^\s*(?P<d1>[a-z]{3})(?:\s*-\s*(?P<d2>[a-z]{3}))?\s+"
    r"(?P<h1>\d{1,2}):(?P<m1>\d{2})\s*-\s*(?P<h2>\d{1,2}):(?P<m2>\d{2})\s*$"
)


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime

    def to_dict(self) -> dict[str, str]:
        return {"from": _iso(self.start), "to": _iso(self.end)}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {name!r}", code="invalid_timezone") from exc


def _moment(raw: str, tz: ZoneInfo, *, is_end: bool, what: str) -> datetime:
    raw = raw.strip()
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            if is_end:
                day += timedelta(days=1)
            return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput(
            f"{what} must be an ISO date (2026-11-01) or datetime (2026-11-01T09:00:00+03:00)",
            code="invalid_period",
        ) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def parse_period(
    raw_from: str | None, raw_to: str | None, tz_name: str, *, now: datetime
) -> Period:
    tz = zone(tz_name)
    end = _moment(raw_to, tz, is_end=True, what="to") if raw_to else now
    start = (
        _moment(raw_from, tz, is_end=False, what="from")
        if raw_from
        else end - timedelta(days=DEFAULT_DAYS)
    )
    if start >= end:
        raise InvalidInput("from must be before to", code="invalid_period")
    if end - start > timedelta(days=MAX_DAYS):
        raise InvalidInput(f"a period is at most {MAX_DAYS} days", code="invalid_period")
    return Period(start, end)


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """Per weekday (0 = Monday), the open intervals as seconds after local midnight."""

    tz: ZoneInfo
    days: tuple[tuple[tuple[int, int], ...], ...]

    def seconds_between(self, start: datetime, end: datetime) -> int:
        """Working seconds in ``[start, end)``, counted in the company's time zone."""
        if end <= start:
            return 0
        local_start, local_end = start.astimezone(self.tz), end.astimezone(self.tz)
        total = 0.0
        day = local_start.date()
        while day <= local_end.date():
            midnight = datetime.combine(day, time(), tzinfo=self.tz)
            for open_s, close_s in self.days[day.weekday()]:
                a = max(local_start, midnight + timedelta(seconds=open_s))
                b = min(local_end, midnight + timedelta(seconds=close_s))
                if b > a:
                    total += (b - a).total_seconds()
            day += timedelta(days=1)
        return int(total)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.tz)
        second = local.hour * 3600 + local.minute * 60 + local.second
        return any(a <= second < b for a, b in self.days[local.weekday()])

    def next_opening(self, after: datetime) -> datetime | None:
        """The next time the company opens after ``after``, in its own zone; None when no
        day has hours (never, as parsed specs have some)."""
        local = after.astimezone(self.tz)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            midnight = datetime.combine(day, time(), tzinfo=self.tz)
            for open_s, _close_s in sorted(self.days[day.weekday()]):
                start = midnight + timedelta(seconds=open_s)
                if start > local:
                    return start
        return None


def parse_working_hours(spec: str, tz_name: str) -> WorkingHours | None:
    """``None`` when unset; ``InvalidInput`` for a spec that does not read as above."""
    if not spec.strip():
        return None
    days: list[list[tuple[int, int]]] = [[] for _ in DAYS]
    for group in spec.lower().split(";"):
        m = _GROUP.match(group)
        if m is None or m["d1"] not in DAYS or (m["d2"] and m["d2"] not in DAYS):
            raise InvalidInput(
                f"working hours {group.strip()!r} do not read like 'mon-fri 09:00-18:00'",
                code="invalid_working_hours",
            )
        first = DAYS.index(m["d1"])
        last = DAYS.index(m["d2"]) if m["d2"] else first
        open_s = int(m["h1"]) * 3600 + int(m["m1"]) * 60
        close_s = int(m["h2"]) * 3600 + int(m["m2"]) * 60
        if not 0 <= open_s < close_s <= 24 * 3600 or int(m["m1"]) > 59 or int(m["m2"]) > 59:
            raise InvalidInput(f"bad hours in {group.strip()!r}", code="invalid_working_hours")
        weekday = first
        while True:
            days[weekday].append((open_s, close_s))
            if weekday == last:
                break
            weekday = (weekday + 1) % 7
    return WorkingHours(zone(tz_name), tuple(tuple(d) for d in days))
