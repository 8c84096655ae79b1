"""The Telegram channel's JSON answers: to the Bot API's webhook and to a widget visitor's
"continue in Telegram" link (conventions in ``hub.responses``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hub.responses import Out


class UpdateOut(Out):
    ok: Literal[True]
    duplicate: bool = Field(description="The update_id was applied before: nothing changed")


class TelegramLinkOut(Out):
    channel_id: int = Field(description="The Telegram channel whose bot the link opens")
    bot_username: str
    payload: str = Field(description="The signed /start payload that joins the visitor's contact")
    url: str = Field(description="https://t.me/<bot>?start=<payload>")
    expires_in: int = Field(description="Seconds the payload is valid")
