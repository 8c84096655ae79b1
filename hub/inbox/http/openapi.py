"""The inbox's part of the OpenAPI document: log-ins and sessions, operators and teams,
conversations, messages and files, contacts, canned responses, the operator socket and the
inbox's pages (merged into the document by ``hub.http.openapi``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from hub.http.openapi_build import BEARER, COOKIE, OPERATOR
from hub.http.openapi_build import op as _op
from hub.http.openapi_build import path_id as _path_id
from hub.http.openapi_build import query as _query
from hub.inbox.attachments import INLINE_IMAGES
from hub.inbox.card_responses import ContactCardOut
from hub.inbox.models import ConversationStatus
from hub.inbox.responses import (
    AttachmentOut,
    CannedListOut,
    CannedOut,
    ContactOut,
    ConversationDetailOut,
    ConversationOut,
    ConversationPageOut,
    CreatedOperatorOut,
    CurrentSessionOut,
    LoginOut,
    MeOut,
    MessageOut,
    MessagePageOut,
    OperatorOut,
    OperatorsOut,
    SessionOut,
    TeamOut,
    TeamsOut,
)
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
from hub.responses import OkOut

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


INBOX_PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/auth/login": {
        "post": _throttled(
            _op(
                "Log in; answers {token, operator}. Throttled: after failed logins of the email "
                "or from the address, 429 too_many_attempts with Retry-After (seconds)",
                body=LoginIn,
                answer=LoginOut,
                errors=(400, 401, 404, 413, 422, 429),
            )
        )
    },
    "/api/v1/auth/logout": {"post": _op("End this token's session", answer=OkOut, auth=BEARER)},
    "/api/v1/auth/session": {
        "post": _throttled(
            _op(
                "Web inbox log-in: sets the HttpOnly hub_session cookie; answers {operator, "
                "csrf_token}. Cookie requests that change something send X-CSRF-Token. "
                "Throttled as /api/v1/auth/login (429 too_many_attempts with Retry-After)",
                body=LoginIn,
                answer=SessionOut,
                errors=(400, 401, 403, 413, 422, 429),
            )
        ),
        "get": _op(
            "The cookie session's operator and CSRF token",
            answer=CurrentSessionOut,
            auth=COOKIE,
            errors=(401,),
        ),
        "delete": _op(
            "Log out of the cookie session (the token is revoked, the cookie cleared)",
            answer=OkOut,
            auth=COOKIE,
            errors=(401, 403),
        ),
    },
    "/api/v1/me": {"get": _op("The operator behind the token", answer=MeOut, auth=OPERATOR)},
    "/api/v1/operators": {
        "get": _op("List operators", answer=OperatorsOut, auth=OPERATOR),
        "post": _op(
            "Create an operator (admin); a generated password is returned once",
            body=OperatorIn,
            answer=CreatedOperatorOut,
            ok=201,
            auth=OPERATOR,
            errors=(400, 401, 403, 409, 413, 422),
        ),
    },
    "/api/v1/operators/{operator_id}": {
        "patch": _op(
            "Change an operator (admin); active=false ends his sessions at once",
            body=OperatorPatch,
            answer=OperatorOut,
            auth=OPERATOR,
            params=[_path_id("operator_id")],
            errors=(400, 401, 403, 404, 413, 422),
        ),
    },
    "/api/v1/teams": {
        "get": _op("List teams", answer=TeamsOut, auth=OPERATOR),
        "post": _op(
            "Create a team (admin)",
            body=TeamIn,
            answer=TeamOut,
            ok=201,
            auth=OPERATOR,
            errors=(400, 401, 403, 409, 413, 422),
        ),
    },
    "/api/v1/conversations": {
        "get": _op(
            "List conversations, newest activity first",
            answer=ConversationPageOut,
            auth=OPERATOR,
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
        "get": _op(
            "One conversation with its contact and channel",
            answer=ConversationDetailOut,
            auth=OPERATOR,
            params=CONV,
        ),
    },
    "/api/v1/conversations/{conversation_id}/messages": {
        "get": _op(
            "Messages, oldest first",
            answer=MessagePageOut,
            auth=OPERATOR,
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
            answer=MessageOut,
            ok=201,
            auth=OPERATOR,
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
                answer=AttachmentOut,
                ok=201,
                auth=OPERATOR,
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
            auth=OPERATOR,
            params=[_path_id("attachment_id")],
            errors=(400, 401, 404),
            content_type=(*sorted(INLINE_IMAGES), "audio/*", "video/*", "application/octet-stream"),
        ),
    },
    "/api/v1/messages/{message_id}/email.html": {
        "get": _op(
            "An email's HTML as the inbox frames it, sanitised, to an operator who may see its "
            "conversation (token or inbox session); remote images load only with images=true",
            auth=OPERATOR,
            params=[
                _path_id("message_id"),
                _query("images", "true: let the email's remote images load", "boolean"),
            ],
            errors=(400, 401, 404),
            content_type=("text/html",),
        ),
    },
    "/api/v1/conversations/{conversation_id}/assign": {
        "post": _op(
            "Assign or transfer to an operator and/or team with a handoff note",
            body=AssignIn,
            answer=ConversationOut,
            auth=OPERATOR,
            params=CONV,
            errors=(400, 401, 404, 409, 413, 422),
        ),
    },
    "/api/v1/conversations/{conversation_id}/status": {
        "post": _op(
            "Set status: open, pending, snoozed (with snoozed_until) or resolved",
            body=StatusIn,
            answer=ConversationOut,
            auth=OPERATOR,
            params=CONV,
        ),
    },
    "/api/v1/messages/{message_id}/retry": {
        "post": _op(
            "Send a failed reply again",
            answer=MessageOut,
            auth=OPERATOR,
            params=[_path_id("message_id")],
            errors=(400, 401, 404, 409),
        ),
    },
    "/api/v1/contacts/{contact_id}": {
        "get": _op(
            "A contact card: identities, phones, emails, conversations on every channel",
            answer=ContactCardOut,
            auth=OPERATOR,
            params=[_path_id("contact_id")],
        ),
        "patch": _op(
            "Edit a contact card: name, phones (any local spelling, stored as E.164), emails, "
            "company, notes; lists replace the stored ones",
            body=ContactPatch,
            answer=ContactOut,
            auth=OPERATOR,
            params=[_path_id("contact_id")],
        ),
    },
    "/api/v1/canned_responses": {
        "get": _op(
            "Canned responses by short code; q keeps those whose code starts with it",
            answer=CannedListOut,
            auth=OPERATOR,
            params=[_query("q", "a short-code prefix, with or without the leading /")],
        ),
        "post": _op(
            "Add a canned response (managers and admins)",
            body=CannedIn,
            answer=CannedOut,
            ok=201,
            auth=OPERATOR,
            errors=(400, 401, 403, 409, 413, 422),
        ),
    },
    "/api/v1/canned_responses/{canned_id}": {
        "patch": _op(
            "Change a canned response's short code or text (managers and admins)",
            body=CannedPatch,
            answer=CannedOut,
            auth=OPERATOR,
            params=[_path_id("canned_id")],
            errors=(400, 401, 403, 404, 409, 413, 422),
        ),
        "delete": _op(
            "Remove a canned response (managers and admins)",
            ok=204,
            auth=OPERATOR,
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
            auth=OPERATOR,
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
    "/admin": {
        "get": _op(
            "The admin area: operators, teams, channels, pipelines, working hours (its API "
            "refuses anyone but admins, and the page shows them a refusal)",
            errors=(),
            content_type="text/html",
            db=False,
        )
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
}

INBOX_MODELS: tuple[type[BaseModel], ...] = (
    LoginIn,
    OperatorIn,
    OperatorPatch,
    TeamIn,
    MessageIn,
    AssignIn,
    StatusIn,
    ContactPatch,
    CannedIn,
    CannedPatch,
    LoginOut,
    SessionOut,
    CurrentSessionOut,
    MeOut,
    OperatorsOut,
    CreatedOperatorOut,
    OperatorOut,
    TeamsOut,
    TeamOut,
    ConversationPageOut,
    ConversationDetailOut,
    ConversationOut,
    MessagePageOut,
    MessageOut,
    AttachmentOut,
    ContactCardOut,
    ContactOut,
    CannedListOut,
    CannedOut,
)
