"""A channel type made entirely outside the hub's core, as a contributor would add one: an SMS
gateway. Its settings schema, inbound webhook, adapter, command-line options, API-document paths
and badge are all here; the hub learns of it by one registration (``HUB_CHANNEL_MODULES``
naming this module, or ``hub.channels.registry.register(SPEC)``).

The gateway POSTs each text it receives to ``/webhooks/sms/{channel_id}`` with the channel's
secret as a bearer token; the adapter "sends" an operator's reply by putting it on
``app[SENT]``, where the tests read it (a real gateway would be called over HTTP instead).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.channels.base import InboundContact, InboundMessage, OutboundMessage, SendResult
from hub.channels.cache import ChannelCache, channel_by_secret
from hub.channels.capabilities import Capabilities
from hub.channels.spec import ChannelOpenApi, ChannelSpec, CliOption, describe_secrets
from hub.errors import InvalidInput, NotFound, Unauthorized
from hub.http import CTX, bearer_token, int_param, json, read_json
from hub.http.openapi_build import op, path_id
from hub.inbox.actions import receive_message
from hub.phones import normalize_phone
from hub.responses import Out

TYPE = "sms"
routes = web.RouteTableDef()


class SmsConfig(BaseModel):
    """The channel's settings: the number texts are sent from."""

    model_config = ConfigDict(extra="forbid")
    sender: str = Field(min_length=3, max_length=40)


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    try:
        clean = SmsConfig.model_validate(config)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{where}: {first['msg']}", code="invalid_sms_settings") from exc
    return {"sender": normalize_phone(clean.sender)}


class SmsIn(BaseModel):
    """A text the gateway received."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=100)
    sender: str = Field(min_length=3, max_length=40, alias="from")
    text: str = Field(min_length=1, max_length=1600)


class SmsInOut(Out):
    """The webhook's answer: whether the text was stored before (the gateway sent it again)."""

    duplicate: bool


class SmsOutbox:
    """Replies as the gateway would take them, in order; ``next`` waits for the next one."""

    def __init__(self) -> None:
        self.sent: asyncio.Queue[tuple[dict[str, Any], OutboundMessage]] = asyncio.Queue()

    async def next(self) -> tuple[dict[str, Any], OutboundMessage]:
        return await self.sent.get()


CACHE = web.AppKey("sms_channels", ChannelCache)
SENT = web.AppKey("sms_sent", SmsOutbox)


@routes.post("/webhooks/sms/{channel_id}")
async def inbound(request: web.Request) -> web.Response:
    try:
        channel_id = int_param(request, "channel_id")
    except NotFound:
        channel_id = 0
    channel = await channel_by_secret(request.app[CACHE], channel_id, TYPE, bearer_token(request))
    if channel is None:
        raise Unauthorized("wrong channel or channel secret", code="invalid_channel_secret")
    body = await read_json(request, SmsIn)
    phone = normalize_phone(body.sender)
    result = await receive_message(
        request.app[CTX],
        InboundMessage(channel.id, InboundContact(phone, "", phone), body.text, body.id),
    )
    return json({"duplicate": result.duplicate}, status=200 if result.duplicate else 201)


class SmsAdapter:
    type = TYPE

    def __init__(self, outbox: SmsOutbox) -> None:
        self._outbox = outbox

    async def send(
        self, channel_config: dict[str, Any], secret: str, out: OutboundMessage
    ) -> SendResult:
        await self._outbox.sent.put((channel_config, out))
        return SendResult(provider_message_id=f"sms-{out.message_id}")

    async def close(self) -> None:
        return None


def install(app: web.Application) -> SmsAdapter:
    app[CACHE] = ChannelCache(app[CTX])
    app[SENT] = outbox = SmsOutbox()
    app.router.add_routes(routes)
    return SmsAdapter(outbox)


SPEC = ChannelSpec(
    TYPE,
    validate_config,
    install,
    capabilities=Capabilities(),
    title="SMS gateway",
    badge="SMS",
    cli_options=(CliOption("--sender", "sender", "the number texts are sent from"),),
    describe=lambda created, settings: [
        f"gateway webhook: {settings.public_url.rstrip('/')}/webhooks/sms/{created.channel['id']}",
        *describe_secrets(created, settings),
    ],
    openapi=ChannelOpenApi(
        {
            "/webhooks/sms/{channel_id}": {
                "post": op(
                    "A text the SMS gateway received (Authorization: Bearer <channel secret>)",
                    body=SmsIn,
                    answer=SmsInOut,
                    ok=201,
                    also_ok=(200,),
                    params=[path_id("channel_id")],
                    errors=(400, 401, 413, 422),
                )
            }
        },
        (SmsIn, SmsInOut),
    ),
)
