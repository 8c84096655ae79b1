"""Connecting a calls channel (``ChannelConnector``): the provider's secrets are split out of
the settings before anything is written and stored beside the channel in its commit. Nothing
is asked of the provider: each is set up by pasting the webhook URL into its cabinet."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.calls.config import split_settings
from hub.channels.calls.credentials import CallCredentials
from hub.channels.calls.dialect import Secrets
from hub.context import HubContext
from hub.inbox.models import Channel


class CallsConnector:
    async def prepare(
        self, ctx: HubContext, settings: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        config, secrets = split_settings(settings)
        return config, {"secrets": secrets}

    async def store(self, session: AsyncSession, channel: Channel, private: dict[str, Any]) -> None:
        secrets: Secrets = private["secrets"]
        session.add(CallCredentials(channel_id=channel.id, secret=secrets.secret, key=secrets.key))

    async def activate(
        self, ctx: HubContext, channel_id: int, secret: str, private: dict[str, Any]
    ) -> None:
        """Nothing to do: the admin pastes the webhook URL into the provider's cabinet."""


CONNECTOR = CallsConnector()
