"""``GET /api/v1/contacts/merges``: the contact merges, newest first (``merge_log``); undone
with ``POST /api/v1/contacts/merges/{merge_id}/undo`` (``routes``).

Registered before the inbox's routes, so ``/contacts/merges`` is not taken for a contact id.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from hub.crm_sync import merge_log
from hub.crm_sync.responses import MergePageOut
from hub.http import CTX, json, principal, query_int, query_text
from hub.http.openapi_build import OPERATOR, op, query

routes = web.RouteTableDef()


@routes.get("/api/v1/contacts/merges")
async def list_merges(request: web.Request) -> web.Response:
    who = await principal(request)
    data = await merge_log.list_merges(
        request.app[CTX],
        who,
        contact_id=query_int(request, "contact_id"),
        cursor=query_text(request, "cursor"),
        limit=query_int(request, "limit", 25) or 25,
    )
    return json(data)


@routes.route("*", "/api/v1/contacts/merges")
async def other_methods(request: web.Request) -> web.Response:
    """405 with Allow: GET. Without it ``PATCH /api/v1/contacts/merges`` would reach the edit of
    a contact (``/contacts/{contact_id}``) and answer 400 for the id "merges"."""
    raise web.HTTPMethodNotAllowed(request.method, ["GET"])


#: Its part of the OpenAPI document (merged in by ``hub.http.openapi``).
MERGE_PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/contacts/merges": {
        "get": op(
            "Contact merges, newest first, automatic ones (by the lead intake) and operators'; "
            "contact_id keeps those where that contact was kept or merged. Staff see all, an "
            "operator his own merges and those of contacts he may see",
            answer=MergePageOut,
            auth=OPERATOR,
            params=[
                query("contact_id", "a contact id", "integer"),
                query("cursor", "next_cursor of the previous page"),
                query("limit", "1 to 100, default 25", "integer"),
            ],
            errors=(400, 401, 422),
        ),
    },
}
MERGE_MODELS: tuple[type[BaseModel], ...] = (MergePageOut,)
