"""The Telegram channel's live part in one process: its bots, the sender of replies, the
long-polling runner and the pruner of old updates.

Everything here needs aiogram, whose import takes seconds of CPU and about 150 MB, so the
channel's light state (``keys.TelegramState``) makes this only once a Telegram channel exists:
at start-up when the database holds one, or when the first one appears at run time.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hub.bus import stop
from hub.channels.telegram.adapter import TelegramAdapter
from hub.channels.telegram.bots import BotNotConnected, BotPool
from hub.channels.telegram.polling import Poller
from hub.channels.telegram.updates import UpdateNotApplied, handle_update, prune_updates
from hub.context import HubContext
from hub.errors import Unauthorized, UpstreamError

log = logging.getLogger(__name__)
PRUNE_EVERY_S = 3600.0


class TelegramRuntime:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.bots = BotPool(ctx)
        self.adapter = TelegramAdapter(self.bots)
        self.poller = Poller(ctx, self.bots) if ctx.settings.telegram_polling else None
        self._pruner: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background work (with the app, or when made in a running app)."""
        if self.poller is not None:
            self.poller.start()
        if self._pruner is None:
            self._pruner = asyncio.create_task(self._prune_loop(), name="telegram-update-pruner")

    async def close(self) -> None:
        if self._pruner is not None:
            await stop(self._pruner)
            self._pruner = None
        if self.poller is not None:
            await self.poller.close()
        await self.bots.close()

    async def receive(self, channel_id: int, payload: dict[str, Any]) -> bool:
        """Store and apply an update that came by the webhook; ``True`` if it was a repeat."""
        try:
            bot = await self.bots.get(channel_id)
        except BotNotConnected:
            raise Unauthorized(
                "wrong channel or secret token", code="invalid_secret_token"
            ) from None
        try:
            return await handle_update(self.ctx, channel_id, bot, payload)
        except UpdateNotApplied as exc:
            raise UpstreamError(str(exc), code="telegram_unreachable") from exc

    async def _prune_loop(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_EVERY_S)
            try:
                await prune_updates(self.ctx)
            except Exception:
                log.exception("pruning old telegram updates failed")
