"""The webhook Telegram calls: ``POST /webhooks/telegram/{channel_id}``.

The ``X-Telegram-Bot-Api-Secret-Token`` header must be the channel's secret (compared in
constant time); anything else, including an unknown channel id, answers 401 alike. The update is
stored and applied before the 200; if the Bot API fails meanwhile the answer is 502 and Telegram
delivers the update again.

Importing this module imports no aiogram (the OpenAPI document takes ``UpdateIn`` from it).
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub.channels.cache import channel_by_secret
from hub.channels.telegram.config import TYPE
from hub.channels.telegram.keys import TELEGRAM
from hub.errors import NotFound, Unauthorized
from hub.http import METRICS, int_param, json, read_json

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
routes = web.RouteTableDef()


class UpdateIn(BaseModel):
    """A Bot API ``Update``; its fields beyond ``update_id`` are read by aiogram."""

    model_config = ConfigDict(extra="allow")
    update_id: int = Field(ge=0, le=2**62)


@routes.post("/webhooks/telegram/{channel_id}")
async def webhook(request: web.Request) -> web.Response:
    try:
        channel_id = int_param(request, "channel_id")
    except NotFound:
        channel_id = 0
    state = request.app[TELEGRAM]
    presented = request.headers.get(SECRET_HEADER, "")
    channel = await channel_by_secret(state.channels, channel_id, TYPE, presented)
    if channel is None:
        raise Unauthorized("wrong channel or secret token", code="invalid_secret_token")
    body = await read_json(request, UpdateIn)
    live = await state.load()  # aiogram, on the first update a process sees
    duplicate = await live.receive(channel.id, body.model_dump())
    if not duplicate:
        request.app[METRICS].messages.labels(TYPE).inc()
    return json({"ok": True, "duplicate": duplicate})
