"""Admin routes for channels: connect one (its secret shown once), list them and their types."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub.channels import admin, registry
from hub.channels.spec import type_dict
from hub.http import CTX, json, principal, read_json
from hub.inbox.schemas import Id
from hub.inbox.staff import require_admin

routes = web.RouteTableDef()


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str = Field(max_length=30)
    name: str = Field(max_length=200)
    team_id: Id | None = None


@routes.post("/api/v1/channels")
async def create_channel(request: web.Request) -> web.Response:
    """Fields other than type, name and team_id are the channel type's own settings."""
    who = await principal(request)
    require_admin(who)
    body = await read_json(request, ChannelIn)
    config: dict[str, Any] = dict(body.model_extra or {})
    created = await admin.create_channel(
        request.app[CTX], who, type=body.type, name=body.name, team_id=body.team_id, config=config
    )
    answer = {**created.channel, "secret": created.secret}
    if created.webhook_secret is not None:
        answer["webhook_secret"] = created.webhook_secret
    spec = registry.channel_spec(body.type)
    if spec.setup is not None:
        answer["setup"] = spec.setup(created, request.app[CTX].settings)
    return json(answer, status=201)


@routes.get("/api/v1/channel-types")
async def channel_types(request: web.Request) -> web.Response:
    """The types this hub serves, for the pages' badges and the admin's choice: a new type shows
    in the inbox with its own badge without the pages knowing its name."""
    await principal(request)
    items = [type_dict(spec) for spec in request.app[registry.SPECS]]
    return json({"items": items})


@routes.get("/api/v1/channels")
async def list_channels(request: web.Request) -> web.Response:
    """Every operator may list channels (to filter by them); only admins see their settings,
    which may hold a callback URL with credentials in it, and their status (an email channel's
    mailbox reading)."""
    who = await principal(request)
    items = await admin.list_channels(request.app[CTX], with_status=who.is_admin)
    if not who.is_admin:
        for item in items:
            item.pop("config", None)
    return json({"items": items})
