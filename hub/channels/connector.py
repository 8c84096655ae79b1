"""The optional set-up step of a channel type whose connection involves its provider.

Most channel types only validate their settings. A type whose provider must be asked first (a
Telegram bot's token is checked with getMe, its webhook registered) gives the registry a
connector: ``prepare`` runs before anything is written and splits the request's settings into the
public config and private values (a token), ``store`` writes the private values in the same commit
as the channel, and ``activate`` runs after the commit (it needs the channel's id); if it fails,
the channel is removed again, so a failed connection leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Any, Protocol, cast

from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.inbox.models import Channel


class ChannelConnector(Protocol):
    async def prepare(
        self, ctx: HubContext, settings: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Check with the provider; answer (public config, private values)."""
        ...

    async def store(self, session: AsyncSession, channel: Channel, private: dict[str, Any]) -> None:
        """Write the private values beside the new channel, in its transaction."""
        ...

    async def activate(
        self, ctx: HubContext, channel_id: int, secret: str, private: dict[str, Any]
    ) -> None:
        """Finish with the provider once the channel is stored (e.g. register a webhook)."""
        ...


class LazyConnector:
    """The connector of ``module`` (its ``CONNECTOR``), imported on first use.

    A connector speaks to its provider through the provider's SDK (aiogram for Telegram), whose
    import takes seconds: the registry names the module instead, so only connecting a channel of
    that type pays for it. The import runs in a worker thread, so a running hub goes on serving.
    """

    def __init__(self, module: str) -> None:
        self.module = module
        self._connector: ChannelConnector | None = None

    async def load(self) -> ChannelConnector:
        if self._connector is None:
            loaded = await asyncio.to_thread(importlib.import_module, self.module)
            self._connector = cast(ChannelConnector, loaded.CONNECTOR)
        return self._connector

    async def prepare(
        self, ctx: HubContext, settings: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        return await (await self.load()).prepare(ctx, settings)

    async def store(self, session: AsyncSession, channel: Channel, private: dict[str, Any]) -> None:
        await (await self.load()).store(session, channel, private)

    async def activate(
        self, ctx: HubContext, channel_id: int, secret: str, private: dict[str, Any]
    ) -> None:
        await (await self.load()).activate(ctx, channel_id, secret, private)
