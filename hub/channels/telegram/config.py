"""A Telegram channel's settings.

The public config holds only what admins may read back: the bot's username and id. The token
lives in ``telegram_bots`` and reaches aiogram only (``bots.make_bot``): the Bot API puts it in
every URL, so the hub never logs a Bot API URL or an exception text that could carry one.

Imported wherever the channel is registered, so it imports no aiogram.
"""

from __future__ import annotations

import re
from typing import Any

from hub.crm_sync.rules import validate_auto_leads
from hub.errors import InvalidInput

TYPE = "telegram"
TOKEN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,100}$")
#: What the hub asks Telegram to send; anything else is never fetched.
ALLOWED_UPDATES = ["message", "edited_message"]


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """The public settings, filled in by the connector from getMe (never the token)."""
    unknown = set(config) - {"username", "bot_id", "auto_leads"}
    if unknown:
        raise InvalidInput(
            f"unknown settings for a Telegram channel: {sorted(unknown)}", code="unknown_setting"
        )
    auto_leads = validate_auto_leads(config)
    username, bot_id = config.get("username"), config.get("bot_id")
    if not isinstance(username, str) or not isinstance(bot_id, int):
        raise InvalidInput("a Telegram channel needs its bot's token", code="missing_token")
    extra = {} if auto_leads is None else {"auto_leads": auto_leads}
    return {"username": username, "bot_id": bot_id, **extra}


def check_token(token: Any) -> str:
    if not isinstance(token, str) or not token.strip():
        raise InvalidInput("send the bot's token from @BotFather", code="missing_token")
    clean = str(token).strip()
    if not TOKEN.match(clean):
        raise InvalidInput(
            "this is not a bot token (it looks like 123456789:AAH…)", code="invalid_token"
        )
    return clean
