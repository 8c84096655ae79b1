"""The Telegram channel's live part in one process: its bots, the sender of replies, the
long-polling runner and the pruner of old updates.

Everything here needs aiogram, whose import takes seconds of CPU and about 150 MB, so the
channel's light state (``keys.TelegramState``) makes this only once a Telegram channel exists:
at start-up when the database holds one, or when the first one appears at run time.
"""

from __future__ import annotations

from typing import Any

from hub.channels.telegram.adapter import TelegramAdapter
from hub.channels.telegram.bots import BotNotConnected, BotPool
from hub.channels.telegram.polling import Poller
from hub.channels.telegram.updates import UpdateNotApplied, handle_update, prune_updates
from hub.context import HubContext
from hub.errors import Unauthorized, UpstreamError
from hub.worker import PeriodicWorker

#: How often stored updates past their keeping time are deleted: housekeeping nobody waits for,
#: so not a setting.
PRUNE_EVERY_S = 3600.0


class UpdatePruner(PeriodicWorker):
    """Deletes the stored updates old enough to be forgotten (``prune_updates``), hourly."""

    name = "telegram-update-pruner"
    pass_at_start = False  # hourly, not at every start-up besides

    def __init__(self, ctx: HubContext) -> None:
        super().__init__(interval_s=PRUNE_EVERY_S, backoff_s=ctx.settings.worker_backoff_s)
        self._ctx = ctx

    async def run_once(self) -> int:
        return await prune_updates(self._ctx)


class TelegramRuntime:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.bots = BotPool(ctx)
        self.adapter = TelegramAdapter(self.bots)
        self.poller = Poller(ctx, self.bots) if ctx.settings.telegram_polling else None
        self._pruner = UpdatePruner(ctx)

    async def start(self) -> None:
        """Start the background work (with the app, or when made in a running app)."""
        if self.poller is not None:
            await self.poller.start()
        await self._pruner.start()

    async def close(self) -> None:
        await self._pruner.close()
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
