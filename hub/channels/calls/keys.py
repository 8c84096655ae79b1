"""A calls channel's per-app state: channels and secrets as webhooks read them, and the
recording fetcher (closed with the app)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hub.channels.cache import ChannelCache
from hub.channels.calls.credentials import SecretsCache
from hub.channels.calls.recording import RecordingFetcher
from hub.context import HubContext


class CallsState:
    def __init__(self, ctx: HubContext) -> None:
        self.channels = ChannelCache(ctx)
        self.secrets = SecretsCache(ctx)
        self.recordings = RecordingFetcher(ctx)


CALLS = web.AppKey("calls", CallsState)


async def calls_lifecycle(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[CALLS].recordings.close()
