"""Long polling for development without a public URL (``HUB_TELEGRAM_POLLING=true``).

Telegram gives a bot's updates to one ``getUpdates`` caller at a time, so each bot is polled by
exactly one process: a process polls a bot only while it holds the bot's lease, a row update on
``telegram_bots`` (owner and expiry) that works alike on SQLite and PostgreSQL. The lease is
renewed after every poll; a process that dies lets it run out and another takes over. The next
``offset`` is stored with the lease, after the updates are stored and applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from datetime import timedelta

from aiogram.exceptions import ClientDecodeError, TelegramAPIError, TelegramNetworkError
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.telegram.bots import BotNotConnected, BotPool
from hub.channels.telegram.config import ALLOWED_UPDATES, TYPE
from hub.channels.telegram.models import TelegramBot
from hub.channels.telegram.updates import UpdateNotApplied, handle_update
from hub.context import HubContext
from hub.db import utcnow
from hub.inbox.models import Channel
from hub.worker import PassFailed, PeriodicWorker, WorkerDone

log = logging.getLogger(__name__)

LEASE_S = 60.0
LONG_POLL_S = 25
#: What a failed ``getUpdates`` may raise; anything else is logged with its traceback.
POLL_ERRORS = (TelegramAPIError, TelegramNetworkError, ClientDecodeError, UpdateNotApplied, OSError)


class Poller(PeriodicWorker):
    """Looks for Telegram channels every ``HUB_TELEGRAM_SCAN_INTERVAL_S`` and polls each bot
    whose lease it takes (``BotPolling``)."""

    name = "telegram-poller"

    def __init__(self, ctx: HubContext, bots: BotPool, long_poll_s: int = LONG_POLL_S) -> None:
        super().__init__(
            interval_s=ctx.settings.telegram_scan_interval_s,
            backoff_s=ctx.settings.worker_backoff_s,
        )
        self._ctx = ctx
        self.bots = bots
        self._long_poll_s = long_poll_s
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._polling: dict[int, BotPolling] = {}

    async def close(self) -> None:
        await self.stop()  # first, so it starts no bot's polling meanwhile
        polling, self._polling = list(self._polling.values()), {}
        await asyncio.gather(*(bot.stop() for bot in polling))
        await self._give_back()

    async def run_once(self) -> int:
        """One look at the channels: polls the bots whose lease it takes; how many it started."""
        started = 0
        for channel_id in await self.channel_ids():
            polling = self._polling.get(channel_id)
            if (polling is None or not polling.running) and await self.take_lease(channel_id):
                backoff_s = self._ctx.settings.telegram_poll_backoff_s
                self._polling[channel_id] = polling = BotPolling(self, channel_id, backoff_s)
                await polling.start()
                started += 1
        return started

    async def channel_ids(self) -> list[int]:
        async def query(session: AsyncSession) -> list[int]:
            rows = await session.scalars(
                select(Channel.id)
                .join(TelegramBot, TelegramBot.channel_id == Channel.id)
                .where(Channel.type == TYPE, Channel.is_active.is_(True))
            )
            return list(rows.all())

        return await self._ctx.read(query)

    async def take_lease(self, channel_id: int) -> bool:
        """Take or renew the bot's lease; whether this process holds it now."""
        now = utcnow()

        async def unit(session: AsyncSession) -> bool:
            got = await session.execute(
                update(TelegramBot)
                .where(
                    TelegramBot.channel_id == channel_id,
                    or_(
                        TelegramBot.poll_owner.is_(None),
                        TelegramBot.poll_owner == self.owner,
                        TelegramBot.poll_lease_until < now,
                    ),
                )
                .values(poll_owner=self.owner, poll_lease_until=now + timedelta(seconds=LEASE_S))
                .returning(TelegramBot.channel_id)
                .execution_options(synchronize_session=False)
            )
            return got.scalar() is not None

        return await self._ctx.write(unit)

    async def _save_offset(self, channel_id: int, offset: int) -> bool:
        """Store the next offset and renew the lease; ``False`` if another process took it."""

        async def unit(session: AsyncSession) -> bool:
            got = await session.execute(
                update(TelegramBot)
                .where(TelegramBot.channel_id == channel_id, TelegramBot.poll_owner == self.owner)
                .values(
                    poll_offset=offset,
                    poll_lease_until=utcnow() + timedelta(seconds=LEASE_S),
                )
                .returning(TelegramBot.channel_id)
                .execution_options(synchronize_session=False)
            )
            return got.scalar() is not None

        return await self._ctx.write(unit)

    async def _give_back(self) -> None:
        async def unit(session: AsyncSession) -> None:
            await session.execute(
                update(TelegramBot)
                .where(TelegramBot.poll_owner == self.owner)
                .values(poll_owner=None, poll_lease_until=None)
            )

        with contextlib.suppress(Exception):
            await self._ctx.write(unit)

    async def poll_once(self, channel_id: int, offset: int) -> int | None:
        """One ``getUpdates``: store and apply what came; the next offset, or ``None`` when
        the lease was lost."""
        bot = await self.bots.get(channel_id)
        batch = await bot.get_updates(
            offset=offset,
            timeout=self._long_poll_s,
            allowed_updates=ALLOWED_UPDATES,
            request_timeout=self._long_poll_s + 10,
        )
        for item in batch:
            payload = item.model_dump(mode="json", exclude_none=True, by_alias=True)
            await handle_update(self._ctx, channel_id, bot, payload)
            offset = item.update_id + 1
        return offset if await self._save_offset(channel_id, offset) else None

    async def current_offset(self, channel_id: int) -> int:
        async def query(session: AsyncSession) -> int:
            row = await session.get(TelegramBot, channel_id)
            return int(row.poll_offset) if row else 0

        return await self._ctx.read(query)


class BotPolling(PeriodicWorker):
    """One bot's long polling: a ``getUpdates`` a pass, one after another (each waits at
    Telegram's end for updates), while this process holds the bot's lease. A failed one is
    followed by ``HUB_TELEGRAM_POLL_BACKOFF_S``, and the lease is checked before the next."""

    def __init__(self, poller: Poller, channel_id: int, backoff_s: float) -> None:
        super().__init__(interval_s=0, backoff_s=backoff_s)
        self.name = f"telegram-poll-{channel_id}"
        self._poller = poller
        self._channel_id = channel_id
        self._offset: int | None = None

    def busy(self, done: int) -> bool:
        return True  # the next long poll at once

    async def run_once(self) -> int:
        """One ``getUpdates`` and what came with it; how far the offset moved."""
        poller, channel_id = self._poller, self._channel_id
        if self.failures and not await poller.take_lease(channel_id):
            raise WorkerDone  # another process polls this bot now
        try:
            if self._offset is None:
                bot = await poller.bots.get(channel_id)
                await bot.delete_webhook(drop_pending_updates=False)
                self._offset = await poller.current_offset(channel_id)
            offset = await poller.poll_once(channel_id, self._offset)
        except BotNotConnected:
            raise WorkerDone from None
        except POLL_ERRORS as exc:
            log.warning("telegram channel %s: polling failed: %s", channel_id, type(exc))
            raise PassFailed from exc
        if offset is None:
            raise WorkerDone  # the lease was lost
        moved, self._offset = offset - self._offset, offset
        return moved
