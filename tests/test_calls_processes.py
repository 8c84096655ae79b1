"""Two hub processes receive the events of the same calls at once: the test's own hub and a
real ``python -m hub serve`` process on the same database (the SQLite file, or PostgreSQL with
Redis). Every event of every call goes to both, twice, all at the same moment; each call ends
as one call row and one message, with every field its events said, and one recording job.

Waits are on readiness signals (``/readyz``, the answers); the caps are last resorts against a
hang on a loaded machine, never the expected time.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hub.channels.calls.recording_jobs import RecordingJob
from hub.http import CTX
from hub.inbox.item_models import CallItem
from hub.inbox.models import Message
from hub.settings import Settings
from tests.calls_replay import PUBLIC_URL, Request, build, connect, fixture_names, send
from tests.helpers import make_operator
from tests.test_email_schedule_processes import racer_env
from tests.test_two_processes import start_ready, stop

pytestmark = pytest.mark.timeout(600)
CALLS = 12


def _event(ch: Any, name: str, n: int) -> Request:
    return build(
        ch,
        name,
        edit={
            "pbx_call_id": f"in_race_{n}",
            "caller_id": f"7916555{n:04d}",
            "call_id_with_rec": f"1741945805.{n}",
        },
    )


async def test_two_processes_fold_each_call_once(
    client: TestClient,  # type: ignore[type-arg]
    settings: Settings,
    tmp_path: Path,
) -> None:
    admin = await make_operator(client, role="admin")
    ch = await connect(client, admin.headers, "zadarma", api_key="test_zadarma_key")
    env = racer_env(settings)
    env.update(
        HUB_PUBLIC_URL=PUBLIC_URL,
        HUB_FAST_PASSWORD_HASH="true",
        HUB_SHUTDOWN_TIMEOUT_S="5",
        HUB_ROUTING="false",
    )
    async with aiohttp.ClientSession() as http:
        other = await start_ready(http, "b", env, tmp_path)
        try:

            async def there(req: Request) -> int:
                async with http.request(
                    req.method, other.base + req.path, headers=req.headers, data=req.body
                ) as resp:
                    return resp.status

            async def here(req: Request) -> int:
                return (await send(client, req)).status

            # Every event of every call, to both processes, twice, all at once.
            requests = [
                _event(ch, name, n) for n in range(CALLS) for name in fixture_names("zadarma")
            ]
            answers = await asyncio.gather(
                *(go(req) for req in requests for go in (here, there, there, here))
            )
            assert answers == [200] * len(requests) * 4, other.output()
        finally:
            assert await stop(other) == 0, other.output()

    async def rows(session: Any) -> tuple[list[CallItem], int, int]:
        calls = list(await session.scalars(select(CallItem).where(CallItem.channel_id == ch.id)))
        messages = await session.scalar(
            select(func.count()).select_from(Message).where(Message.channel_id == ch.id)
        )
        jobs = await session.scalar(select(func.count()).select_from(RecordingJob))
        return calls, int(messages or 0), int(jobs or 0)

    calls, messages, jobs = await client.app[CTX].read(rows)
    assert sorted(c.provider_call_id for c in calls) == sorted(f"in_race_{n}" for n in range(CALLS))
    assert messages == CALLS
    assert jobs == CALLS
    for call in calls:
        n = int(str(call.provider_call_id).rsplit("_", 1)[1])
        assert call.from_number == f"+7916555{n:04d}"
        assert call.to_number == "+74951234567"
        assert (call.status, call.duration_s, call.operator) == ("answered", 147, "101")
        assert call.started_at is not None
        assert call.recording_ref == f"1741945805.{n}"
