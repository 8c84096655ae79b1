"""The admin area's routes beside the operators' and teams' ones: a new password for an
operator, a team's name and members. The company's working hours are ``hub.inbox.http.hours``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from hub.http import CTX, int_param, json, principal, read_json
from hub.http.openapi_build import OPERATOR, op, path_id
from hub.inbox import staff_edits
from hub.inbox.responses import TeamOut
from hub.inbox.schemas import Id, Strict
from hub.responses import Out

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
}
ADMIN_MODELS: tuple[type[BaseModel], ...] = (
    PasswordIn,
    TeamPatch,
    NewPasswordOut,
)
