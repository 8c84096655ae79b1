"""Operator replies to widget visitors, with their files: pushed to the visitor's open tabs.

A visitor with no tab open gets the reply when he comes back (the session and the
``messages?after=`` fetch read it from the database), so "sent" here means handed to the live
layer; nothing is lost when nobody is listening. If he left an email and a mailbox answers this
site's visitors, the reply also goes to him by email (``email_route``): at commit the hand-over
says ``DeliverLater``, and the outbox sends it through the mailbox's adapter, with its retries.
"""

from __future__ import annotations

from typing import Any

from hub.channels.base import DeliverLater, DeliveryError, OutboundMessage, SendResult
from hub.channels.widget.config import TYPE
from hub.channels.widget.email_route import email_route
from hub.channels.widget.keys import WidgetState
from hub.channels.widget.visitors import visitor_file
from hub.inbox.serialize import attachment_dict


class WidgetAdapter:
    type = TYPE

    def __init__(self, state: WidgetState) -> None:
        self._state = state
        self._live = state.live

    async def send(
        self, channel_config: dict[str, Any], secret: str, out: OutboundMessage
    ) -> SendResult | None:
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
        # Cheapest first: a tab here; then whether he could be emailed at all (most visitors
        # left no address); only then a tab on another process.
        tabs = self._state.tabs
        if self._live.has_tab(out.channel_id, out.contact_external_id):
            return None
        route = await email_route(self._state.ctx, out)
        mailer = self._state.ctx.adapters.get(route.channel_type) if route is not None else None
        if route is None or mailer is None:
            return None
        if await tabs.is_open(out.channel_id, out.contact_external_id):
            return None
        if out.live:
            raise DeliverLater("the visitor has no tab open; the reply goes by email")
        sent = await mailer.send(route.config, "", route.outbound(out))
        state = dict(sent.state) if isinstance(sent, SendResult) else {}
        return SendResult(
            sent.provider_message_id if isinstance(sent, SendResult) else None,
            {**state, "by_email": route.to},
        )

    async def close(self) -> None:
        return None
