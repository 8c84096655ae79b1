"""Thin HTTP handlers of the tracking numbers (admins): label an advert's phone number with its
source and campaign, list them, remove one. The rules are in ``hub.crm_sync.tracking_numbers``."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub.crm_sync import tracking_numbers
from hub.http import CTX, int_param, json, principal, read_json
from hub.http.openapi_build import OPERATOR, op, path_id
from hub.inbox.staff import require_admin
from hub.responses import OkOut, Out

routes = web.RouteTableDef()


class TrackingNumberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(max_length=40, description="Any spelling: 8 (495) 123-00-01, +7495…")
    source: str = Field(max_length=100, description="The advert's source: yandex, billboard…")
    medium: str = Field(default="", max_length=100, description="cpc, offline…")
    campaign: str = Field(default="", max_length=200)


class TrackingNumberOut(Out):
    id: int
    number: str = Field(description="E.164")
    source: str
    medium: str
    campaign: str
    created_at: str


class TrackingNumbersOut(Out):
    items: list[TrackingNumberOut]


@routes.get("/api/v1/tracking-numbers")
async def list_numbers(request: web.Request) -> web.Response:
    who = await principal(request)
    items = await tracking_numbers.list_tracking_numbers(request.app[CTX], who)
    return json({"items": items})


@routes.post("/api/v1/tracking-numbers")
async def add_number(request: web.Request) -> web.Response:
    who = await principal(request)
    require_admin(who)
    body = await read_json(request, TrackingNumberIn)
    data = await tracking_numbers.add_tracking_number(
        request.app[CTX],
        who,
        number=body.number,
        source=body.source,
        medium=body.medium,
        campaign=body.campaign,
    )
    return json(data, status=201)


@routes.delete("/api/v1/tracking-numbers/{number_id}")
async def remove_number(request: web.Request) -> web.Response:
    who = await principal(request)
    await tracking_numbers.remove_tracking_number(
        request.app[CTX], who, int_param(request, "number_id")
    )
    return json({"ok": True})


TRACKING_PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/tracking-numbers": {
        "get": op(
            "The tracking numbers and their labels (admins)",
            answer=TrackingNumbersOut,
            auth=OPERATOR,
        ),
        "post": op(
            "Label an advert's phone number with its source and campaign (admins): a first call "
            "to it becomes a lead with that source. 422 invalid_phone, invalid_label; 409 "
            "tracking_number_exists",
            body=TrackingNumberIn,
            answer=TrackingNumberOut,
            ok=201,
            auth=OPERATOR,
            errors=(400, 401, 403, 409, 413, 422),
        ),
    },
    "/api/v1/tracking-numbers/{number_id}": {
        "delete": op(
            "Remove a tracking number's label (admins); its calls keep their source",
            answer=OkOut,
            auth=OPERATOR,
            params=[path_id("number_id")],
            errors=(400, 401, 403, 404),
        ),
    },
}
TRACKING_MODELS = (TrackingNumberIn, TrackingNumberOut, TrackingNumbersOut)
