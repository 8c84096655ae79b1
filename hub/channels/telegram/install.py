"""Wire the Telegram channel into an app: its state, webhook, widget link and adapter."""

from __future__ import annotations

from aiohttp import web

from hub.channels.base import ChannelAdapter
from hub.channels.telegram import deeplink
from hub.channels.telegram.adapter import TelegramAdapter
from hub.channels.telegram.keys import TELEGRAM, TelegramState, telegram_lifecycle
from hub.channels.telegram.routes import routes
from hub.http import CTX


def install(app: web.Application) -> ChannelAdapter:
    state = TelegramState(app[CTX])
    app[TELEGRAM] = state
    app.router.add_routes(routes)
    app.router.add_routes(deeplink.routes)
    app.cleanup_ctx.append(telegram_lifecycle)
    return TelegramAdapter(state.bots)
