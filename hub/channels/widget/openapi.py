"""The OpenAPI description of the widget's routes (``ChannelSpec.openapi`` of the widget): the
embed script and demo site, the visitor's REST API and socket, files and ratings. The page's
Origin must be one the channel allows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from hub.channels.spec import ChannelOpenApi
from hub.channels.widget.callback import CallbackIn
from hub.channels.widget.number_route import NumberIn
from hub.channels.widget.online_routes import ONLINE_MODELS, ONLINE_PATHS
from hub.channels.widget.rating_routes import RatingIn
from hub.channels.widget.responses import (
    CallbackOut,
    PhoneNumberOut,
    VisitorAckOut,
    VisitorContactAnswerOut,
    VisitorMessagesOut,
    VisitorRatingAnswerOut,
    WidgetSessionOut,
)
from hub.channels.widget.routes import ContactIn, SessionIn, VisitorMessageIn
from hub.http.openapi_build import op, path_id
from hub.inbox.sniff import INLINE_IMAGES

#: A visitor's requests: 401 for an unknown visitor token, 403 from a page the widget may not be
#: on, 429 past the widget's rate limits (HUB_WIDGET_*).
VISITOR_ERRORS = (400, 401, 403, 413, 422, 429)


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


def _widget_script() -> dict[str, Any]:
    """The embed script: gzip-compressed when the client accepts it; 304 to a cache that has it."""
    operation = op(
        "The widget's embed script (gzip when Accept-Encoding allows it)",
        errors=(404,),
        content_type="application/javascript",
        db=False,
    )
    headers = {
        "Content-Encoding": _header("gzip when the request's Accept-Encoding allows it"),
        "Vary": _header("Accept-Encoding"),
        "ETag": _header("Strong, one per encoding"),
        "Last-Modified": _header("When the script file changed"),
    }
    operation["responses"]["200"]["headers"] = headers
    operation["responses"]["304"] = {
        "description": "Not modified (If-None-Match or If-Modified-Since); no body",
        "headers": {name: headers[name] for name in ("Vary", "ETag", "Last-Modified")},
    }
    return operation


_UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "client_id": {"type": "string", "minLength": 1, "maxLength": 64},
                    "body": {"type": "string"},
                    "file": {"type": "string", "format": "binary"},
                },
                "required": ["client_id", "file"],
            },
            "encoding": {"file": {"contentType": "*/*"}},
        }
    },
}


def _upload() -> dict[str, Any]:
    operation = op(
        "A visitor's message with one file (X-Visitor-Token; multipart parts in order: "
        "client_id, body (an optional caption), file). Answers the message's ack, as "
        "POST /api/widget/v1/messages does; the same client_id again is the same message "
        "(duplicate=true). Larger than HUB_MAX_ATTACHMENT_BYTES: 413 attachment_too_large; an "
        "unparsable body: 400 malformed_multipart; no client_id before the file: 422 "
        "invalid_client_id; pre-chat fields missing: 422 prechat_required. A refused upload "
        "stores nothing",
        answer=VisitorAckOut,
        errors=VISITOR_ERRORS,
    )
    operation["requestBody"] = _UPLOAD_BODY
    return operation


WIDGET_PATHS: dict[str, dict[str, Any]] = {
    "/widget.js": {"get": _widget_script()},
    "/": {"get": op("A demo page embedding the demo widget", errors=(), content_type="text/html")},
    "/demo.js": {
        "get": op(
            "The demo page's own script (its price calculator)",
            errors=(404,),
            content_type="application/javascript",
            db=False,
        )
    },
    "/api/widget/v1/{tail}": {
        "options": op(
            "CORS preflight for an allowed site (for tail=sessions, for any site: it may read "
            "the session call's refusal, 403 origin_not_allowed or 404 unknown_website_token)",
            ok=204,
            errors=(403, 404),
            params=[{"name": "tail", "in": "path", "required": True, "schema": {"type": "string"}}],
        ),
    },
    "/api/widget/v1/sessions": {
        "post": op(
            "Start or resume a visitor session by website_token; answers the visitor_token",
            body=SessionIn,
            answer=WidgetSessionOut,
            errors=(400, 403, 404, 413, 422, 429),
        ),
    },
    "/api/widget/v1/messages": {
        "get": op(
            "The visitor's messages (X-Visitor-Token header; after=<id>)",
            answer=VisitorMessagesOut,
            errors=VISITOR_ERRORS,
        ),
        "post": op(
            "A visitor message {client_id, body} (REST fallback of the socket)",
            body=VisitorMessageIn,
            answer=VisitorAckOut,
            errors=VISITOR_ERRORS,
        ),
    },
    "/api/widget/v1/callback": {
        "post": op(
            "A visitor asks to be called back {visitor_token, phone, name?, when?, time_zone?, "
            "lang?}; when is {kind: asap | today_after (time HH:MM) | tomorrow_morning | at "
            "(at YYYY-MM-DDTHH:MM)}, his wall clock in time_zone",
            body=CallbackIn,
            answer=CallbackOut,
            ok=201,
            errors=VISITOR_ERRORS,
        ),
    },
    "/api/widget/v1/contact": {
        "post": op(
            "A visitor leaves his name, email or phone {visitor_token, …}",
            body=ContactIn,
            answer=VisitorContactAnswerOut,
            errors=VISITOR_ERRORS,
        ),
    },
    "/ws/widget": {
        "get": op(
            "Visitor WebSocket (upgrade, ?visitor_token=). Client frames: message {client_id, "
            "body}, typing, ping. Server frames: ready {operators_online, working_hours}, ack, "
            "message, typing {sender, active}, presence, rating_request {resolution_id, "
            "conversation_id}, error, pong.",
            ok=101,
            errors=(400, 401, 403, 429),
        ),
    },
    "/api/widget/v1/attachments": {"post": _upload()},
    "/api/widget/v1/attachments/{attachment_id}": {
        "get": op(
            "A file of the visitor's own conversations (X-Visitor-Token): of a customer message "
            "or an operator reply, never of a note. Images inline, anything else as a download "
            "of bytes (nosniff); any other id answers 404 attachment_not_found",
            params=[path_id("attachment_id")],
            errors=(400, 401, 403, 404, 429),
            content_type=(*sorted(INLINE_IMAGES), "audio/*", "video/*", "application/octet-stream"),
        ),
    },
    "/api/widget/v1/rating": {
        "post": op(
            "The visitor rates the resolution of his conversation (X-Visitor-Token; "
            "{resolution_id, score 1-5, comment?}), as rating_request asked: 201 {rating}. "
            "Once per resolution: a second rating answers 409 already_rated and changes "
            "nothing; a resolution that is not of his own conversation answers 404 "
            "resolution_not_found",
            body=RatingIn,
            answer=VisitorRatingAnswerOut,
            ok=201,
            errors=(*VISITOR_ERRORS, 404, 409),
        ),
    },
    "/api/widget/v1/phone-number": {
        "post": op(
            "The phone number the page shows in its data-hub-phone elements (X-Visitor-Token; "
            "{page: {url, referrer}}): a tracking number of the site's pool held for this "
            "visitor (renewed by asking again, the same number while the hold lasts; the page "
            "and its UTM tags are the visit a call to it is attributed to), else the pool's "
            "default number when every number is held, else none",
            body=NumberIn,
            answer=PhoneNumberOut,
            errors=VISITOR_ERRORS,
        ),
    },
}

WIDGET_MODELS: tuple[type[BaseModel], ...] = (
    SessionIn,
    VisitorMessageIn,
    CallbackIn,
    ContactIn,
    RatingIn,
    NumberIn,
    WidgetSessionOut,
    VisitorMessagesOut,
    VisitorAckOut,
    CallbackOut,
    VisitorContactAnswerOut,
    VisitorRatingAnswerOut,
    PhoneNumberOut,
)

WIDGET_OPENAPI = ChannelOpenApi(
    paths={**WIDGET_PATHS, **ONLINE_PATHS}, models=(*WIDGET_MODELS, *ONLINE_MODELS)
)
