"""A Telegram channel's settings and the aiogram ``Bot`` objects that speak for it.

The public config holds only what admins may read back: the bot's username and id. The token
lives in ``telegram_bots`` and reaches aiogram only: the Bot API puts it in every URL, so the
hub never logs a Bot API URL or an exception text that could carry one.
"""

from __future__ import annotations

import re
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from hub.errors import InvalidInput
from hub.settings import Settings

TYPE = "telegram"
TOKEN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,100}$")
#: What the hub asks Telegram to send; anything else is never fetched.
ALLOWED_UPDATES = ["message", "edited_message"]


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """The public settings, filled in by the connector from getMe (never the token)."""
    unknown = set(config) - {"username", "bot_id"}
    if unknown:
        raise InvalidInput(
            f"unknown settings for a Telegram channel: {sorted(unknown)}", code="unknown_setting"
        )
    username, bot_id = config.get("username"), config.get("bot_id")
    if not isinstance(username, str) or not isinstance(bot_id, int):
        raise InvalidInput("a Telegram channel needs its bot's token", code="missing_token")
    return {"username": username, "bot_id": bot_id}


def check_token(token: Any) -> str:
    if not isinstance(token, str) or not token.strip():
        raise InvalidInput("send the bot's token from @BotFather", code="missing_token")
    clean = str(token).strip()
    if not TOKEN.match(clean):
        raise InvalidInput(
            "this is not a bot token (it looks like 123456789:AAH…)", code="invalid_token"
        )
    return clean


def api_server(settings: Settings) -> TelegramAPIServer:
    return TelegramAPIServer.from_base(settings.telegram_api_url)


def make_bot(settings: Settings, token: str, timeout_s: float | None = None) -> Bot:
    """A ``Bot`` on the configured Bot API server; close it with ``bot.session.close()``."""
    session = AiohttpSession(
        api=api_server(settings), timeout=timeout_s or settings.delivery_timeout_s
    )
    return Bot(token, session=session)
