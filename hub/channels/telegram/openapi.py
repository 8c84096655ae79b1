"""The OpenAPI description of the Telegram channel's routes (``ChannelSpec.openapi``): the
Bot API's webhook and the widget visitor's link to continue in Telegram."""

from __future__ import annotations

from typing import Any

from hub.channels.spec import ChannelOpenApi
from hub.channels.telegram.responses import TelegramLinkOut, UpdateOut
from hub.channels.telegram.routes import UpdateIn
from hub.http.openapi_build import op, path_id, query

TELEGRAM_PATHS: dict[str, dict[str, Any]] = {
    "/api/widget/v1/telegram-link": {
        "get": op(
            "A visitor's link to continue in Telegram (X-Visitor-Token; ?channel=<telegram "
            "channel id>, else the first bot): {url, payload, bot_username, channel_id, "
            "expires_in}. Opening it joins his Telegram account to his contact",
            answer=TelegramLinkOut,
            params=[query("channel", "a Telegram channel id", "integer")],
            errors=(401, 403, 404, 429),
        ),
    },
    "/webhooks/telegram/{channel_id}": {
        "post": op(
            "Telegram Bot API updates for a connected bot (X-Telegram-Bot-Api-Secret-Token = "
            "the channel's secret, else 401). Stored and applied before the 200; a repeated "
            "update_id answers duplicate=true; 502 when the Bot API failed meanwhile (Telegram "
            "delivers the update again)",
            body=UpdateIn,
            answer=UpdateOut,
            auth=[{"telegramSecret": []}],
            params=[path_id("channel_id")],
            errors=(400, 401, 413, 422, 502),
        ),
    },
}

TELEGRAM_OPENAPI = ChannelOpenApi(
    paths=TELEGRAM_PATHS, models=(UpdateIn, TelegramLinkOut, UpdateOut)
)
