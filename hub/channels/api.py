"""The API channel: any system feeds customer messages in and gets operators' replies back.

Inbound: ``POST /api/v1/channels/{id}/inbound`` with ``Authorization: Bearer <channel secret>``.
Outbound: each reply is POSTed as JSON to the channel's ``callback_url``, signed by the Standard
Webhooks scheme (``hub.outbound.signing``) with the channel's secret, ``webhook-id`` being
``message-<id>`` on every retry, until it answers 2xx (by the delivery worker).
"""

from __future__ import annotations

import json as jsonlib
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub.channels.base import DeliveryError, InboundContact, InboundMessage, OutboundMessage
from hub.channels.cache import ChannelCache, ChannelView, channel_by_secret
from hub.channels.capabilities import Capabilities
from hub.channels.responses import InboundOut
from hub.channels.spec import ChannelOpenApi, ChannelSpec, CliOption
from hub.crm_sync.rules import validate_auto_leads
from hub.errors import InvalidInput, NotFound, Unauthorized
from hub.http import CTX, METRICS, bearer_token, int_param, json, read_json
from hub.http.openapi_build import op, path_id
from hub.inbox.actions import receive_message
from hub.inbox.staff import normalize_email
from hub.outbound.destinations import DestinationPolicy
from hub.outbound.http import OutboundClient, refusal_in
from hub.outbound.signing import signed_headers
from hub.phones import normalize_phone

TYPE = "api"


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    unknown = set(config) - {"callback_url", "auto_leads"}
    if unknown:
        raise InvalidInput(
            f"unknown settings for an API channel: {sorted(unknown)}", code="unknown_setting"
        )
    auto_leads = validate_auto_leads(config)
    extra = {} if auto_leads is None else {"auto_leads": auto_leads}
    url = config.get("callback_url")
    if url is None or url == "":
        return {"callback_url": None, **extra}
    if not isinstance(url, str) or len(url) > 2000:
        raise InvalidInput("callback_url must be an http(s) URL", code="invalid_callback_url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("callback_url must be an http(s) URL", code="invalid_callback_url")
    return {"callback_url": url, **extra}


def webhook_id(message_id: int) -> str:
    """The callback's ``webhook-id``: one reply's, on every attempt."""
    return f"message-{message_id}"


class ApiChannelAdapter:
    """Sends replies to the API channel's callback URL (only to an allowed address, never
    following a redirect: ``hub.outbound.http``)."""

    type = TYPE

    def __init__(self, policy: DestinationPolicy, timeout_s: float = 10.0) -> None:
        self._client = OutboundClient(policy, timeout_s)

    async def send(self, channel_config: dict[str, Any], secret: str, out: OutboundMessage) -> None:
        url = channel_config.get("callback_url")
        if not url:
            raise DeliveryError("the channel has no callback_url", retryable=False)
        payload = {
            "event": "message.created",
            "message": {
                "id": out.message_id,
                "conversation_id": out.conversation_id,
                "body": out.body,
                "sender": {"type": "operator", "name": out.operator_name},
                "created_at": out.created_at,
            },
            "contact": {"external_id": out.contact_external_id},
        }
        body = jsonlib.dumps(payload, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "hub-api-channel/1",
            # Signed now: each attempt has its own timestamp, every attempt the same id.
            **signed_headers(secret, webhook_id(out.message_id), body),
        }
        try:
            answer = await self._client.post(url, body, headers)
        except aiohttp.ClientError as exc:
            refused = refusal_in(exc)
            if refused is not None:  # the address will not change by waiting
                raise DeliveryError(f"callback not sent: {refused}", retryable=False) from exc
            raise DeliveryError(f"callback unreachable: {type(exc).__name__}") from exc
        except TimeoutError as exc:
            raise DeliveryError("callback timed out") from exc
        if answer.ok:
            return
        if 300 <= answer.status < 400:
            raise DeliveryError(
                f"callback answered HTTP {answer.status}, a redirect (redirects are not followed)"
            )
        retryable = answer.status >= 500 or answer.status in (408, 409, 425, 429)
        raise DeliveryError(f"callback answered HTTP {answer.status}", retryable=retryable)

    async def close(self) -> None:
        await self._client.close()


class InboundContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    external_id: str = Field(min_length=1, max_length=200)
    name: str = Field(default="", max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=320)


class InboundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact: InboundContactIn
    body: str
    external_message_id: str | None = Field(default=None, min_length=1, max_length=200)


routes = web.RouteTableDef()


CHANNELS = web.AppKey("api_channels", ChannelCache)


async def _authenticated_channel(request: web.Request, channel_id: int) -> ChannelView:
    """The active API channel whose secret the request bears; 401 whatever else is wrong,
    so the answer does not tell which channel ids exist."""
    channel = await channel_by_secret(
        request.app[CHANNELS], channel_id, TYPE, bearer_token(request)
    )
    if channel is None:
        raise Unauthorized("wrong channel or channel secret", code="invalid_channel_secret")
    return channel


@routes.post("/api/v1/channels/{channel_id}/inbound")
async def inbound(request: web.Request) -> web.Response:
    """Feed a customer message; a repeated ``external_message_id`` stores nothing twice."""
    try:
        channel_id = int_param(request, "channel_id")
    except NotFound:
        channel_id = 0  # beyond the id range: no such channel, so the 401 of any unknown id
    channel = await _authenticated_channel(request, channel_id)
    body = await read_json(request, InboundIn)
    who = body.contact
    contact = InboundContact(
        external_id=who.external_id,
        name=who.name.strip(),
        phone=normalize_phone(who.phone) if who.phone else None,
        email=normalize_email(who.email) if who.email else None,
    )
    result = await receive_message(
        request.app[CTX],
        InboundMessage(channel.id, contact, body.body, body.external_message_id),
    )
    if not result.duplicate:
        request.app[METRICS].messages.labels(TYPE).inc()
    return json(
        {
            "message": result.message,
            "conversation": result.conversation,
            "duplicate": result.duplicate,
        },
        status=200 if result.duplicate else 201,
    )


def install(app: web.Application) -> ApiChannelAdapter:
    app[CHANNELS] = ChannelCache(app[CTX])
    app.router.add_routes(routes)
    settings = app[CTX].settings
    return ApiChannelAdapter(settings.destination_policy, settings.delivery_timeout_s)


SPEC = ChannelSpec(
    TYPE,
    validate_config,
    install,
    outbound_urls=("callback_url",),
    capabilities=Capabilities(reply_setting="callback_url"),
    title="API",
    badge="API",
    cli_options=(CliOption("--callback-url", "callback_url", "where replies are POSTed"),),
    openapi=ChannelOpenApi(
        {
            "/api/v1/channels/{channel_id}/inbound": {
                "post": op(
                    "API channel: feed a customer message (Bearer = channel secret); a repeated "
                    "external_message_id answers 200 with duplicate=true and stores nothing",
                    body=InboundIn,
                    answer=InboundOut,
                    ok=201,
                    also_ok=(200,),
                    auth=[{"channelSecret": []}],
                    params=[path_id("channel_id")],
                ),
            },
        },
        (InboundIn, InboundOut),
    ),
)
