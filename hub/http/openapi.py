"""The OpenAPI 3.1 document of every route, served at ``/api/openapi.json``.

Request bodies come from the same pydantic models the routes validate with, so the document
cannot drift from what is accepted; a test checks that every route of the app is described here
and nothing else is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from hub import __version__
from hub.channels import registry
from hub.channels.api import InboundIn
from hub.channels.http.openapi import CHANNEL_MODELS, CHANNEL_PATHS
from hub.channels.http.routes import ChannelIn
from hub.channels.spec import ChannelSpec
from hub.crm_sync.http.openapi import CRM_MODELS, CRM_PATHS
from hub.crm_sync.http.openapi_reports import REPORT_MODELS, REPORT_PATHS
from hub.http.openapi_build import BEARER, COOKIE, DATABASE_UNAVAILABLE
from hub.http.openapi_build import op as _op
from hub.http.openapi_build import path_id as _path_id
from hub.http.openapi_build import query as _query
from hub.inbox.attachments import INLINE_IMAGES
from hub.inbox.models import ConversationStatus
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
from hub.inbox.web import STATIC_FILES
from hub.outbound.openapi import WEBHOOKS

CONV = [_path_id("conversation_id")]


def _throttled(operation: dict[str, Any]) -> dict[str, Any]:
    """A log-in's 429 carries Retry-After: the seconds before the next attempt is heard."""
    operation["responses"]["429"]["headers"] = {
        "Retry-After": {
            "description": "Seconds to wait before the next login attempt",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    }
    return operation


PATHS: dict[str, dict[str, Any]] = {
    "/healthz": {"get": _op("The process is up", errors=(), db=False)},
    "/readyz": {"get": _op("The database and bus answer", errors=(503,), db=False)},
    "/metrics": {"get": _op("Prometheus metrics", errors=(), content_type="text/plain", db=False)},
    "/api/openapi.json": {"get": _op("This document", errors=(), db=False)},
    "/api/v1/auth/login": {
        "post": _throttled(
            _op(
                "Log in; answers {token, operator}. Throttled: after failed logins of the email "
                "or from the address, 429 too_many_attempts with Retry-After (seconds)",
                body=LoginIn,
                errors=(400, 401, 404, 413, 422, 429),
            )
        )
    },
    "/api/v1/auth/logout": {"post": _op("End this token's session", auth=BEARER)},
    "/api/v1/auth/session": {
        "post": _throttled(
            _op(
                "Web inbox log-in: sets the HttpOnly hub_session cookie; answers {operator, "
                "csrf_token}. Cookie requests that change something send X-CSRF-Token. "
                "Throttled as /api/v1/auth/login (429 too_many_attempts with Retry-After)",
                body=LoginIn,
                errors=(400, 401, 403, 413, 422, 429),
            )
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
    "/api/v1/channel-types": {
        "get": _op(
            "The channel types this hub serves: type, title, badge and capabilities",
            auth=BEARER,
            errors=(401,),
        )
    },
    "/api/v1/channels": {
        "get": _op("List channels (never their secrets)", auth=BEARER),
        "post": _op(
            "Connect a channel (admin); the secret is shown once. Other fields are the "
            "type's settings, e.g. callback_url for type api, token for type telegram (checked "
            "with getMe, never returned; the webhook is registered). A callback_url whose host "
            "is or resolves to a non-public address (private, loopback, link-local, metadata…) "
            "answers 422 destination_not_allowed unless HUB_WEBHOOK_ALLOWED_NETWORKS allows it",
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
                _query("status", "open, pending, snoozed or resolved", enum=ConversationStatus),
                _query(
                    "assignee",
                    "me, unassigned or an operator id",
                    pattern="^(me|unassigned|[0-9]+)$",
                ),
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
            "Reply, or write an internal note with private=true (never sent to the customer); "
            "attachment_ids are your uploads, reply_to_id the message answered",
            body=MessageIn,
            ok=201,
            auth=BEARER,
            params=CONV,
        ),
    },
    "/api/v1/conversations/{conversation_id}/attachments": {
        "post": {
            **_op(
                "Upload a file (multipart/form-data, one part named file) into a conversation "
                "you may see; send it with attachment_ids of a reply or note. Larger than "
                "HUB_MAX_ATTACHMENT_BYTES answers 413 attachment_too_large; a multipart body "
                "that cannot be parsed answers 400 malformed_multipart",
                ok=201,
                auth=[*BEARER, *COOKIE],
                params=CONV,
            ),
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"file": {"type": "string", "format": "binary"}},
                            "required": ["file"],
                        }
                    }
                },
            },
        },
    },
    "/api/v1/attachments/{attachment_id}": {
        "get": _op(
            "An attachment's file, to an operator who may see its conversation (token or inbox "
            "session). Images, audio and video inline; anything else as a download",
            auth=[*BEARER, *COOKIE],
            params=[_path_id("attachment_id")],
            errors=(400, 401, 404),
            content_type=(*sorted(INLINE_IMAGES), "audio/*", "video/*", "application/octet-stream"),
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
            errors=(400, 401, 403, 404),
        ),
    },
    "/ws/operator": {
        "get": _op(
            "Operator WebSocket (upgrade). Server frames: ready, event {id, event, data}, "
            "resumed, resync, error, pong. Client frames: resume {after}, ping, "
            "typing {conversation_id, active?} (a reply being written, or stopped). Reconnect "
            "with ?after=<last event id> to get what was missed, in order, before live events, "
            "or resync if some are lost (also sent unasked after a Redis outage); closed with "
            "1013 while Redis is unavailable. The web inbox's session cookie works too, from the "
            "hub's own Origin only.",
            ok=101,
            auth=[*BEARER, *COOKIE],
            params=[_query("after", "the last event id seen before the connection dropped")],
            errors=(400, 401, 403),
        ),
    },
    # The operator's web page (served with a Content-Security-Policy).
    "/inbox": {
        "get": _op("The operator inbox page", errors=(), content_type="text/html", db=False)
    },
    "/inbox/contacts/{contact_id}": {
        "get": _op(
            "The inbox page showing one contact",
            errors=(400, 404),
            params=[_path_id("contact_id")],
            content_type="text/html",
            db=False,
        ),
    },
    "/inbox/reports": {
        "get": _op("The managers' reports page", errors=(), content_type="text/html", db=False)
    },
    "/inbox/static/{name}": {
        "get": _op(
            "The inbox pages' scripts and style sheet (inbox.js, reports.js, inbox.css)",
            errors=(404,),
            params=[
                {
                    "name": "name",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": sorted(STATIC_FILES)},
                }
            ],
            content_type=tuple(sorted({kind.split(";")[0] for kind in STATIC_FILES.values()})),
            db=False,
        ),
    },
    **CHANNEL_PATHS,
    **CRM_PATHS,
    **REPORT_PATHS,
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
    *CHANNEL_MODELS,
    *CRM_MODELS,
    *REPORT_MODELS,
    ContactPatch,
    CannedIn,
    CannedPatch,
)


def openapi_document(
    public_url: str, channels: Sequence[ChannelSpec] | None = None
) -> dict[str, Any]:
    """The document of the core routes and of every channel type's own (``channels``: the app's
    specs, by default every registered type's)."""
    specs = registry.channel_specs() if channels is None else channels
    paths = dict(PATHS)
    models = list(MODELS)
    for spec in specs:
        paths.update(spec.openapi.paths)
        models.extend(spec.openapi.models)
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
    for model in models:
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
        "paths": paths,
        "webhooks": WEBHOOKS,
        "components": {
            "schemas": schemas,
            "responses": {"DatabaseUnavailable": DATABASE_UNAVAILABLE},
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
                "telegramSecret": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Telegram-Bot-Api-Secret-Token",
                    "description": "The Telegram channel's secret, set with setWebhook",
                },
                "channelSecret": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The channel's secret, shown once at creation",
                },
            },
        },
    }
