"""The OpenAPI description of the calls channel's webhook (``ChannelSpec.openapi``)."""

from __future__ import annotations

from typing import Any

from hub.channels.calls.responses import SuccessOut
from hub.channels.spec import ChannelOpenApi
from hub.http.openapi_build import op, path_id

_TOKEN = {
    "name": "token",
    "in": "path",
    "required": True,
    "description": "the channel's secret, as the URL given when it was connected",
    "schema": {"type": "string"},
}
_TAIL = {
    "name": "tail",
    "in": "path",
    "required": True,
    "description": "what the provider adds to the URL (Mango: events/call, events/summary, "
    "events/recording)",
    "schema": {"type": "string"},
}
_SUMMARY = (
    "A telephony provider's call event (Twilio, Zadarma, Mango Office, Sipuni, UIS/CoMagic, "
    "Telphin, Calltouch), form-encoded, JSON or in the query, as the provider sends it. The "
    "token must be the channel's secret (else 401 invalid_secret_token), then the provider's "
    "signature must hold (401 invalid_signature); 413 past 64 KiB; 422 invalid_call_event "
    "for a request the provider's dialect cannot read. Every event of a call folds into one "
    "call on the caller's conversation; a repeated event changes nothing. Answered as the "
    'provider expects: Twilio TwiML (text/xml), Sipuni {"success": true}, the others an '
    "empty 200 (Zadarma's zd_echo check: its value)"
)
_TYPES = ("text/plain", "text/xml", "application/json")


def _ops(params: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        method: op(
            _SUMMARY,
            answer=SuccessOut,
            params=params,
            content_type=_TYPES,
            errors=(400, 401, 413, 422),
        )
        for method in ("get", "post")
    }


CALLS_PATHS: dict[str, dict[str, Any]] = {
    "/webhooks/calls/{channel_id}/{token}": _ops([path_id("channel_id"), _TOKEN]),
    "/webhooks/calls/{channel_id}/{token}/{tail}": _ops([path_id("channel_id"), _TOKEN, _TAIL]),
}

CALLS_OPENAPI = ChannelOpenApi(paths=CALLS_PATHS, models=(SuccessOut,))
