"""Operator replies to widget visitors, with their files: pushed to the visitor's open tabs.

A visitor with no tab open gets the reply when he comes back (the session and the
``messages?after=`` fetch read it from the database), so "sent" here means handed to the live
layer; nothing is lost when nobody is listening.
"""

from __future__ import annotations

from typing import Any

from hub.channels.base import DeliveryError, OutboundMessage
from hub.channels.widget.config import TYPE
from hub.channels.widget.live import WidgetLive
from hub.channels.widget.visitors import visitor_file
from hub.inbox.serialize import attachment_dict


class WidgetAdapter:
    type = TYPE

    def __init__(self, live: WidgetLive) -> None:
        self._live = live

    async def send(self, channel_config: dict[str, Any], secret: str, out: OutboundMessage) -> None:
        if out.contact_external_id is None:
            raise DeliveryError("the conversation has no visitor", retryable=False)
        message = {
            "id": out.message_id,
            "body": out.body,
            "sender": {"type": "operator", "name": out.operator_name},
            "created_at": out.created_at,
            "kind": "message",
            "attachments": [visitor_file(attachment_dict(a)) for a in out.attachments],
        }
        # To the visitor who wrote the conversation only: never to other identities of his
        # contact (a merge may have joined another person's on an unverified email).
        await self._live.push(
            out.channel_id, out.contact_external_id, {"type": "message", "message": message}
        )

    async def close(self) -> None:
        return None
