"""Thin REST and WebSocket handlers of the inbox: parse, call one action or query, answer."""

from __future__ import annotations

import json as jsonlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import WSMsgType, web

from hub.bus import BadEventId, parse_event_id
from hub.errors import DomainError
from hub.http import (
    CTX,
    LOGIN_GUARD,
    REALTIME,
    WebSocketConnection,
    bearer_token,
    client_address,
    int_param,
    json,
    principal,
    query_int,
    query_text,
    query_value,
    read_json,
)
from hub.inbox import contact_edit, directory, handoff, queries, replies, staff
from hub.inbox.auth import Principal
from hub.inbox.contact_edit import ContactEdit
from hub.inbox.delivery import retry_delivery
from hub.inbox.schemas import (
    AssignIn,
    ContactPatch,
    LoginIn,
    MessageIn,
    OperatorIn,
    OperatorPatch,
    StatusIn,
    TeamIn,
)

routes = web.RouteTableDef()


@routes.post("/api/v1/auth/login")
async def login(request: web.Request) -> web.Response:
    body = await read_json(request, LoginIn)
    token, operator = await request.app[LOGIN_GUARD].login(
        request.app[CTX], body.email, body.password, client_address(request)
    )
    return json({"token": token, "operator": operator})


@routes.post("/api/v1/auth/logout")
async def logout(request: web.Request) -> web.Response:
    await principal(request)
    await staff.logout(request.app[CTX], bearer_token(request))
    return json({"ok": True})


@routes.get("/api/v1/me")
async def me(request: web.Request) -> web.Response:
    who = await principal(request)
    return json(
        {
            "id": who.operator_id,
            "name": who.name,
            "role": who.role,
            "team_ids": sorted(who.team_ids),
        }
    )


@routes.get("/api/v1/operators")
async def list_operators(request: web.Request) -> web.Response:
    await principal(request)
    return json({"items": await directory.list_operators(request.app[CTX])})


@routes.post("/api/v1/operators")
async def create_operator(request: web.Request) -> web.Response:
    who = await principal(request)
    staff.require_admin(who)
    body = await read_json(request, OperatorIn)
    created = await staff.create_operator(
        request.app[CTX],
        email=body.email,
        name=body.name,
        role=body.role,
        password=body.password,
        team_ids=body.team_ids,
    )
    return json({"operator": created.operator, "password": created.password}, status=201)


@routes.patch("/api/v1/operators/{operator_id}")
async def update_operator(request: web.Request) -> web.Response:
    who = await principal(request)
    op_id = int_param(request, "operator_id")
    body = await read_json(request, OperatorPatch)
    data = await staff.update_operator(
        request.app[CTX],
        who,
        op_id,
        name=body.name,
        role=body.role,
        active=body.active,
        team_ids=body.team_ids,
    )
    return json(data)


@routes.get("/api/v1/teams")
async def list_teams(request: web.Request) -> web.Response:
    await principal(request)
    return json({"items": await directory.list_teams(request.app[CTX])})


@routes.post("/api/v1/teams")
async def create_team(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_json(request, TeamIn)
    return json(await staff.create_team(request.app[CTX], who, body.name, body.operator_ids), 201)


@routes.get("/api/v1/conversations")
async def list_conversations(request: web.Request) -> web.Response:
    who = await principal(request)
    flt = queries.ConversationFilter(
        status=query_value(request, "status"),
        assignee=query_value(request, "assignee"),
        channel_id=query_int(request, "channel"),
        q=query_text(request, "q"),
        cursor=query_text(request, "cursor"),
        limit=query_int(request, "limit", 25) or 25,
    )
    return json(await queries.list_conversations(request.app[CTX], who, flt))


@routes.get("/api/v1/conversations/{conversation_id}")
async def get_conversation(request: web.Request) -> web.Response:
    who = await principal(request)
    conv_id = int_param(request, "conversation_id")
    return json(await queries.get_conversation(request.app[CTX], who, conv_id))


@routes.get("/api/v1/conversations/{conversation_id}/messages")
async def list_messages(request: web.Request) -> web.Response:
    who = await principal(request)
    conv_id = int_param(request, "conversation_id")
    data = await queries.list_messages(
        request.app[CTX],
        who,
        conv_id,
        after_id=query_int(request, "after"),
        before_id=query_int(request, "before"),
        limit=query_int(request, "limit", 50) or 50,
    )
    return json(data)


@routes.post("/api/v1/conversations/{conversation_id}/messages")
async def post_message(request: web.Request) -> web.Response:
    who = await principal(request)
    conv_id = int_param(request, "conversation_id")
    body = await read_json(request, MessageIn)
    data = await replies.post_message(
        request.app[CTX],
        who,
        conv_id,
        body.body,
        private=body.private,
        attachment_ids=body.attachment_ids,
        reply_to_id=body.reply_to_id,
        tracking=body.tracking,
    )
    return json(data, status=201)


@routes.post("/api/v1/conversations/{conversation_id}/assign")
async def assign(request: web.Request) -> web.Response:
    who = await principal(request)
    conv_id = int_param(request, "conversation_id")
    body = await read_json(request, AssignIn)
    data = await handoff.assign(
        request.app[CTX],
        who,
        conv_id,
        operator_id=body.operator_id,
        team_id=body.team_id,
        note=body.note,
    )
    return json(data)


@routes.post("/api/v1/conversations/{conversation_id}/status")
async def set_status(request: web.Request) -> web.Response:
    who = await principal(request)
    conv_id = int_param(request, "conversation_id")
    body = await read_json(request, StatusIn)
    data = await handoff.set_status(request.app[CTX], who, conv_id, body.status, body.snoozed_until)
    return json(data)


@routes.post("/api/v1/messages/{message_id}/retry")
async def retry(request: web.Request) -> web.Response:
    who = await principal(request)
    msg_id = int_param(request, "message_id")
    return json(await retry_delivery(request.app[CTX], who, msg_id))


@routes.get("/api/v1/contacts/{contact_id}")
async def get_contact(request: web.Request) -> web.Response:
    who = await principal(request)
    contact_id = int_param(request, "contact_id")
    return json(await queries.get_contact(request.app[CTX], who, contact_id))


@routes.patch("/api/v1/contacts/{contact_id}")
async def edit_contact(request: web.Request) -> web.Response:
    who = await principal(request)
    contact_id = int_param(request, "contact_id")
    body = await read_json(request, ContactPatch)
    edit = ContactEdit(
        name=body.name,
        phones=body.phones,
        emails=body.emails,
        company=body.company,
        notes=body.notes,
    )
    return json(await contact_edit.edit_contact(request.app[CTX], who, contact_id, edit))


async def _frames(ws: web.WebSocketResponse, conn: WebSocketConnection) -> AsyncIterator[Any]:
    async for msg in ws:
        if msg.type != WSMsgType.TEXT:
            continue
        try:
            yield jsonlib.loads(msg.data)
        except ValueError:
            await conn.send_json(
                {"type": "error", "code": "malformed_json", "message": "a frame must be JSON"}
            )


@routes.get("/ws/operator")
async def operator_socket(request: web.Request) -> web.StreamResponse:
    """The operator's event stream; authenticated before the upgrade, so a bad token is a 401."""
    who: Principal = await principal(request)
    after = query_text(request, "after")
    if after is not None:
        try:
            parse_event_id(after)
        except BadEventId as exc:
            raise DomainError("after is not an event id", code="bad_event_id") from exc
    # No per-message deflate: operator frames are small JSON, where compressing each one cost
    # about a twentieth of the hub's CPU under load and ~118 KiB of zlib state per socket for a
    # few hundred bytes saved (the widget's socket goes without it too).
    ws = web.WebSocketResponse(heartbeat=20, max_msg_size=64 * 1024, compress=False)
    await ws.prepare(request)
    conn = WebSocketConnection(ws)
    realtime = request.app[REALTIME]
    await realtime.serve(conn, who, _frames(ws, conn), after)
    return ws
