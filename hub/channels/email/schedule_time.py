"""When a scheduled email goes: the operator's date and time, read in a time zone.

An operator picks a wall-clock time (``YYYY-MM-DDTHH:MM``, what an HTML ``datetime-local``
input gives) in the company's time zone (``ctx.company``) unless he names another; a time with
an offset (``…Z``, ``…+03:00``) is that moment whatever the zone. A time that has passed is
refused, not sent at once: the operator meant a moment that is gone, and should say again
when. So is one more than ``MAX_AHEAD`` away, a typo of the year more likely than a plan.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.crm_sync.report_period import zone
from hub.errors import InvalidInput

MAX_AHEAD = timedelta(days=366)


def send_time(raw: str, time_zone: str, now: datetime) -> datetime:
    """The UTC moment of ``raw`` read in ``time_zone``; ``InvalidInput`` when it cannot be
    read, has passed, or is too far ahead."""
    tz = zone(time_zone)
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(
            f"{raw!r} is not a date and time (YYYY-MM-DDTHH:MM)", code="invalid_send_at"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    moment = value.astimezone(UTC).replace(microsecond=0)
    if moment <= now:
        raise InvalidInput("the time to send at has passed", code="send_at_in_past")
    if moment > now + MAX_AHEAD:
        raise InvalidInput(
            f"an email can be scheduled at most {MAX_AHEAD.days} days ahead",
            code="send_at_too_far",
        )
    return moment


def wall_clock(moment: datetime, time_zone: str) -> str:
    """``moment`` as the clock in ``time_zone`` shows it: ``YYYY-MM-DDTHH:MM``."""
    return moment.astimezone(zone(time_zone)).strftime("%Y-%m-%dT%H:%M")
