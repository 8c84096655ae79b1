"""A Telegram channel's new secret: its webhook is registered again with it.

Telegram sends the channel's secret back with every update (``secret_token``), so a new secret
must reach Telegram before the hub stores it; if Telegram refuses, the old one stays. In polling
mode there is no webhook and nothing to tell. Loads aiogram only when called (through the
connector's module, ``connect``).
"""

from __future__ import annotations

import asyncio
import importlib

from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.telegram.models import TelegramBot
from hub.context import HubContext
from hub.errors import NotFound


async def register_new_secret(ctx: HubContext, channel_id: int, secret: str) -> None:
    async def query(session: AsyncSession) -> tuple[str, str] | None:
        bot = await session.get(TelegramBot, channel_id)
        return None if bot is None else (bot.token, bot.username)

    bot = await ctx.read(query)
    if bot is None:
        raise NotFound(f"channel {channel_id} has no bot", code="channel_not_found")
    connect = await asyncio.to_thread(importlib.import_module, "hub.channels.telegram.connect")
    await connect.CONNECTOR.activate(ctx, channel_id, secret, {"token": bot[0], "username": bot[1]})
