"""The requests the hub sends (OpenAPI 3.1 ``webhooks``): API-channel callbacks and sync out.

Both are signed by the Standard Webhooks scheme (``hub.outbound.signing``); the receiver answers
2xx to acknowledge, anything else (a redirect too, never followed) is a failed attempt.
"""

from __future__ import annotations

from typing import Any


def _header(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _signed(webhook_id: str) -> list[dict[str, Any]]:
    return [
        _header(
            "webhook-id",
            f"The delivery's id, {webhook_id}: the same on every retry (delivery is at least "
            "once; process each id once)",
        ),
        _header("webhook-timestamp", "Unix seconds of this attempt; refuse it if not recent"),
        _header(
            "webhook-signature",
            "v1, and the base64 HMAC-SHA256 of webhook-id, '.', webhook-timestamp, '.', and the "
            "raw body, keyed with the base64-decoded part of the whsec_ secret (Standard "
            "Webhooks, https://www.standardwebhooks.com/)",
        ),
    ]


def _answers() -> dict[str, Any]:
    return {
        "2XX": {"description": "Received; the delivery is done"},
        "default": {
            "description": "Any other status, a redirect (never followed), a timeout or a "
            "refused connection is a failed attempt, retried with backoff"
        },
    }


_OBJ: dict[str, Any] = {"type": "object"}

REPLY_CALLBACK = {
    "type": "object",
    "required": ["event", "message", "contact"],
    "properties": {
        "event": {"const": "message.created"},
        "message": {
            "type": "object",
            "required": ["id", "conversation_id", "body", "sender", "created_at"],
            "properties": {
                "id": {"type": "integer"},
                "conversation_id": {"type": "integer"},
                "body": {"type": "string"},
                "sender": {
                    "type": "object",
                    "properties": {"type": {"const": "operator"}, "name": {"type": "string"}},
                },
                "created_at": {"type": "string", "format": "date-time"},
            },
        },
        "contact": {
            "type": "object",
            "properties": {"external_id": {"type": ["string", "null"]}},
        },
    },
}

SYNC_RECORD = {
    "type": "object",
    "required": ["id", "event", "entity", "entity_id", "created_at", "data"],
    "properties": {
        "id": {"type": "string", "description": "<record id>-<subscription id>, = webhook-id"},
        "event": {"type": "string", "examples": ["deal.updated"]},
        "entity": {"type": "string", "examples": ["deal"]},
        "entity_id": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"},
        "data": _OBJ,
    },
}

WEBHOOKS: dict[str, dict[str, Any]] = {
    "apiChannelReply": {
        "post": {
            "summary": "An operator's reply, POSTed to an API channel's callback_url",
            "description": "Signed with the channel's secret: its Standard Webhooks form is the "
            "webhook_secret of the channel's creating answer (whsec_ and the base64 of the "
            "secret's UTF-8 bytes). Replies of one conversation arrive in order.",
            "parameters": _signed("message-<message id>"),
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": REPLY_CALLBACK}},
            },
            "responses": _answers(),
        }
    },
    "syncOut": {
        "post": {
            "summary": "A lead, deal or contact change, POSTed to a webhook subscription's url",
            "description": "Signed with the subscription's secret (whsec_…, shown once when it "
            "was created). The changes of one entity arrive in order.",
            "parameters": [
                *_signed("<record id>-<subscription id>"),
                _header("X-Hub-Event", "The event, e.g. deal.updated (also in the body)"),
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": SYNC_RECORD}},
            },
            "responses": _answers(),
        }
    },
}
