"""A calls channel's per-app state: channels and secrets as webhooks read them, and the
recording fetchers: of URLs, and the worker of recordings named by id (started and closed with
the app)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hub.channels.cache import ChannelCache
from hub.channels.calls.credentials import SecretsCache
from hub.channels.calls.recording import RecordingFetcher
from hub.channels.calls.recording_worker import RecordingJobs
from hub.context import HubContext


class CallsState:
    def __init__(self, ctx: HubContext) -> None:
        self.channels = ChannelCache(ctx)
        self.secrets = SecretsCache(ctx)
        self.recordings = RecordingFetcher(ctx)
        self.recording_jobs = RecordingJobs(ctx, self.recordings)


CALLS = web.AppKey("calls", CallsState)


async def calls_lifecycle(app: web.Application) -> AsyncIterator[None]:
    state = app[CALLS]
    await state.recording_jobs.start()
    try:
        yield
    finally:
        await state.recording_jobs.close()
        await state.recordings.close()
