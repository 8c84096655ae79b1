"""Changing a connected channel: its name, team, active flag and settings, and a new secret.

Each type validates its own settings (``ChannelSpec.validate_config``, over the stored ones with
the changes on top) and says which of them may change after it was made
(``ChannelSpec.editable_settings``): a bot's token or a mailbox's servers are checked with the
provider when connected, so changing those is connecting anew. A deactivated channel takes no
customer messages (its webhooks answer 401, the widget refuses it, its mailbox is not read) and
keeps its conversations; every process sees the change within the channel cache's few seconds
(``hub.channels.cache``). A type whose provider pushes to the hub hears of it
(``ChannelSpec.on_active_changed``: Telegram's webhook is removed, and set again first when the
channel is turned back on).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.admin import new_channel_secret
from hub.channels.registry import channel_spec
from hub.context import HubContext
from hub.errors import DomainError, InvalidInput, NotFound
from hub.events import ChannelUpdated, Recipients
from hub.inbox.auth import Principal
from hub.inbox.models import Channel, Operator, Team
from hub.inbox.serialize import channel_dict
from hub.inbox.staff import require_admin
from hub.outbound.destinations import check_url
from hub.outbound.signing import standard_secret

log = logging.getLogger(__name__)

#: What ``channel.updated`` tells every operator of a channel (never its settings).
PUBLIC_FIELDS = ("id", "type", "name", "team_id", "active")


@dataclass(frozen=True, slots=True)
class ChannelChanges:
    name: str | None = None
    #: ``team_id`` is applied when ``set_team``: None then means "no team".
    team_id: int | None = None
    set_team: bool = False
    active: bool | None = None
    #: The type's settings to change; the others keep their stored values.
    settings: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class NewSecret:
    channel: dict[str, Any]
    #: Shown once, like the first one.
    secret: str
    webhook_secret: str | None


async def _load(ctx: HubContext, channel_id: int) -> dict[str, Any]:
    async def query(session: AsyncSession) -> dict[str, Any] | None:
        ch = await session.get(Channel, channel_id)
        return None if ch is None else channel_dict(ch)

    found = await ctx.read(query)
    if found is None:
        raise NotFound(f"channel {channel_id} not found", code="channel_not_found")
    return found


async def _announce(ctx: HubContext, session: AsyncSession, data: dict[str, Any]) -> ChannelUpdated:
    everyone = (
        await session.scalars(select(Operator.id).where(Operator.is_active.is_(True)))
    ).all()
    public = {key: data[key] for key in PUBLIC_FIELDS}
    return ChannelUpdated(Recipients(True, frozenset(), frozenset(everyone)), public)


async def update_channel(
    ctx: HubContext, actor: Principal, channel_id: int, changes: ChannelChanges
) -> dict[str, Any]:
    """Apply ``changes`` (validated first: nothing is written when one is wrong)."""
    require_admin(actor)
    name = changes.name
    if name is not None:
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("name must be 1 to 200 characters", code="invalid_name")
    current = await _load(ctx, channel_id)
    spec = channel_spec(current["type"])
    config: dict[str, Any] | None = None
    secrets: dict[str, Any] = {}
    if changes.settings is not None:
        secrets = {k: v for k, v in changes.settings.items() if k in spec.secret_settings}
        plain = {k: v for k, v in changes.settings.items() if k not in secrets}
        allowed = spec.editable_settings
        fixed = sorted(set(plain) - allowed) if allowed is not None else []
        if fixed:
            can = sorted((allowed or frozenset()) | spec.secret_settings)
            raise InvalidInput(
                f"{', '.join(fixed)} of a {spec.label} channel cannot change after it is "
                f"connected (connect it anew); these can: {', '.join(can)}",
                code="setting_not_editable",
            )
        config = spec.validate_config({**current["config"], **plain})
        for key in spec.outbound_urls:
            if config.get(key) and config.get(key) != current["config"].get(key):
                await check_url(ctx.settings.destination_policy, config[key], field=key)
    hook = spec.on_active_changed
    turned = changes.active if changes.active != current["active"] else None
    if hook is not None and turned:
        await hook(ctx, channel_id, True)  # the provider first: if it refuses, it stays off
    events: list[ChannelUpdated] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        ch = await session.get(Channel, channel_id)
        if ch is None:
            raise NotFound(f"channel {channel_id} not found", code="channel_not_found")
        team_id = changes.team_id if changes.set_team else None
        if team_id is not None and await session.get(Team, team_id) is None:
            raise InvalidInput(f"team {changes.team_id} not found", code="team_not_found")
        if config is not None and spec.check_settings is not None:
            await spec.check_settings(session, config)
        if name is not None:
            ch.name = name
        if changes.set_team:
            ch.team_id = changes.team_id
        if changes.active is not None:
            ch.is_active = changes.active
        if config is not None:
            ch.config = config
        if secrets and spec.store_secrets is not None:
            await spec.store_secrets(session, channel_id, dict(ch.config), secrets)
        await session.flush()
        data = channel_dict(ch)
        events.append(await _announce(ctx, session, data))
        return data

    data = await ctx.write(unit)
    await ctx.publish(*events)
    if hook is not None and turned is False:
        try:
            await hook(ctx, channel_id, False)
        except DomainError as exc:  # it is off in the hub whatever the provider says
            log.warning("channel %s is off; its provider was not told: %s", channel_id, exc)
    return data


async def rotate_secret(ctx: HubContext, actor: Principal, channel_id: int) -> NewSecret:
    """Give a channel a new secret, shown once; the old one stops working (on every process
    within the channel cache's few seconds). A type whose provider holds the secret hears of
    it first (``ChannelSpec.on_new_secret``: Telegram's webhook), so a refusal changes nothing."""
    require_admin(actor)
    current = await _load(ctx, channel_id)
    spec = channel_spec(current["type"])
    secret = new_channel_secret()
    if spec.on_new_secret is not None:
        await spec.on_new_secret(ctx, channel_id, secret)
    events: list[ChannelUpdated] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        ch = await session.get(Channel, channel_id)
        if ch is None:
            raise NotFound(f"channel {channel_id} not found", code="channel_not_found")
        ch.secret = secret
        await session.flush()
        data = channel_dict(ch)
        events.append(await _announce(ctx, session, data))
        return data

    data = await ctx.write(unit)
    await ctx.publish(*events)
    webhook = standard_secret(secret) if spec.outbound_urls else None
    return NewSecret(data, secret, webhook)
