"""Wire the calls channel into an app: its webhook route and state. Calls are never replied
to, so its adapter refuses to send (``Capabilities.replies`` is off: nothing reaches it)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.channels.base import ChannelAdapter, DeliveryError, OutboundMessage, SendResult
from hub.channels.calls.config import TYPE
from hub.channels.calls.keys import CALLS, CallsState, calls_lifecycle
from hub.channels.calls.routes import routes
from hub.http import CTX


class CallsAdapter:
    type = TYPE

    async def send(
        self, channel_config: dict[str, Any], secret: str, out: OutboundMessage
    ) -> SendResult:
        raise DeliveryError("a call cannot be answered by a message", retryable=False)

    async def close(self) -> None:
        return None


def install(app: web.Application) -> ChannelAdapter:
    app[CALLS] = CallsState(app[CTX])
    app.router.add_routes(routes)
    app.cleanup_ctx.append(calls_lifecycle)
    return CallsAdapter()
