"""Thin admin handlers of a site's pool of tracking numbers (``hub.crm_sync.number_admin``)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub.crm_sync import number_admin
from hub.http import CTX, int_param, json, principal, query_int, read_json

routes = web.RouteTableDef()

POOL = "/api/v1/channels/{channel_id}/number-pool"


class PoolNumberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(max_length=40, description="Any spelling; stored in E.164")
    label: str = Field(default="", max_length=200, description="The line or the advert")


class NumberPoolPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default_number: str | None = Field(
        max_length=40,
        description="Shown when every number is held (the site's own number); null clears it",
    )


@routes.get(POOL)
async def get_pool(request: web.Request) -> web.Response:
    who = await principal(request)
    channel_id = int_param(request, "channel_id")
    days = query_int(request, "days")
    data = await number_admin.get_pool(
        request.app[CTX], who, channel_id, 14 if days is None else days
    )
    return json(data)


@routes.patch(POOL)
async def update_pool(request: web.Request) -> web.Response:
    who = await principal(request)
    channel_id = int_param(request, "channel_id")
    body = await read_json(request, NumberPoolPatch)
    data = await number_admin.set_default(request.app[CTX], who, channel_id, body.default_number)
    return json(data)


@routes.post(POOL + "/numbers")
async def add_number(request: web.Request) -> web.Response:
    who = await principal(request)
    channel_id = int_param(request, "channel_id")
    body = await read_json(request, PoolNumberIn)
    data = await number_admin.add_number(request.app[CTX], who, channel_id, body.number, body.label)
    return json(data, status=201)


@routes.delete(POOL + "/numbers/{number_id}")
async def remove_number(request: web.Request) -> web.Response:
    who = await principal(request)
    channel_id = int_param(request, "channel_id")
    number_id = int_param(request, "number_id")
    data = await number_admin.remove_number(request.app[CTX], who, channel_id, number_id)
    return json(data)
