"""A Telegram channel's webhook when an admin changes the channel: a new secret, or the
channel turned off or on.

Telegram sends the channel's secret back with every update (``secret_token``), so a new secret
must reach Telegram before the hub stores it; if Telegram refuses, the old one stays. A channel
turned off has its webhook removed (Telegram keeps the updates, up to a day), one turned on has
it set again first. In polling mode there is no webhook and nothing to tell (the poller reads
active channels only). Loads aiogram only when called (through the connector's module,
``connect``).
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.telegram.models import TelegramBot
from hub.context import HubContext
from hub.errors import NotFound
from hub.inbox.models import Channel

MODULE = "hub.channels.telegram.connect"


async def _bot(ctx: HubContext, channel_id: int) -> tuple[str, str, str]:
    """The channel's bot token and username, and the channel's secret."""

    async def query(session: AsyncSession) -> tuple[str, str, str] | None:
        bot = await session.get(TelegramBot, channel_id)
        channel = await session.get(Channel, channel_id)
        if bot is None or channel is None:
            return None
        return bot.token, bot.username, channel.secret

    found = await ctx.read(query)
    if found is None:
        raise NotFound(f"channel {channel_id} has no bot", code="channel_not_found")
    return found


async def _connector() -> Any:
    return (await asyncio.to_thread(importlib.import_module, MODULE)).CONNECTOR


async def register_new_secret(ctx: HubContext, channel_id: int, secret: str) -> None:
    token, username, _old = await _bot(ctx, channel_id)
    connector = await _connector()
    await connector.activate(ctx, channel_id, secret, {"token": token, "username": username})


async def turn_on_or_off(ctx: HubContext, channel_id: int, active: bool) -> None:
    token, username, secret = await _bot(ctx, channel_id)
    connector = await _connector()
    if active:
        await connector.activate(ctx, channel_id, secret, {"token": token, "username": username})
    else:
        await connector.remove_webhook(ctx, channel_id, token)
