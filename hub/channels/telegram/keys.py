"""The Telegram channel's per-process state: cached channels, and the live part once needed.

The live part (``runtime.TelegramRuntime``: bots, the sender, the poller) needs aiogram, which
takes seconds of CPU and about 150 MB to import, so a hub without a Telegram channel never loads
it. It is made at start-up when the database holds a Telegram channel; otherwise on first use
(an update on the webhook, a reply to send) or when a look every ``HUB_TELEGRAM_SCAN_INTERVAL_S``
finds that a channel was connected, on this process or another one, so none needs a restart.
Nothing in this module imports aiogram.
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

from hub.channels.cache import ChannelCache
from hub.channels.telegram.config import TYPE
from hub.context import HubContext
from hub.inbox.models import Channel
from hub.worker import PeriodicWorker, WorkerDone

if TYPE_CHECKING:
    from hub.channels.telegram.runtime import TelegramRuntime

log = logging.getLogger(__name__)
RUNTIME_MODULE = "hub.channels.telegram.runtime"


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
                        await live.start()
                    self.live = live
        return self.live

    async def start(self) -> None:
        self._started = True
        if self.live is not None:
            await self.live.start()

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


class ChannelWatcher(PeriodicWorker):
    """Looks for a Telegram channel while this process has no live part, and makes it when
    one appears; then its work is done."""

    name = "telegram-watcher"
    pass_at_start = False  # start-up has just looked

    def __init__(self, state: TelegramState) -> None:
        super().__init__(
            interval_s=state.ctx.settings.telegram_scan_interval_s,
            backoff_s=state.ctx.settings.worker_backoff_s,
        )
        self._state = state

    async def run_once(self) -> int:
        if self._state.live is None and await telegram_channel_exists(self._state.ctx):
            await self._state.load()
        if self._state.live is not None:  # made here, or on first use meanwhile
            raise WorkerDone
        return 0


async def telegram_lifecycle(app: web.Application) -> AsyncIterator[None]:
    state = app[TELEGRAM]
    try:
        if await telegram_channel_exists(state.ctx):
            await state.load()
    except Exception:
        log.exception("telegram: looking for connected channels failed; looking again later")
    await state.start()
    watcher = ChannelWatcher(state)
    if state.live is None:
        await watcher.start()
    try:
        yield
    finally:
        await watcher.close()
        await state.close()
