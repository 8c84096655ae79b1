"""``GET /api/v1/contacts?q=``: find a customer by name, email or phone (``contact_search``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from hub.crm_sync.contact_search import search_contacts
from hub.http import CTX, json, principal, query_int, query_text
from hub.http.openapi_build import OPERATOR, op, query
from hub.responses import Out

routes = web.RouteTableDef()


class ContactFoundOut(Out):
    id: int
    name: str
    phones: list[str] = Field(description="E.164")
    emails: list[str]
    company: str | None
    updated_at: datetime


class ContactSearchOut(Out):
    items: list[ContactFoundOut]
    next_cursor: str | None = Field(description="Fetches the next page; null on the last")


@routes.get("/api/v1/contacts")
async def find_contacts(request: web.Request) -> web.Response:
    who = await principal(request)
    data = await search_contacts(
        request.app[CTX],
        who,
        q=query_text(request, "q"),
        cursor=query_text(request, "cursor"),
        limit=query_int(request, "limit", 25) or 25,
    )
    return json(data)


#: Its part of the OpenAPI document (merged in by ``hub.http.openapi``).
CONTACT_SEARCH_PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/contacts": {
        "get": op(
            "Find contacts by name, email or phone (in any local spelling: 8 (916) 123-45-67 "
            "finds +79161234567; five digits or more find by part of a number), the most "
            "recently changed first. Only contacts the caller may see: staff all; an operator "
            "those with a conversation he may see or a deal he owns. Never a merged contact",
            answer=ContactSearchOut,
            auth=OPERATOR,
            params=[
                query("q", "name, email or phone; left out: every contact"),
                query("cursor", "next_cursor of the previous page"),
                query("limit", "1 to 100, default 25", "integer"),
            ],
            errors=(400, 401, 422),
        ),
    },
}
CONTACT_SEARCH_MODELS: tuple[type[BaseModel], ...] = (ContactFoundOut, ContactSearchOut)
