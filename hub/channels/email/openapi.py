"""The OpenAPI description of the email channel's own route (``ChannelSpec.openapi``)."""

from __future__ import annotations

from typing import Any

from hub.channels.email.responses import NewEmailOut
from hub.channels.email.routes import NewEmailIn
from hub.channels.email.schedule_openapi import SCHEDULE_MODELS, SCHEDULE_PATHS
from hub.channels.spec import ChannelOpenApi
from hub.http.openapi_build import ERROR, OPERATOR, op, path_id

EMAIL_PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/contacts/{contact_id}/emails": {
        "post": op(
            "Start a new email to a contact from an email channel: a new conversation (its "
            "thread, assigned to the writer) whose first message is the email, sent through "
            "the outbox with its subject as written. `to` is one of the contact's emails (his "
            "first when left out); attachment_ids are the writer's own unsent uploads. 422 "
            "not_email_channel, contact_has_no_email, invalid_to, invalid_subject, empty_body, "
            "address_suppressed (the address bounced for good), invalid_attachments; 409 "
            "email_of_another_contact when mail from that address arrives as another contact",
            body=NewEmailIn,
            answer=NewEmailOut,
            ok=201,
            auth=OPERATOR,
            params=[path_id("contact_id")],
            errors=(400, 401, 404, 409, 413, 422),
        )
    },
}


def _code(description: str, max_length: int | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if max_length is not None:
        schema["maxLength"] = max_length
    return {
        "name": "code",
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
    }


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": ERROR}},
    }
    if headers:
        out["headers"] = headers
    return out


_PIXEL = op(
    "A tracked email's open pixel (mail clients load it): the same 1x1 GIF, not cached, for "
    "every code, valid or not and rate-limited or not; a valid one's hit is stored with its "
    "verdict (human, machine, unknown) and a person's open is announced as message.opened",
    errors=(),
    content_type="image/gif",
    db=False,
)
# Any text: the pixel answers the same GIF whatever it is given.
_PIXEL["parameters"] = [_code("<token>.gif, from the email's HTML part")]
_CLICK: dict[str, Any] = {
    "summary": "A tracked email's link: 302 to the address the hub stored for that email and "
    "place (never elsewhere), the click stored with its verdict and a person's announced as "
    "message.clicked; the same 404 for any code the hub did not make; 429 past the per-address "
    "limit",
    "parameters": [_code("<token>.<place>.<signature>, from the email's HTML part", 200)],
    "responses": {
        "302": {
            "description": "To the link",
            "headers": {
                "Location": {"required": True, "schema": {"type": "string", "format": "uri"}}
            },
        },
        "404": _error("No such link: code not_found, whatever was wrong"),
        "429": _error(
            "Too many requests from this address: code rate_limited",
            {"Retry-After": {"required": True, "schema": {"type": "integer"}}},
        ),
        "503": {"$ref": "#/components/responses/DatabaseUnavailable"},
    },
}
EMAIL_PATHS["/t/o/{code}"] = {"get": _PIXEL}
EMAIL_PATHS["/t/c/{code}"] = {"get": _CLICK}

EMAIL_OPENAPI = ChannelOpenApi(
    paths={**EMAIL_PATHS, **SCHEDULE_PATHS}, models=(NewEmailIn, NewEmailOut, *SCHEDULE_MODELS)
)
