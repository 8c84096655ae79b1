"""When to call back a customer who asked: his choice of time, made a task's due time.

He picks one of four (the widget's "call me back" form; any channel may take the same choice):
``asap``, ``today_after`` a time of day, ``tomorrow_morning``, or ``at`` a date and time. The
times he types are his own wall clock, in his time zone (his browser says which; the company's,
``ctx.company``, when it does not). The company's working hours (the same) decide
the other two: "as soon as possible" is now while the company is open, else its next opening;
"tomorrow morning" is its first opening on its next day or later (09:00 there without working
hours). A time already past means now; "at" more than a few minutes ago, or further ahead than
``AT_HORIZON``, is refused.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from hub.crm_sync.report_period import WorkingHours, parse_working_hours, zone
from hub.errors import InvalidInput

#: "Tomorrow morning" when the company has no working hours set.
MORNING = time(9, 0)
#: "At" may lie this far in the past (the form stayed open a while): it means now then.
AT_SLACK = timedelta(minutes=5)
AT_HORIZON = timedelta(days=60)


class Asap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["asap"]


class TodayAfter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["today_after"]
    #: ``HH:MM``, 24-hour, the customer's wall clock.
    time: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class TomorrowMorning(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["tomorrow_morning"]


class At(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["at"]
    #: ``YYYY-MM-DDTHH:MM`` (what an HTML ``datetime-local`` input gives), his wall clock.
    at: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d$")


PreferredTime = Annotated[Asap | TodayAfter | TomorrowMorning | At, Field(discriminator="kind")]


def next_opening(hours: WorkingHours, moment: datetime) -> datetime:
    """``moment`` while the company is open, else the start of its next open interval."""
    if hours.is_open(moment):
        return moment.astimezone(UTC)
    # A parsed spec always has an open interval; ``moment`` stands for the impossible None.
    return (hours.next_opening(moment) or moment).astimezone(UTC)


def _morning_after(day: date, hours: WorkingHours | None, company: ZoneInfo) -> datetime:
    midnight = datetime.combine(day, time(), tzinfo=company)
    if hours is None:
        return datetime.combine(day, MORNING, tzinfo=company).astimezone(UTC)
    return next_opening(hours, midnight)


def due_time(
    choice: Asap | TodayAfter | TomorrowMorning | At,
    *,
    customer_tz: str | None,
    company_tz: str,
    working_hours: str,
    now: datetime,
) -> datetime:
    """The moment (UTC) to call him back; ``InvalidInput`` for an "at" out of range."""
    company = zone(company_tz)
    hours = parse_working_hours(working_hours, company_tz)
    customer = zone(customer_tz) if customer_tz else company
    now = now.astimezone(UTC)
    if isinstance(choice, Asap):
        return next_opening(hours, now) if hours is not None else now
    if isinstance(choice, TomorrowMorning):
        tomorrow = now.astimezone(company).date() + timedelta(days=1)
        return _morning_after(tomorrow, hours, company)
    if isinstance(choice, TodayAfter):
        today = now.astimezone(customer).date()
        wanted = datetime.combine(today, time.fromisoformat(choice.time), tzinfo=customer)
        return max(wanted.astimezone(UTC), now)
    try:
        wanted = datetime.fromisoformat(choice.at).replace(tzinfo=customer).astimezone(UTC)
    except ValueError as exc:  # the pattern passed, the calendar did not (31 February)
        raise InvalidInput(f"{choice.at!r} is not a date and time", code="invalid_time") from exc
    if wanted < now - AT_SLACK:
        raise InvalidInput("the time asked for has passed", code="time_in_past")
    if wanted > now + AT_HORIZON:
        raise InvalidInput(
            f"a call back can be asked for at most {AT_HORIZON.days} days ahead",
            code="time_too_far",
        )
    return max(wanted, now)
