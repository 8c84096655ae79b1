"""REST handlers of canned responses: everyone reads them, managers and admins keep them."""

from __future__ import annotations

from aiohttp import web

from hub.http import CTX, int_param, json, principal, query_text, read_json
from hub.inbox import canned
from hub.inbox.schemas import CannedIn, CannedPatch

routes = web.RouteTableDef()


@routes.get("/api/v1/canned_responses")
async def list_canned(request: web.Request) -> web.Response:
    await principal(request)
    items = await canned.list_canned(request.app[CTX], query_text(request, "q"))
    return json({"items": items})


@routes.post("/api/v1/canned_responses")
async def create_canned(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_json(request, CannedIn)
    data = await canned.create_canned(request.app[CTX], who, body.short_code, body.content)
    return json(data, status=201)


@routes.patch("/api/v1/canned_responses/{canned_id}")
async def update_canned(request: web.Request) -> web.Response:
    who = await principal(request)
    canned_id = int_param(request, "canned_id")
    body = await read_json(request, CannedPatch)
    data = await canned.update_canned(
        request.app[CTX], who, canned_id, short_code=body.short_code, content=body.content
    )
    return json(data)


@routes.delete("/api/v1/canned_responses/{canned_id}")
async def delete_canned(request: web.Request) -> web.Response:
    who = await principal(request)
    await canned.delete_canned(request.app[CTX], who, int_param(request, "canned_id"))
    return web.Response(status=204)
