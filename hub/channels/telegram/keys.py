"""The Telegram channel's per-process state: cached channels, bots, and the polling runner."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hub.channels.cache import ChannelCache
from hub.channels.telegram.bots import BotPool
from hub.channels.telegram.polling import Poller
from hub.context import HubContext


class TelegramState:
    def __init__(self, ctx: HubContext) -> None:
        self.channels = ChannelCache(ctx)
        self.bots = BotPool(ctx)
        self.poller = Poller(ctx, self.bots) if ctx.settings.telegram_polling else None


TELEGRAM = web.AppKey("telegram", TelegramState)


async def telegram_lifecycle(app: web.Application) -> AsyncIterator[None]:
    state = app[TELEGRAM]
    if state.poller is not None:
        state.poller.start()
    try:
        yield
    finally:
        if state.poller is not None:
            await state.poller.close()
        await state.bots.close()
