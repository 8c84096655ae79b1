"""The admin area's routes beside the operators' and teams' ones: a new password for an
operator, a team's name and members, and the company's working hours as the hub reads them.

Working hours and the time zone are settings of the process (``HUB_WORKING_HOURS``,
``HUB_TIMEZONE``), read by the widget, the reports and the call-back times alike: the admin
area shows them and says how to change them, it does not change them.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from hub.crm_sync.report_period import DAYS, parse_working_hours
from hub.db import utcnow
from hub.http import CTX, int_param, json, principal, read_json
from hub.http.openapi_build import OPERATOR, op, path_id
from hub.inbox import staff_edits
from hub.inbox.responses import TeamOut
from hub.inbox.schemas import Id, Strict
from hub.responses import Out
from hub.settings import Settings

routes = web.RouteTableDef()


class PasswordIn(Strict):
    password: str | None = Field(
        default=None,
        max_length=1000,
        description="The new password (at least 10 characters); left out, one is generated",
    )


class TeamPatch(Strict):
    name: str | None = Field(default=None, max_length=200)
    operator_ids: list[Id] | None = Field(
        default=None, max_length=1000, description="The team's members, all of them"
    )


class NewPasswordOut(Out):
    operator_id: int
    password: str | None = Field(
        description="The generated password, shown this once; null when the admin chose one"
    )
    sessions_ended: int = Field(description="His sessions that ended (logged out everywhere)")


class CompanyOpenSpanOut(Out):
    opens: str = Field(description="HH:MM, the company's time")
    closes: str


class CompanyDayOut(Out):
    day: str = Field(description="mon … sun")
    hours: list[CompanyOpenSpanOut]


class CompanyHoursOut(Out):
    timezone: str = Field(description="HUB_TIMEZONE")
    spec: str = Field(description="HUB_WORKING_HOURS as set; empty: the clock never stops")
    days: list[CompanyDayOut] = Field(description="Each weekday's hours; empty when unset")
    open_now: bool | None = Field(description="Null when no hours are set")
    settings: list[str] = Field(
        description="The settings (environment variables) that change them, on every process"
    )


@routes.post("/api/v1/operators/{operator_id}/password")
async def reset_password(request: web.Request) -> web.Response:
    who = await principal(request)
    operator_id = int_param(request, "operator_id")
    body = await read_json(request, PasswordIn)
    made = await staff_edits.reset_password(request.app[CTX], who, operator_id, body.password)
    return json(
        {
            "operator_id": made.operator_id,
            "password": made.password,
            "sessions_ended": made.sessions_ended,
        }
    )


@routes.patch("/api/v1/teams/{team_id}")
async def update_team(request: web.Request) -> web.Response:
    who = await principal(request)
    team_id = int_param(request, "team_id")
    body = await read_json(request, TeamPatch)
    data = await staff_edits.update_team(
        request.app[CTX], who, team_id, name=body.name, operator_ids=body.operator_ids
    )
    return json(data)


def _clock(seconds: int) -> str:
    return (
        time(seconds // 3600 % 24, seconds % 3600 // 60).strftime("%H:%M")
        if seconds < 86400
        else "24:00"
    )


def working_hours_view(settings: Settings) -> dict[str, Any]:
    """The hours as every reader of them sees them (the start refused hours that do not read)."""
    hours = parse_working_hours(settings.working_hours, settings.timezone)
    days = []
    if hours is not None:
        for name, spans in zip(DAYS, hours.days, strict=True):
            listed = [{"opens": _clock(a), "closes": _clock(b)} for a, b in sorted(spans)]
            days.append({"day": name, "hours": listed})
    return {
        "timezone": settings.timezone,
        "spec": settings.working_hours,
        "days": days,
        "open_now": None if hours is None else hours.is_open(utcnow()),
        "settings": ["HUB_WORKING_HOURS", "HUB_TIMEZONE"],
    }


@routes.get("/api/v1/working-hours")
async def working_hours(request: web.Request) -> web.Response:
    await principal(request)
    return json(working_hours_view(request.app[CTX].settings))


#: Its part of the OpenAPI document (merged in by ``hub.http.openapi``).
ADMIN_PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/operators/{operator_id}/password": {
        "post": op(
            "Give an operator a new password (admin): the one sent, or a generated one shown "
            "this once; every session he has ends at once (his sockets close with 4003)",
            body=PasswordIn,
            answer=NewPasswordOut,
            auth=OPERATOR,
            params=[path_id("operator_id")],
            errors=(400, 401, 403, 404, 413, 422),
        ),
    },
    "/api/v1/teams/{team_id}": {
        "patch": op(
            "Rename a team or set its members (admin); operators who join or leave see its "
            "conversations or stop seeing them at once (operator.updated)",
            body=TeamPatch,
            answer=TeamOut,
            auth=OPERATOR,
            params=[path_id("team_id")],
            errors=(400, 401, 403, 404, 409, 413, 422),
        ),
    },
    "/api/v1/working-hours": {
        "get": op(
            "The company's working hours and time zone as the hub reads them (the widget, the "
            "reports, call-back times). They are settings of the process: HUB_WORKING_HOURS "
            "and HUB_TIMEZONE, changed in its environment and applied on restart",
            answer=CompanyHoursOut,
            auth=OPERATOR,
            errors=(401,),
            db=True,
        ),
    },
}
ADMIN_MODELS: tuple[type[BaseModel], ...] = (
    PasswordIn,
    TeamPatch,
    NewPasswordOut,
    CompanyOpenSpanOut,
    CompanyDayOut,
    CompanyHoursOut,
)
