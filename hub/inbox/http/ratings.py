"""``GET /api/v1/contacts/{contact_id}/ratings``: what a contact thought of his conversations.

The ratings of the contact's conversations the operator may see (``hub.inbox.ratings``), for the
contact card and the contact page; a contact he may not see is "not found", as everywhere.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from hub.http import CTX, int_param, json, principal
from hub.http.openapi_build import OPERATOR, op, path_id
from hub.inbox import ratings
from hub.inbox.rating_responses import ContactRatingsOut

routes = web.RouteTableDef()


@routes.get("/api/v1/contacts/{contact_id}/ratings")
async def contact_ratings(request: web.Request) -> web.Response:
    who = await principal(request)
    contact_id = int_param(request, "contact_id")
    return json(await ratings.contact_ratings(request.app[CTX], who, contact_id))


#: Its part of the OpenAPI document (merged in by ``hub.http.openapi``).
RATING_PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/contacts/{contact_id}/ratings": {
        "get": op(
            "The customer's ratings of the conversations of this contact you may see: "
            "{count, average, items: [{id, conversation_id, resolution_id, score, comment, "
            "operator_id, operator_name, created_at}]}, newest first",
            answer=ContactRatingsOut,
            auth=OPERATOR,
            params=[path_id("contact_id")],
            errors=(400, 401, 404),
        ),
    },
}
RATING_MODELS: tuple[type[BaseModel], ...] = (ContactRatingsOut,)
