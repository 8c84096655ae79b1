"""The Telegram channel's per-process state: cached channels, bots, and the polling runner."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from hub.bus import stop
from hub.channels.cache import ChannelCache
from hub.channels.telegram.bots import BotPool
from hub.channels.telegram.polling import Poller
from hub.channels.telegram.updates import prune_updates
from hub.context import HubContext
from hub.http import CTX

log = logging.getLogger(__name__)
PRUNE_EVERY_S = 3600.0


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
    pruner = asyncio.create_task(_prune_loop(app[CTX]), name="telegram-update-pruner")
    try:
        yield
    finally:
        await stop(pruner)
        if state.poller is not None:
            await state.poller.close()
        await state.bots.close()


async def _prune_loop(ctx: HubContext) -> None:
    while True:
        await asyncio.sleep(PRUNE_EVERY_S)
        try:
            await prune_updates(ctx)
        except Exception:
            log.exception("pruning old telegram updates failed")
