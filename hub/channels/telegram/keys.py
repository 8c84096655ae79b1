"""The Telegram channel's per-process state: cached channels, and the live part once needed.

The live part (``runtime.TelegramRuntime``: bots, the sender, the poller) needs aiogram, which
takes seconds of CPU and about 150 MB to import, so a hub without a Telegram channel never loads
it. It is made at start-up when the database holds a Telegram channel; otherwise on first use
(an update on the webhook, a reply to send) or when a look every ``SCAN_EVERY_S`` finds that a
channel was connected, on this process or another one, so none needs a restart. Nothing in this
module imports aiogram.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.bus import stop
from hub.channels.cache import ChannelCache
from hub.channels.telegram.config import TYPE
from hub.context import HubContext
from hub.inbox.models import Channel

if TYPE_CHECKING:
    from hub.channels.telegram.runtime import TelegramRuntime

log = logging.getLogger(__name__)
RUNTIME_MODULE = "hub.channels.telegram.runtime"
#: How often a process without the live part looks for a Telegram channel.
SCAN_EVERY_S = 10.0


class TelegramState:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.channels = ChannelCache(ctx)
        #: The live part, once made (``load``).
        self.live: TelegramRuntime | None = None
        self._loading = asyncio.Lock()
        self._started = False

    async def load(self) -> TelegramRuntime:
        """The live part, made on first use. aiogram is imported in a worker thread, so the
        event loop goes on serving meanwhile."""
        if self.live is None:
            async with self._loading:
                if self.live is None:
                    await asyncio.to_thread(importlib.import_module, RUNTIME_MODULE)
                    from hub.channels.telegram.runtime import TelegramRuntime

                    live = TelegramRuntime(self.ctx)
                    if self._started:
                        live.start()
                    self.live = live
        return self.live

    async def start(self) -> None:
        self._started = True
        if self.live is not None:
            self.live.start()

    async def close(self) -> None:
        self._started = False
        if self.live is not None:
            await self.live.close()


TELEGRAM = web.AppKey("telegram", TelegramState)


async def telegram_channel_exists(ctx: HubContext) -> bool:
    async def query(session: AsyncSession) -> bool:
        found = await session.scalar(select(Channel.id).where(Channel.type == TYPE).limit(1))
        return found is not None

    return await ctx.read(query)


async def telegram_lifecycle(app: web.Application) -> AsyncIterator[None]:
    state = app[TELEGRAM]
    try:
        if await telegram_channel_exists(state.ctx):
            await state.load()
    except Exception:
        log.exception("telegram: looking for connected channels failed; looking again later")
    await state.start()
    watcher = None
    if state.live is None:
        watcher = asyncio.create_task(_load_once_connected(state), name="telegram-watcher")
    try:
        yield
    finally:
        if watcher is not None:
            await stop(watcher)
        await state.close()


async def _load_once_connected(state: TelegramState) -> None:
    while state.live is None:
        await asyncio.sleep(SCAN_EVERY_S)
        try:
            if await telegram_channel_exists(state.ctx):
                await state.load()
        except Exception:
            log.exception("telegram: looking for connected channels failed")
