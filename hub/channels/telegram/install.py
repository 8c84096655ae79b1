"""Wire the Telegram channel into an app: its state, webhook, widget link and adapter.

Called for every app, with or without a Telegram channel, so it loads no aiogram: the routes and
the adapter reach the live part (``keys.TelegramState.load``) when they are first used.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.channels.base import ChannelAdapter, OutboundMessage, SendResult
from hub.channels.telegram import deeplink
from hub.channels.telegram.config import TYPE
from hub.channels.telegram.keys import TELEGRAM, TelegramState, telegram_lifecycle
from hub.channels.telegram.routes import routes
from hub.http import CTX


class TelegramSender:
    """The delivery worker's adapter: sends through the live part, made on the first reply."""

    type = TYPE

    def __init__(self, state: TelegramState) -> None:
        self._state = state

    async def send(
        self, channel_config: dict[str, Any], secret: str, out: OutboundMessage
    ) -> SendResult:
        live = await self._state.load()
        return await live.adapter.send(channel_config, secret, out)

    async def close(self) -> None:
        if self._state.live is not None:
            await self._state.live.adapter.close()


def install(app: web.Application) -> ChannelAdapter:
    state = TelegramState(app[CTX])
    app[TELEGRAM] = state
    app.router.add_routes(routes)
    app.router.add_routes(deeplink.routes)
    app.cleanup_ctx.append(telegram_lifecycle)
    return TelegramSender(state)
