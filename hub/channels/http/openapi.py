"""The OpenAPI description of the channels' own routes: the website widget's visitor API and
the providers' webhooks (merged into the document by ``hub.http.openapi``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from hub.channels.api import InboundIn
from hub.channels.http.routes import ChannelIn
from hub.channels.responses import ChannelsOut, ChannelTypesOut, CreatedChannelOut, InboundOut
from hub.channels.telegram.responses import TelegramLinkOut, UpdateOut
from hub.channels.telegram.routes import UpdateIn
from hub.channels.widget.callback import CallbackIn
from hub.channels.widget.responses import (
    CallbackOut,
    VisitorAckOut,
    VisitorContactAnswerOut,
    VisitorMessagesOut,
    WidgetSessionOut,
)
from hub.channels.widget.routes import ContactIn, SessionIn, VisitorMessageIn
from hub.http.openapi_build import OPERATOR
from hub.http.openapi_build import op as _op
from hub.http.openapi_build import path_id as _path_id
from hub.http.openapi_build import query as _query

#: A visitor's requests: 401 for an unknown visitor token, 403 from a page the widget may not be
#: on, 429 past the widget's rate limits (HUB_WIDGET_*).
VISITOR_ERRORS = (400, 401, 403, 413, 422, 429)


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


def _widget_script() -> dict[str, Any]:
    """The embed script: gzip-compressed when the client accepts it; 304 to a cache that has it."""
    operation = _op(
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


CHANNEL_PATHS: dict[str, dict[str, Any]] = {
    # Connecting channels (admins), and the API channel's own route.
    "/api/v1/channel-types": {
        "get": _op(
            "The channel types this hub serves: type, title, badge and capabilities",
            answer=ChannelTypesOut,
            auth=OPERATOR,
            errors=(401,),
        )
    },
    "/api/v1/channels": {
        "get": _op(
            "List channels (never their secrets; their settings to admins only)",
            answer=ChannelsOut,
            auth=OPERATOR,
        ),
        "post": _op(
            "Connect a channel (admin); the secret is shown once. Other fields are the "
            "type's settings, e.g. callback_url for type api, token for type telegram (checked "
            "with getMe, never returned; the webhook is registered; a bot connected already "
            "answers 409 bot_already_connected). A callback_url whose host "
            "is or resolves to a non-public address (private, loopback, link-local, metadata…) "
            "answers 422 destination_not_allowed unless HUB_WEBHOOK_ALLOWED_NETWORKS allows it",
            body=ChannelIn,
            answer=CreatedChannelOut,
            ok=201,
            auth=OPERATOR,
            errors=(400, 401, 403, 409, 413, 422),
        ),
    },
    "/api/v1/channels/{channel_id}/inbound": {
        "post": _op(
            "API channel: feed a customer message (Bearer = channel secret); a repeated "
            "external_message_id answers 200 with duplicate=true and stores nothing",
            body=InboundIn,
            answer=InboundOut,
            ok=201,
            also_ok=(200,),
            auth=[{"channelSecret": []}],
            params=[_path_id("channel_id")],
        ),
    },
    # The website widget channel (visitors; the page's Origin must be one the channel allows).
    "/widget.js": {"get": _widget_script()},
    "/": {"get": _op("A demo page embedding the demo widget", errors=(), content_type="text/html")},
    "/demo.js": {
        "get": _op(
            "The demo page's own script (its price calculator)",
            errors=(404,),
            content_type="application/javascript",
            db=False,
        )
    },
    "/api/widget/v1/{tail}": {
        "options": _op(
            "CORS preflight for an allowed site (for tail=sessions, for any site: it may read "
            "the session call's refusal, 403 origin_not_allowed or 404 unknown_website_token)",
            ok=204,
            errors=(403, 404),
            params=[{"name": "tail", "in": "path", "required": True, "schema": {"type": "string"}}],
        ),
    },
    "/api/widget/v1/sessions": {
        "post": _op(
            "Start or resume a visitor session by website_token; answers the visitor_token",
            body=SessionIn,
            answer=WidgetSessionOut,
            errors=(400, 403, 404, 413, 422, 429),
        ),
    },
    "/api/widget/v1/messages": {
        "get": _op(
            "The visitor's messages (X-Visitor-Token header; after=<id>)",
            answer=VisitorMessagesOut,
            errors=VISITOR_ERRORS,
        ),
        "post": _op(
            "A visitor message {client_id, body} (REST fallback of the socket)",
            body=VisitorMessageIn,
            answer=VisitorAckOut,
            errors=VISITOR_ERRORS,
        ),
    },
    "/api/widget/v1/callback": {
        "post": _op(
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
        "post": _op(
            "A visitor leaves his name, email or phone {visitor_token, …}",
            body=ContactIn,
            answer=VisitorContactAnswerOut,
            errors=VISITOR_ERRORS,
        ),
    },
    "/api/widget/v1/telegram-link": {
        "get": _op(
            "A visitor's link to continue in Telegram (X-Visitor-Token; ?channel=<telegram "
            "channel id>, else the first bot): {url, payload, bot_username, channel_id, "
            "expires_in}. Opening it joins his Telegram account to his contact",
            answer=TelegramLinkOut,
            params=[_query("channel", "a Telegram channel id", "integer")],
            errors=(401, 403, 404, 429),
        ),
    },
    # Webhooks of providers.
    "/webhooks/telegram/{channel_id}": {
        "post": _op(
            "Telegram Bot API updates for a connected bot (X-Telegram-Bot-Api-Secret-Token = "
            "the channel's secret, else 401). Stored and applied before the 200; a repeated "
            "update_id answers duplicate=true; 502 when the Bot API failed meanwhile (Telegram "
            "delivers the update again)",
            body=UpdateIn,
            answer=UpdateOut,
            auth=[{"telegramSecret": []}],
            params=[_path_id("channel_id")],
            errors=(400, 401, 413, 422, 502),
        ),
    },
    "/ws/widget": {
        "get": _op(
            "Visitor WebSocket (upgrade, ?visitor_token=). Client frames: message {client_id, "
            "body}, typing, ping. Server frames: ready, ack, message, typing {sender, active}, "
            "presence, error, pong.",
            ok=101,
            errors=(400, 401, 403, 429),
        ),
    },
}

CHANNEL_MODELS: tuple[type[BaseModel], ...] = (
    ChannelIn,
    InboundIn,
    ChannelsOut,
    ChannelTypesOut,
    CreatedChannelOut,
    InboundOut,
    UpdateIn,
    SessionIn,
    VisitorMessageIn,
    CallbackIn,
    ContactIn,
    WidgetSessionOut,
    VisitorMessagesOut,
    VisitorAckOut,
    CallbackOut,
    VisitorContactAnswerOut,
    TelegramLinkOut,
    UpdateOut,
)
