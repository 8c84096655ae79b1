"""The worker that fetches recordings providers name by id (``recording_jobs``): it asks the
provider's API for a download link (``Dialect.recording_api``, signed with the channel's
secrets, through the outbound guard), downloads the file from the provider's hosts only, and
attaches it to the call as every other recording is (``RecordingFetcher.keep``).

A file that is not ready yet (Zadarma's comes some 40 s after NOTIFY_RECORD, Mango's when it
is saved), or any failure, is tried again after ``HUB_RECORDING_RETRY_S``, doubled after each
attempt (at most an hour), ``HUB_RECORDING_ATTEMPTS`` times in all; then the job is marked
failed, and logged, without a secret or the link. A wake-up (a webhook that queued a job)
starts a pass at once; otherwise one runs every ``HUB_RECORDING_FETCH_INTERVAL_S``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.calls.credentials import CallCredentials
from hub.channels.calls.dialect import ApiAnswer, NotReady, Secrets
from hub.channels.calls.dialects import DIALECTS
from hub.channels.calls.recording import RecordingFetcher, Unfetchable
from hub.channels.calls.recording_jobs import BATCH, Wanted, claim, finish
from hub.context import HubContext
from hub.db import utcnow
from hub.inbox.models import Channel
from hub.outbound.http import OutboundClient, refusal_in
from hub.worker import PeriodicWorker

log = logging.getLogger(__name__)
#: An API's answer (JSON, or a redirect) is small.
MAX_API_BYTES = 64 * 1024
LONGEST_WAIT_S = 3600.0


class _Api:
    """``ApiHttp`` over the outbound client."""

    def __init__(self, client: OutboundClient) -> None:
        self._client = client

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        form: Mapping[str, str] | None = None,
    ) -> ApiAnswer:
        status, content_type, location, body = await self._client.request(
            method, url, headers, form, MAX_API_BYTES
        )
        return ApiAnswer(status, content_type, location, body)


class RecordingJobs(PeriodicWorker):
    name = "call-recordings"

    def __init__(self, ctx: HubContext, fetcher: RecordingFetcher) -> None:
        super().__init__(
            interval_s=ctx.settings.recording_fetch_interval_s,
            backoff_s=ctx.settings.worker_backoff_s,
        )
        self._ctx = ctx
        self._fetcher = fetcher

    def busy(self, done: int) -> bool:
        return done >= BATCH

    async def run_once(self, now: datetime | None = None) -> int:
        """One pass over the jobs due at ``now`` (tests give a later clock); how many."""
        at = now or utcnow()
        jobs = await claim(self._ctx, at)
        for job in jobs:
            await self._attempt(job, at)
        return len(jobs)

    async def _channel(self, channel_id: int) -> tuple[dict[str, Any], Secrets] | None:
        async def query(session: AsyncSession) -> tuple[dict[str, Any], Secrets] | None:
            channel = await session.get(Channel, channel_id)
            if channel is None or not channel.is_active:
                return None
            row = await session.get(CallCredentials, channel_id)
            secrets = Secrets() if row is None else Secrets(secret=row.secret, key=row.key)
            return dict(channel.config or {}), secrets

        return await self._ctx.read(query)

    async def _attempt(self, job: Wanted, now: datetime) -> None:
        found = await self._channel(job.channel_id)
        dialect = DIALECTS.get(str(found[0].get("provider"))) if found else None
        api = dialect.recording_api if dialect else None
        if found is None or dialect is None or api is None:
            why = "the channel is gone, off, or its provider gives no recordings by id"
            await finish(self._ctx, job.message_id, status="failed", due_at=None, error=why)
            return
        config, secrets = found
        try:
            base = str(config.get("api_url") or api.base_url)
            link = await api.link(_Api(self._fetcher.client), base, secrets, job.ref, job.call_id)
            hosts = (*dialect.recording_hosts, *config.get("recording_hosts", ()))
            await self._fetcher.keep(job.message_id, link, hosts)
        except Exception as exc:
            # Our own reasons say what happened; another error only its kind (its text may
            # hold the one-time link).
            said = str(exc) if isinstance(exc, NotReady | Unfetchable) else ""
            why = (refusal_in(exc) or said or type(exc).__name__)[:300]
            await self._failed(job, now, why)
            return
        await finish(self._ctx, job.message_id, status="done", due_at=None, error=None)

    async def _failed(self, job: Wanted, now: datetime, why: str) -> None:
        settings = self._ctx.settings
        if job.attempts >= settings.recording_attempts:
            log.warning(
                "call %d: its recording was not fetched after %d attempts (%s)",
                job.message_id,
                job.attempts,
                why,
            )
            await finish(self._ctx, job.message_id, status="failed", due_at=None, error=why)
            return
        wait = min(settings.recording_retry_s * 2 ** (job.attempts - 1), LONGEST_WAIT_S)
        log.info(
            "call %d: its recording is not fetched yet (%s); again in %.0f s",
            job.message_id,
            why,
            wait,
        )
        due = now + timedelta(seconds=wait)
        await finish(self._ctx, job.message_id, status="waiting", due_at=due, error=why)
