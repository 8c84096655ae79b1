"""``/start`` deep links: where a Telegram customer came from, and website visitors carried over.

A link ``https://t.me/<bot>?start=<payload>`` opens the bot with ``/start <payload>``; Telegram
allows 1–64 characters of ``[A-Za-z0-9_-]``. Two kinds are understood:

* ``<source>--<campaign>``, both parts non-empty: an advert's link. The payload is kept as
  ``telegram_start`` on the contact and the conversation, and ``utm_source`` / ``utm_campaign``
  on the conversation, where lead sources are read.

Any other payload (a bare word, a signed link that expired or does not verify) is kept as
``telegram_start`` only, with no UTM marks: a word nobody wrote as ``<source>--<campaign>`` is
not a source, and docs/admins.md promises the marks for that form alone.
* ``c_<contact>_<expiry>_<signature>``: a link the website widget hands its visitor
  (``GET /api/widget/v1/telegram-link``). It is signed with the hub's secret key and expires
  after a day, so it cannot be forged or guessed; a Telegram user new to the bot who opens it
  joins the visitor's contact instead of becoming a new one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.telegram.config import TYPE
from hub.channels.telegram.models import TelegramBot
from hub.channels.widget.config import origin_allowed
from hub.channels.widget.conversation import link_contact
from hub.channels.widget.keys import WIDGET
from hub.channels.widget.routes import CORS_ORIGIN
from hub.channels.widget.visitors import visitor_by_token
from hub.errors import Forbidden, NotFound, RateLimited
from hub.http import CTX, client_address, json, query_int
from hub.inbox.models import Channel
from hub.settings import Settings

LINK_TTL_S = 24 * 3600
_PREFIX = "c"


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _signature(settings: Settings, contact_id: int, expires: int) -> str:
    key = hashlib.sha256(b"hub telegram link:" + settings.resolved_secret_key().encode()).digest()
    mac = hmac.new(key, f"{contact_id}:{expires}".encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def sign_contact(settings: Settings, contact_id: int, now: float | None = None) -> str:
    """A payload that carries ``contact_id`` to Telegram for a day (at most 64 characters)."""
    expires = int(now if now is not None else time.time()) + LINK_TTL_S
    sig = _signature(settings, contact_id, expires)
    return f"{_PREFIX}_{_b36(contact_id)}_{_b36(expires)}_{sig}"


def verify_contact(settings: Settings, payload: str, now: float | None = None) -> int | None:
    """The contact id of a valid, unexpired signed payload; ``None`` for anything else."""
    parts = payload.split("_", 3)
    if len(parts) != 4 or parts[0] != _PREFIX:
        return None
    try:
        contact_id, expires = int(parts[1], 36), int(parts[2], 36)
    except ValueError:
        return None
    if expires < (now if now is not None else time.time()) or contact_id > 2**31 - 1:
        return None
    expected = _signature(settings, contact_id, expires)
    return contact_id if hmac.compare_digest(expected, parts[3]) else None


@dataclass(frozen=True, slots=True)
class StartLink:
    join_contact_id: int | None = None
    contact_attributes: dict[str, Any] = field(default_factory=dict)
    conversation_attributes: dict[str, Any] = field(default_factory=dict)


def interpret(settings: Settings, payload: str) -> StartLink:
    """What a ``/start`` payload means for the contact and the conversation."""
    contact_id = verify_contact(settings, payload)
    if contact_id is not None:
        attrs = {"telegram_start": payload, "telegram_start_kind": "website"}
        return StartLink(contact_id, {"telegram_start": payload}, attrs)
    source, _, campaign = payload.partition("--")
    if not source or not campaign:
        other = {"telegram_start": payload, "telegram_start_kind": "other"}
        return StartLink(None, {"telegram_start": payload}, other)
    conv: dict[str, Any] = {"telegram_start": payload, "telegram_start_kind": "advert"}
    conv["utm_source"] = source
    conv["utm_campaign"] = campaign
    return StartLink(None, {"telegram_start": payload}, conv)


routes = web.RouteTableDef()


async def _bot_username(request: web.Request, channel_id: int | None) -> tuple[int, str]:
    async def query(session: AsyncSession) -> tuple[int, str] | None:
        stmt = (
            select(Channel.id, TelegramBot.username)
            .join(TelegramBot, TelegramBot.channel_id == Channel.id)
            .where(Channel.type == TYPE, Channel.is_active.is_(True))
            .order_by(Channel.id)
            .limit(1)
        )
        if channel_id is not None:
            stmt = stmt.where(Channel.id == channel_id)
        row = (await session.execute(stmt)).first()
        return (row[0], row[1]) if row else None

    found = await request.app[CTX].read(query)
    if found is None or not found[1]:
        raise NotFound("no Telegram bot is connected", code="telegram_not_connected")
    return found


@routes.get("/api/widget/v1/telegram-link")
async def telegram_link(request: web.Request) -> web.Response:
    """A visitor's link to continue the chat in Telegram (``X-Visitor-Token``); the first
    connected bot, or ``?channel=<telegram channel id>``."""
    state = request.app[WIDGET]
    if not state.ip_limit.allow(client_address(request)):
        raise RateLimited("too many requests from this address; wait a little")
    ctx = request.app[CTX]
    visitor, channel = await visitor_by_token(ctx, request.headers.get("X-Visitor-Token", ""))
    origin = request.headers.get("Origin")
    if not origin_allowed(channel.config, origin, ctx.settings.public_url):
        raise Forbidden("this site may not embed this widget", code="origin_not_allowed")
    if origin:
        request[CORS_ORIGIN] = origin
    tg_channel_id, username = await _bot_username(request, query_int(request, "channel"))

    visitor = await link_contact(ctx, visitor, channel)
    assert visitor.contact_id is not None
    payload = sign_contact(ctx.settings, visitor.contact_id)
    return json(
        {
            "channel_id": tg_channel_id,
            "bot_username": username,
            "payload": payload,
            "url": f"https://t.me/{username}?start={payload}",
            "expires_in": LINK_TTL_S,
        }
    )
