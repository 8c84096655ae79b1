"""The OpenAPI description of the widget's file and rating routes (``ChannelSpec.openapi`` of
the widget; its older routes are described in ``hub.channels.http.openapi``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from hub.channels.spec import ChannelOpenApi
from hub.channels.widget.rating_routes import RatingIn
from hub.channels.widget.responses import VisitorAckOut, VisitorRatingAnswerOut
from hub.http.openapi_build import op, path_id
from hub.inbox.sniff import INLINE_IMAGES

#: A visitor's requests: 401 for an unknown visitor token, 403 from a page the widget may not be
#: on, 429 past the widget's rate limits (HUB_WIDGET_*).
VISITOR_ERRORS = (400, 401, 403, 413, 422, 429)

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
}

WIDGET_MODELS: tuple[type[BaseModel], ...] = (RatingIn, VisitorRatingAnswerOut)

WIDGET_OPENAPI = ChannelOpenApi(paths=WIDGET_PATHS, models=WIDGET_MODELS)
