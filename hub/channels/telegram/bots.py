"""One aiogram ``Bot`` per connected Telegram channel, per process, made on first use.

A ``Bot`` holds an HTTP session; keeping one per channel reuses its connections for every
send and download. The token is read from ``telegram_bots`` when the bot is first needed.
"""

from __future__ import annotations

import asyncio

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.telegram.models import TelegramBot
from hub.context import HubContext
from hub.settings import Settings


def make_bot(settings: Settings, token: str, timeout_s: float | None = None) -> Bot:
    """A ``Bot`` on the configured Bot API server; close it with ``bot.session.close()``."""
    session = AiohttpSession(
        api=TelegramAPIServer.from_base(settings.telegram_api_url),
        timeout=timeout_s or settings.delivery_timeout_s,
    )
    return Bot(token, session=session)


class BotNotConnected(LookupError):
    """The channel has no bot (it was removed)."""


class BotPool:
    def __init__(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self._bots: dict[int, Bot] = {}
        self._lock = asyncio.Lock()

    async def get(self, channel_id: int) -> Bot:
        bot = self._bots.get(channel_id)
        if bot is not None:
            return bot
        async with self._lock:
            bot = self._bots.get(channel_id)
            if bot is None:

                async def query(session: AsyncSession) -> str | None:
                    row = await session.get(TelegramBot, channel_id)
                    return row.token if row else None

                token = await self._ctx.read(query)
                if token is None:
                    raise BotNotConnected(channel_id)
                bot = make_bot(self._ctx.settings, token)
                self._bots[channel_id] = bot
            return bot

    async def close(self) -> None:
        bots, self._bots = list(self._bots.values()), {}
        for bot in bots:
            await bot.session.close()
