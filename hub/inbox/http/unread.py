"""Unread per operator over HTTP: ``POST /api/v1/conversations/{id}/read`` (the inbox calls it
when a conversation is opened) and ``GET /api/v1/conversations/counts`` (the tabs' counts, the
title's and the tab to open on); the rules are ``hub.inbox.reads``'.

Registered before the inbox's routes, so ``/conversations/counts`` is not taken for a
conversation id.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from hub.http import CTX, int_param, json, principal, query_value, read_json
from hub.http.openapi_build import OPERATOR, op, path_id, query
from hub.inbox import reads
from hub.inbox.models import ConversationStatus
from hub.inbox.read_responses import ReadOut, TabCountsOut
from hub.inbox.schemas import ReadIn

routes = web.RouteTableDef()


@routes.get("/api/v1/conversations/counts")
async def tab_counts(request: web.Request) -> web.Response:
    who = await principal(request)
    return json(await reads.tab_counts(request.app[CTX], who, query_value(request, "status")))


@routes.post("/api/v1/conversations/{conversation_id}/read")
async def mark_read(request: web.Request) -> web.Response:
    who = await principal(request)
    conv_id = int_param(request, "conversation_id")
    body = await read_json(request, ReadIn)
    return json(await reads.mark_read(request.app[CTX], who, conv_id, body.message_id))


#: Its part of the OpenAPI document (merged in by ``hub.http.openapi``).
UNREAD_PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/conversations/counts": {
        "get": op(
            "The inbox's tabs (mine, unassigned, all) with their conversations of a status and "
            "how many have messages you have not read; the title's count and the tab to open on",
            answer=TabCountsOut,
            auth=OPERATOR,
            params=[
                query(
                    "status",
                    "open (default), pending, snoozed or resolved",
                    enum=ConversationStatus,
                )
            ],
            errors=(400, 401, 422),
        ),
    },
    "/api/v1/conversations/{conversation_id}/read": {
        "post": op(
            "Mark a conversation read by you, up to message_id or to its newest message; your "
            "other tabs and devices get conversation.read",
            body=ReadIn,
            answer=ReadOut,
            auth=OPERATOR,
            params=[path_id("conversation_id")],
        ),
    },
}
UNREAD_MODELS: tuple[type[BaseModel], ...] = (ReadIn, ReadOut, TabCountsOut)
