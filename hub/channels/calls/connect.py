"""Connecting a calls channel (``ChannelConnector``): the provider's secrets are split out of
the settings before anything is written and stored beside the channel in its commit. Nothing
is asked of the provider: each is set up by pasting the webhook URL into its cabinet."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.calls.config import secret_value, split_settings
from hub.channels.calls.credentials import CallCredentials
from hub.channels.calls.dialect import Secrets
from hub.channels.calls.dialects import DIALECTS
from hub.context import HubContext
from hub.errors import InvalidInput
from hub.inbox.models import Channel
from hub.outbound.destinations import check_url


class CallsConnector:
    async def prepare(
        self, ctx: HubContext, settings: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        config, secrets = split_settings(settings)
        if config.get("api_url"):
            await check_url(ctx.settings.destination_policy, config["api_url"], field="api_url")
        return config, {"secrets": secrets}

    async def store(self, session: AsyncSession, channel: Channel, private: dict[str, Any]) -> None:
        secrets: Secrets = private["secrets"]
        session.add(CallCredentials(channel_id=channel.id, secret=secrets.secret, key=secrets.key))

    async def activate(
        self, ctx: HubContext, channel_id: int, secret: str, private: dict[str, Any]
    ) -> None:
        """Nothing to do: the admin pastes the webhook URL into the provider's cabinet."""


async def store_secrets(
    session: AsyncSession, channel_id: int, config: dict[str, Any], changes: dict[str, Any]
) -> None:
    """An admin's new provider secrets (``PATCH``): each into its slot; an optional one given
    as null is removed."""
    dialect = DIALECTS[config["provider"]]
    options = {o.key: o for o in dialect.secrets}
    unknown = sorted(set(changes) - set(options))
    if unknown:
        raise InvalidInput(
            f"{dialect.title} has no {', '.join(unknown)}; its secrets: {', '.join(options)}",
            code="setting_not_editable",
        )
    row = await session.get(CallCredentials, channel_id)
    if row is None:
        row = CallCredentials(channel_id=channel_id, secret="", key="")
        session.add(row)
    for key, value in changes.items():
        option = options[key]
        if value is None and not option.required:
            setattr(row, option.slot, "")
        else:
            setattr(row, option.slot, secret_value(dialect.title, option, value))


CONNECTOR = CallsConnector()
