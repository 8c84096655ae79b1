"""The company's working hours and time zone: every operator reads them, an admin sets them.

``GET /api/v1/working-hours`` is the hours as every reader uses them (the widget, the reports,
the router's off-hours queue, call-back times, scheduled emails' default zone);
``GET`` and ``PUT /api/v1/settings/working-hours`` are the admin area's form. A saved value
applies at once on every process (``hub.inbox.working_hours``); until an admin saves,
``HUB_TIMEZONE`` and ``HUB_WORKING_HOURS`` are used.
"""

from __future__ import annotations

import functools
import itertools
import re
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from aiohttp import web
from pydantic import BaseModel, Field, field_validator, model_validator

from hub.crm_sync.report_period import DAYS
from hub.http import CTX, json, principal, read_json
from hub.http.openapi_build import OPERATOR, op
from hub.inbox.schemas import Strict
from hub.inbox.staff import require_admin
from hub.inbox.working_hours import hours_view, save_working_hours
from hub.responses import Out

routes = web.RouteTableDef()
_CLOCK = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _seconds(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 3600 + int(minutes) * 60


class OpenSpanIn(Strict):
    opens: str = Field(description="HH:MM, the company's time", examples=["09:00"])
    closes: str = Field(description="HH:MM after opens; 24:00 is midnight", examples=["18:00"])

    @field_validator("opens", "closes")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError("a time is HH:MM, 00:00 to 24:00")
        return value

    @model_validator(mode="after")
    def _order(self) -> OpenSpanIn:
        if _seconds(self.opens) >= _seconds(self.closes):
            raise ValueError(f"{self.opens}-{self.closes}: a day's hours close after they open")
        return self


class DayIn(Strict):
    day: Weekday
    hours: list[OpenSpanIn] = Field(
        max_length=6, description="The day's open intervals, not overlapping; empty: closed"
    )

    @model_validator(mode="after")
    def _apart(self) -> DayIn:
        spans = sorted((_seconds(s.opens), _seconds(s.closes)) for s in self.hours)
        for (_a1, b1), (a2, _b2) in itertools.pairwise(spans):
            if a2 < b1:
                raise ValueError(f"{self.day}: its hours overlap")
        return self


class WorkingHoursIn(Strict):
    timezone: str = Field(
        max_length=64, description="An IANA time zone", examples=["Europe/Moscow"]
    )
    days: list[DayIn] = Field(
        max_length=7,
        description="Every weekday once, each open or closed (at least one day open); empty: "
        "no working hours, the company answers any time",
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone (Europe/Moscow)") from exc
        if value not in _zones():
            raise ValueError(f"{value!r} is not an IANA time zone (Europe/Moscow)")
        return value

    @model_validator(mode="after")
    def _week(self) -> WorkingHoursIn:
        if not self.days:
            return self
        if sorted(DAYS.index(d.day) for d in self.days) != list(range(7)):
            raise ValueError("days: every weekday once, mon to sun (or none for any time)")
        if not any(d.hours for d in self.days):
            raise ValueError("days: at least one day is open (or send none for any time)")
        return self

    def spans(self) -> list[list[tuple[int, int]]]:
        """The seven weekdays' intervals in seconds, Monday first (all empty: none set)."""
        week: list[list[tuple[int, int]]] = [[] for _ in DAYS]
        for d in self.days:
            week[DAYS.index(d.day)] = [(_seconds(s.opens), _seconds(s.closes)) for s in d.hours]
        return week


class CompanyOpenSpanOut(Out):
    opens: str = Field(description="HH:MM, the company's time")
    closes: str = Field(description="HH:MM; 24:00 is midnight")


class CompanyDayOut(Out):
    day: Weekday
    hours: list[CompanyOpenSpanOut] = Field(description="Empty: closed that day")


class CompanyHoursOut(Out):
    timezone: str = Field(description="The company's IANA time zone")
    spec: str = Field(
        description="The hours as HUB_WORKING_HOURS would read them; empty: the clock never stops"
    )
    days: list[CompanyDayOut] = Field(description="Each weekday's hours; empty when none are set")
    open_now: bool | None = Field(description="Null when no hours are set")
    source: Literal["admin", "environment"] = Field(
        description="admin: saved in the admin area; environment: HUB_WORKING_HOURS and "
        "HUB_TIMEZONE, used until an admin saves"
    )
    settings: list[str] = Field(description="The environment variables that give the defaults")


@routes.get("/api/v1/working-hours")
async def working_hours(request: web.Request) -> web.Response:
    await principal(request)
    return json(hours_view(request.app[CTX].company))


@routes.get("/api/v1/settings/working-hours")
async def working_hours_settings(request: web.Request) -> web.Response:
    require_admin(await principal(request))
    return json(hours_view(request.app[CTX].company))


@routes.put("/api/v1/settings/working-hours")
async def save_hours(request: web.Request) -> web.Response:
    who = await principal(request)
    require_admin(who)
    body = await read_json(request, WorkingHoursIn)
    return json(await save_working_hours(request.app[CTX], who, body.timezone, body.spans()))


_SAVED = (
    "Every reader uses them at once, on every process: the widget's ready frame and session, "
    "report periods and first response times, the router's off-hours queue, call-back times, "
    "scheduled emails' default zone and GET /api/v1/locale"
)
#: Its part of the OpenAPI document (merged in by ``hub.http.openapi``).
HOURS_PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/working-hours": {
        "get": op(
            "The company's working hours and time zone as the hub uses them (the widget, the "
            "reports, call-back times): an admin's saved ones, else HUB_WORKING_HOURS and "
            "HUB_TIMEZONE",
            answer=CompanyHoursOut,
            auth=OPERATOR,
            errors=(401,),
        ),
    },
    "/api/v1/settings/working-hours": {
        "get": op(
            "The company's working hours and time zone, for the admin area's form (admin)",
            answer=CompanyHoursOut,
            auth=OPERATOR,
            errors=(401, 403),
        ),
        "put": op(
            "Set the company's time zone and working hours (admin); nothing changes on a 422. "
            + _SAVED
            + " (working_hours.updated)",
            body=WorkingHoursIn,
            answer=CompanyHoursOut,
            auth=OPERATOR,
            errors=(400, 401, 403, 413, 422),
        ),
    },
}
HOURS_MODELS: tuple[type[BaseModel], ...] = (
    OpenSpanIn,
    DayIn,
    WorkingHoursIn,
    CompanyOpenSpanOut,
    CompanyDayOut,
    CompanyHoursOut,
)
