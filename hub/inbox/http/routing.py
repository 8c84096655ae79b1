"""Automatic assignment's routes: a team's rules (``/api/v1/teams/{team_id}/routing``), an
operator's away (``/api/v1/me/availability``) and the acceptance of an offer."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from hub.http import CTX, PRESENCE, int_param, json, principal, read_json
from hub.http.openapi_build import OPERATOR, op, path_id
from hub.inbox import routing
from hub.inbox.routing_io import (
    AcceptedOut,
    AvailabilityIn,
    AvailabilityOut,
    MemberCapacityIn,
    TeamRoutingOut,
    TeamRoutingPatch,
)

routes = web.RouteTableDef()


async def _online(request: web.Request) -> frozenset[int]:
    return (await request.app[PRESENCE].online()).operator_ids


@routes.get("/api/v1/teams/{team_id}/routing")
async def get_team_routing(request: web.Request) -> web.Response:
    who = await principal(request)
    team_id = int_param(request, "team_id")
    ctx = request.app[CTX]
    return json(await routing.team_routing(ctx, who, team_id, await _online(request)))


@routes.patch("/api/v1/teams/{team_id}/routing")
async def patch_team_routing(request: web.Request) -> web.Response:
    who = await principal(request)
    team_id = int_param(request, "team_id")
    body = await read_json(request, TeamRoutingPatch)
    change = routing.RoutingChange(
        enabled=body.enabled,
        capacity=body.capacity,
        accept_timeout_s=body.accept_timeout_s,
        members=None if body.members is None else {m.operator_id: m.capacity for m in body.members},
    )
    data = await routing.update_team_routing(
        request.app[CTX], who, team_id, change, await _online(request)
    )
    return json(data)


@routes.get("/api/v1/me/availability")
async def get_availability(request: web.Request) -> web.Response:
    who = await principal(request)
    return json(await routing.availability(request.app[CTX], who))


@routes.put("/api/v1/me/availability")
async def put_availability(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_json(request, AvailabilityIn)
    return json(await routing.set_away(request.app[CTX], who, body.away))


@routes.post("/api/v1/conversations/{conversation_id}/accept")
async def accept(request: web.Request) -> web.Response:
    who = await principal(request)
    conv_id = int_param(request, "conversation_id")
    return json({"accepted": await routing.accept_offer(request.app[CTX], who, conv_id)})


#: Its part of the OpenAPI document (merged in by ``hub.http.openapi``).
ROUTING_PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/teams/{team_id}/routing": {
        "get": op(
            "A team's automatic assignment (managers and admins): on or off, capacity, accept "
            "timeout, how many wait, and each operator's own capacity, open conversations, "
            "away and online",
            answer=TeamRoutingOut,
            auth=OPERATOR,
            params=[path_id("team_id")],
            errors=(400, 401, 403, 404),
        ),
        "patch": op(
            "Change a team's automatic assignment (admins); fields left out stay. members sets "
            "operators' own capacity in the team (null: the team's)",
            body=TeamRoutingPatch,
            answer=TeamRoutingOut,
            auth=OPERATOR,
            params=[path_id("team_id")],
            errors=(400, 401, 403, 404, 413, 422),
        ),
    },
    "/api/v1/me/availability": {
        "get": op(
            "Whether you are away, and the conversations offered to you not opened yet",
            answer=AvailabilityOut,
            auth=OPERATOR,
            errors=(401,),
        ),
        "put": op(
            "Set yourself away (automatic assignment passes you by) or back",
            body=AvailabilityIn,
            answer=AvailabilityOut,
            auth=OPERATOR,
            errors=(400, 401, 403, 413, 422),
        ),
    },
    "/api/v1/conversations/{conversation_id}/accept": {
        "post": op(
            "Open a conversation offered to you by automatic assignment: it stays yours and no "
            "longer passes on (the inbox sends this when you open a conversation)",
            answer=AcceptedOut,
            auth=OPERATOR,
            params=[path_id("conversation_id")],
            errors=(400, 401, 403, 404),
        ),
    },
}
ROUTING_MODELS: tuple[type[BaseModel], ...] = (
    TeamRoutingPatch,
    MemberCapacityIn,
    AvailabilityIn,
    TeamRoutingOut,
    AvailabilityOut,
    AcceptedOut,
)
