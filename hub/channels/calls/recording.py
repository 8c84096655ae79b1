"""Recordings fetched from providers after their calls are stored.

Only from the provider's own hosts (``Dialect.recording_hosts``, plus the hosts an admin
adds for a white-label account), only through the outbound guard (no private or loopback
address unless ``HUB_WEBHOOK_ALLOWED_NETWORKS`` allows it, no redirect followed), at most
``HUB_MAX_ATTACHMENT_BYTES``. It runs after the webhook is answered: a recording that fails,
or a URL that is not the provider's, is logged and skipped, and the call keeps everything
else it said. Providers that give only a recording id keep it on the call
(``recording_ref``); Zadarma's and Mango's are fetched through their APIs
(``recording_worker``), Telphin's are not (its API's endpoint is not established).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from urllib.parse import urlsplit

from hub.channels.calls.dialect import Dialect
from hub.context import HubContext
from hub.inbox.call_fold import Folded
from hub.inbox.call_recordings import attach_recording
from hub.outbound.http import OutboundClient, refusal_in

log = logging.getLogger(__name__)
AUDIO_TYPES = ("audio/", "application/octet-stream")


def provider_host(url: str, hosts: Sequence[str]) -> bool:
    """Whether ``url`` is http(s) on one of ``hosts`` or their subdomains."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        return False
    return any(host == h or host.endswith("." + h) for h in hosts)


class Unfetchable(Exception):
    """Why a recording was not kept (never a secret)."""


class RecordingFetcher:
    def __init__(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self._client = OutboundClient(
            ctx.settings.destination_policy, ctx.settings.delivery_timeout_s
        )
        self._tasks: set[asyncio.Task[None]] = set()

    def fetch_new(
        self,
        channel_id: int,
        dialect: Dialect,
        results: Sequence[Folded | None],
        extra: Sequence[str] = (),
    ) -> None:
        """Start fetching the recordings these results brought (once per call)."""
        wanted: dict[int, str] = {}
        for r in results:
            if r is not None and r.recording_added and r.message_id and r.call:
                wanted[r.message_id] = str(r.call["recording_url"])
        hosts = (*dialect.recording_hosts, *extra)
        for message_id, url in wanted.items():
            task = asyncio.create_task(self._fetch(message_id, url, hosts))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _fetch(self, message_id: int, url: str, hosts: Sequence[str]) -> None:
        try:
            await self.keep(message_id, url, hosts)
        except Exception as exc:
            why = refusal_in(exc) or str(exc) or type(exc).__name__
            log.warning("call %d: the recording was not kept (%s)", message_id, why)

    async def keep(self, message_id: int, url: str, hosts: Sequence[str]) -> None:
        """Download the recording at ``url`` and attach it to the call; raises
        ``Unfetchable`` (or a connection error) saying why not."""
        if not provider_host(url, hosts):
            raise Unfetchable("the recording URL is not the provider's")
        limit = self._ctx.settings.max_attachment_bytes
        status, content_type, body = await self._client.get_bytes(url, limit)
        if status != 200 or not body:
            raise Unfetchable(f"the recording answered {status}")
        if not content_type.startswith(AUDIO_TYPES):
            raise Unfetchable(f"the recording is {content_type}, not audio")
        stored = await self._ctx.media.save_bytes(body)
        name = "recording." + ("mp3" if "mpeg" in content_type else content_type.split("/")[-1][:8])
        await attach_recording(self._ctx, message_id, stored, content_type, name)

    @property
    def client(self) -> OutboundClient:
        return self._client

    async def settled(self) -> None:
        """Return once every fetch started so far has ended (a readiness signal for tests
        and for shutdown)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.close()
