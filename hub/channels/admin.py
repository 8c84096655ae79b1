"""Connecting channels: the admin's named writes (kept beside the channel modules, whose
config validators they call)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.registry import channel_spec, channel_specs
from hub.context import HubContext
from hub.errors import InvalidInput
from hub.inbox.auth import Principal
from hub.inbox.models import Channel, Team
from hub.inbox.serialize import channel_dict
from hub.inbox.staff import require_admin
from hub.outbound.destinations import check_url
from hub.outbound.signing import standard_secret


@dataclass(frozen=True, slots=True)
class CreatedChannel:
    channel: dict[str, Any]
    #: Shown once: it authenticates the channel's webhooks and signs its callbacks.
    secret: str
    #: For a type that sends to URLs (callbacks): the secret in the Standard Webhooks form
    #: (``whsec_…``) that verifies them, shown once with the secret.
    webhook_secret: str | None = None


def new_channel_secret() -> str:
    return secrets.token_urlsafe(32)


async def create_channel(
    ctx: HubContext,
    actor: Principal | None,
    *,
    type: str,
    name: str,
    team_id: int | None = None,
    config: dict[str, Any] | None = None,
) -> CreatedChannel:
    """Create a channel of a registered type; its module validates the config."""
    if actor is not None:
        require_admin(actor)
    spec = channel_spec(type)
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("name must be 1 to 200 characters", code="invalid_name")
    config = dict(config or {})
    private: dict[str, Any] = {}
    if spec.connector is not None:
        if team_id is not None:
            await _check_team(ctx, team_id)  # before the provider is asked anything
        config, private = await spec.connector.prepare(ctx, config)
    clean_config = spec.validate_config(config)
    for key in spec.outbound_urls:
        if clean_config.get(key):
            await check_url(ctx.settings.destination_policy, clean_config[key], field=key)
    secret = new_channel_secret()

    async def unit(session: AsyncSession) -> dict[str, Any]:
        if team_id is not None and await session.get(Team, team_id) is None:
            raise InvalidInput(f"team {team_id} not found", code="team_not_found")
        ch = Channel(
            type=type,
            name=name,
            team_id=team_id,
            secret=secret,
            config=clean_config,
            public_token=secrets.token_urlsafe(18) if spec.public_token else None,
        )
        session.add(ch)
        await session.flush()
        if spec.connector is not None:
            await spec.connector.store(session, ch, private)
            await session.flush()
        return channel_dict(ch)

    data = await ctx.write(unit)
    if spec.connector is not None:
        try:
            await spec.connector.activate(ctx, data["id"], secret, private)
        except BaseException:
            await _remove_channel(ctx, data["id"])
            raise
    return CreatedChannel(data, secret, standard_secret(secret) if spec.outbound_urls else None)


async def _check_team(ctx: HubContext, team_id: int) -> None:
    async def query(session: AsyncSession) -> None:
        if await session.get(Team, team_id) is None:
            raise InvalidInput(f"team {team_id} not found", code="team_not_found")

    await ctx.read(query)


async def _remove_channel(ctx: HubContext, channel_id: int) -> None:
    """Undo a channel whose provider set-up failed (nothing refers to it yet)."""

    async def unit(session: AsyncSession) -> None:
        await session.execute(delete(Channel).where(Channel.id == channel_id))

    await ctx.write(unit)


async def list_channels(ctx: HubContext, *, with_status: bool = False) -> list[dict[str, Any]]:
    """Every channel; ``with_status``: with its ``status`` (for admins), for a type that keeps
    a connection of its own (``ChannelSpec.status``)."""

    async def query(session: AsyncSession) -> list[dict[str, Any]]:
        rows = await session.scalars(select(Channel).order_by(Channel.id))
        return [channel_dict(ch) for ch in rows]

    items = await ctx.read(query)
    if with_status:
        hooks = {spec.type: spec.status for spec in channel_specs() if spec.status is not None}
        for item in items:
            hook = hooks.get(item["type"])
            if hook is not None:
                item["status"] = await hook(ctx, item["id"])
    return items
