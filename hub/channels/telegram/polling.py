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

from hub.bus import stop
from hub.channels.telegram.bots import BotNotConnected, BotPool
from hub.channels.telegram.config import ALLOWED_UPDATES, TYPE
from hub.channels.telegram.models import TelegramBot
from hub.channels.telegram.updates import UpdateNotApplied, handle_update
from hub.context import HubContext
from hub.db import utcnow
from hub.inbox.models import Channel

log = logging.getLogger(__name__)

LEASE_S = 60.0
LONG_POLL_S = 25
SCAN_EVERY_S = 10.0
ERROR_PAUSE_S = 5.0


class Poller:
    def __init__(self, ctx: HubContext, bots: BotPool, long_poll_s: int = LONG_POLL_S) -> None:
        self._ctx = ctx
        self._bots = bots
        self._long_poll_s = long_poll_s
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._task: asyncio.Task[None] | None = None
        self._polling: dict[int, asyncio.Task[None]] = {}

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._scan_loop(), name="telegram-poller")

    async def close(self) -> None:
        tasks = [t for t in (self._task, *self._polling.values()) if t is not None]
        await asyncio.gather(*(stop(task) for task in tasks))
        self._task = None
        self._polling.clear()
        await self._give_back()

    async def _scan_loop(self) -> None:
        while True:
            try:
                for channel_id in await self.channel_ids():
                    task = self._polling.get(channel_id)
                    if (task is None or task.done()) and await self.take_lease(channel_id):
                        self._polling[channel_id] = asyncio.create_task(
                            self._poll_loop(channel_id), name=f"telegram-poll-{channel_id}"
                        )
            except Exception:
                log.exception("telegram poller: scanning channels failed")
            await asyncio.sleep(SCAN_EVERY_S)

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
        bot = await self._bots.get(channel_id)
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

    async def _poll_loop(self, channel_id: int) -> None:
        try:
            bot = await self._bots.get(channel_id)
            await bot.delete_webhook(drop_pending_updates=False)
            offset: int | None = await self._current_offset(channel_id)
            while offset is not None:
                try:
                    offset = await self.poll_once(channel_id, offset)
                except (
                    TelegramAPIError,
                    TelegramNetworkError,
                    ClientDecodeError,
                    UpdateNotApplied,
                    OSError,
                ) as exc:
                    log.warning("telegram channel %s: polling failed: %s", channel_id, type(exc))
                    await asyncio.sleep(ERROR_PAUSE_S)
                    if not await self.take_lease(channel_id):
                        return
        except BotNotConnected:
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("telegram channel %s: polling stopped", channel_id)

    async def _current_offset(self, channel_id: int) -> int:
        async def query(session: AsyncSession) -> int:
            row = await session.get(TelegramBot, channel_id)
            return int(row.poll_offset) if row else 0

        return await self._ctx.read(query)
