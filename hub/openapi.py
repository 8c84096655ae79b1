"""The OpenAPI 3.1 document of every route, served at ``/api/openapi.json``.

Request bodies come from the same pydantic models the routes validate with, so the document
cannot drift from what is accepted; a test checks that every route of the app is described here
and nothing else is.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from hub import __version__
from hub.channels.api import InboundIn
from hub.channels.routes import ChannelIn
from hub.inbox.schemas import (
    AssignIn,
    CannedIn,
    CannedPatch,
    ContactPatch,
    LoginIn,
    MessageIn,
    OperatorIn,
    OperatorPatch,
    StatusIn,
    TeamIn,
)

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
COOKIE: list[dict[str, list[str]]] = [{"session": []}]
ERROR = {"$ref": "#/components/schemas/Error"}
OBJ: dict[str, Any] = {"type": "object"}


def _body(model: type[BaseModel] | None) -> dict[str, Any] | None:
    if model is None:
        return None
    return {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
        },
    }


def _op(
    summary: str,
    *,
    body: type[BaseModel] | None = None,
    ok: int = 200,
    auth: list[dict[str, list[str]]] | None = None,
    params: list[dict[str, Any]] | None = None,
    errors: tuple[int, ...] = (400, 401, 404, 413, 422),
    content_type: str = "application/json",
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        str(ok): {
            "description": "OK",
            "content": {
                content_type: {
                    "schema": OBJ if content_type == "application/json" else {"type": "string"}
                }
            },
        }
    }
    for code in errors:
        responses[str(code)] = {
            "description": "Error",
            "content": {"application/json": {"schema": ERROR}},
        }
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if auth is not None:
        op["security"] = auth
    if params:
        op["parameters"] = params
    request_body = _body(body)
    if request_body:
        op["requestBody"] = request_body
    return op


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def _query(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": kind},
    }


CONV = [_path_id("conversation_id")]

PATHS: dict[str, dict[str, Any]] = {
    "/healthz": {"get": _op("The process is up", errors=())},
    "/readyz": {"get": _op("The database and bus answer", errors=(503,))},
    "/metrics": {"get": _op("Prometheus metrics", errors=(), content_type="text/plain")},
    "/api/openapi.json": {"get": _op("This document", errors=())},
    "/api/v1/auth/login": {"post": _op("Log in; answers {token, operator}", body=LoginIn)},
    "/api/v1/auth/logout": {"post": _op("End this token's session", auth=BEARER)},
    "/api/v1/auth/session": {
        "post": _op(
            "Web inbox log-in: sets the HttpOnly hub_session cookie; answers {operator, "
            "csrf_token}. Cookie requests that change something send X-CSRF-Token",
            body=LoginIn,
            errors=(400, 401, 403, 413, 422),
        ),
        "get": _op("The cookie session's operator and CSRF token", auth=COOKIE, errors=(401,)),
        "delete": _op(
            "Log out of the cookie session (the token is revoked, the cookie cleared)",
            auth=COOKIE,
            errors=(401, 403),
        ),
    },
    "/api/v1/me": {"get": _op("The operator behind the token", auth=BEARER)},
    "/api/v1/operators": {
        "get": _op("List operators", auth=BEARER),
        "post": _op(
            "Create an operator (admin); a generated password is returned once",
            body=OperatorIn,
            ok=201,
            auth=BEARER,
            errors=(400, 401, 403, 409, 413, 422),
        ),
    },
    "/api/v1/operators/{operator_id}": {
        "patch": _op(
            "Change an operator (admin); active=false ends his sessions at once",
            body=OperatorPatch,
            auth=BEARER,
            params=[_path_id("operator_id")],
            errors=(400, 401, 403, 404, 413, 422),
        ),
    },
    "/api/v1/teams": {
        "get": _op("List teams", auth=BEARER),
        "post": _op(
            "Create a team (admin)",
            body=TeamIn,
            ok=201,
            auth=BEARER,
            errors=(400, 401, 403, 409, 413, 422),
        ),
    },
    "/api/v1/channels": {
        "get": _op("List channels (never their secrets)", auth=BEARER),
        "post": _op(
            "Connect a channel (admin); the secret is shown once. Other fields are the "
            "type's settings, e.g. callback_url for type api",
            body=ChannelIn,
            ok=201,
            auth=BEARER,
            errors=(400, 401, 403, 413, 422),
        ),
    },
    "/api/v1/channels/{channel_id}/inbound": {
        "post": _op(
            "API channel: feed a customer message (Bearer = channel secret); a repeated "
            "external_message_id answers 200 with duplicate=true and stores nothing",
            body=InboundIn,
            ok=201,
            auth=[{"channelSecret": []}],
            params=[_path_id("channel_id")],
        ),
    },
    "/api/v1/conversations": {
        "get": _op(
            "List conversations, newest activity first",
            auth=BEARER,
            params=[
                _query("status", "open, pending, snoozed or resolved"),
                _query("assignee", "me, unassigned or an operator id"),
                _query("channel", "a channel id", "integer"),
                _query("q", "text in the contact's name, phone, email or the messages"),
                _query("cursor", "next_cursor of the previous page"),
                _query("limit", "1 to 100, default 25", "integer"),
            ],
        ),
    },
    "/api/v1/conversations/{conversation_id}": {
        "get": _op("One conversation with its contact and channel", auth=BEARER, params=CONV),
    },
    "/api/v1/conversations/{conversation_id}/messages": {
        "get": _op(
            "Messages, oldest first",
            auth=BEARER,
            params=[
                *CONV,
                _query("before", "page back: messages before this id", "integer"),
                _query("after", "messages after this id", "integer"),
                _query("limit", "1 to 100, default 50", "integer"),
            ],
        ),
        "post": _op(
            "Reply, or write an internal note with private=true (never sent to the customer)",
            body=MessageIn,
            ok=201,
            auth=BEARER,
            params=CONV,
        ),
    },
    "/api/v1/conversations/{conversation_id}/assign": {
        "post": _op(
            "Assign or transfer to an operator and/or team with a handoff note",
            body=AssignIn,
            auth=BEARER,
            params=CONV,
            errors=(400, 401, 404, 409, 413, 422),
        ),
    },
    "/api/v1/conversations/{conversation_id}/status": {
        "post": _op(
            "Set status: open, pending, snoozed (with snoozed_until) or resolved",
            body=StatusIn,
            auth=BEARER,
            params=CONV,
        ),
    },
    "/api/v1/messages/{message_id}/retry": {
        "post": _op(
            "Send a failed reply again",
            auth=BEARER,
            params=[_path_id("message_id")],
            errors=(400, 401, 404, 409),
        ),
    },
    "/api/v1/contacts/{contact_id}": {
        "get": _op(
            "A contact card: identities, phones, emails, conversations on every channel",
            auth=BEARER,
            params=[_path_id("contact_id")],
        ),
        "patch": _op(
            "Edit a contact card: name, phones (any local spelling, stored as E.164), emails, "
            "company, notes; lists replace the stored ones",
            body=ContactPatch,
            auth=BEARER,
            params=[_path_id("contact_id")],
        ),
    },
    "/api/v1/canned_responses": {
        "get": _op(
            "Canned responses by short code; q keeps those whose code starts with it",
            auth=BEARER,
            params=[_query("q", "a short-code prefix, with or without the leading /")],
        ),
        "post": _op(
            "Add a canned response (managers and admins)",
            body=CannedIn,
            ok=201,
            auth=BEARER,
            errors=(400, 401, 403, 409, 413, 422),
        ),
    },
    "/api/v1/canned_responses/{canned_id}": {
        "patch": _op(
            "Change a canned response's short code or text (managers and admins)",
            body=CannedPatch,
            auth=BEARER,
            params=[_path_id("canned_id")],
            errors=(400, 401, 403, 404, 409, 413, 422),
        ),
        "delete": _op(
            "Remove a canned response (managers and admins)",
            ok=204,
            auth=BEARER,
            params=[_path_id("canned_id")],
            errors=(401, 403, 404),
        ),
    },
    "/ws/operator": {
        "get": _op(
            "Operator WebSocket (upgrade). Server frames: ready, event {id, event, data}, "
            "resumed, resync, error, pong. Client frames: resume {after}, ping, "
            "typing {conversation_id}. Reconnect with ?after=<last event id> to get what was "
            "missed, in order, before live events. The web inbox's session cookie works too, "
            "from the hub's own Origin only.",
            ok=101,
            auth=[*BEARER, *COOKIE],
            params=[_query("after", "the last event id seen before the connection dropped")],
            errors=(400, 401, 403),
        ),
    },
    # The operator's web page (served with a Content-Security-Policy).
    "/inbox": {"get": _op("The operator inbox page", errors=(), content_type="text/html")},
    "/inbox/contacts/{contact_id}": {
        "get": _op(
            "The inbox page showing one contact",
            errors=(400, 404),
            params=[_path_id("contact_id")],
            content_type="text/html",
        ),
    },
    "/inbox/reports": {
        "get": _op("The managers' reports page", errors=(), content_type="text/html")
    },
    "/inbox/static/{name}": {
        "get": _op(
            "The inbox pages' scripts and style sheet (inbox.js, reports.js, inbox.css)",
            errors=(404,),
            params=[{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            content_type="text/plain",
        ),
    },
    # The website widget channel (visitors; the page's Origin must be one the channel allows).
    "/widget.js": {
        "get": _op("The widget's embed script", errors=(404,), content_type="text/javascript")
    },
    "/": {"get": _op("A demo page embedding the demo widget", errors=(), content_type="text/html")},
    "/api/widget/v1/{tail}": {
        "options": _op(
            "CORS preflight for an allowed site",
            ok=204,
            errors=(403,),
            params=[{"name": "tail", "in": "path", "required": True, "schema": {"type": "string"}}],
        ),
    },
    "/api/widget/v1/sessions": {
        "post": _op(
            "Start or resume a visitor session by website_token; answers the visitor_token",
            errors=(400, 403, 404, 413, 422),
        ),
    },
    "/api/widget/v1/messages": {
        "get": _op("The visitor's messages (X-Visitor-Token header; after=<id>)"),
        "post": _op("A visitor message {client_id, body} (REST fallback of the socket)"),
    },
    "/api/widget/v1/callback": {
        "post": _op("A visitor asks to be called back {visitor_token, phone, …}", ok=201),
    },
    "/api/widget/v1/contact": {
        "post": _op("A visitor leaves his name, email or phone {visitor_token, …}"),
    },
    "/ws/widget": {
        "get": _op(
            "Visitor WebSocket (upgrade, ?visitor_token=). Client frames: message {client_id, "
            "body}, typing, ping. Server frames: ready, ack, message, typing, error, pong.",
            ok=101,
            errors=(401, 403),
        ),
    },
}

MODELS: tuple[type[BaseModel], ...] = (
    LoginIn,
    OperatorIn,
    OperatorPatch,
    TeamIn,
    ChannelIn,
    InboundIn,
    MessageIn,
    AssignIn,
    StatusIn,
    ContactPatch,
    CannedIn,
    CannedPatch,
)


def openapi_document(public_url: str) -> dict[str, Any]:
    from hub.openapi_crm import CRM_MODELS, CRM_PATHS  # it builds on this module's helpers

    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                }
            },
        }
    }
    for model in (*MODELS, *CRM_MODELS):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas[name] = sub
        schemas[model.__name__] = schema
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hub API",
            "version": __version__,
            "description": "Omnichannel inbox: operators, conversations, channels.",
        },
        "servers": [{"url": public_url}],
        "paths": {**PATHS, **CRM_PATHS},
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An operator token from /api/v1/auth/login",
                },
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "hub_session",
                    "description": "The web inbox's session from POST /api/v1/auth/session",
                },
                "channelSecret": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The channel's secret, shown once at creation",
                },
            },
        },
    }
