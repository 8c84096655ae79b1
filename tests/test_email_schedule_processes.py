"""Two hub processes race for the same due scheduled emails: each email becomes one message.

Another real OS process (``tests/schedule_racer.py``) on the test's database (the SQLite file,
or PostgreSQL with Redis) and the test's own hub go at once, once that process is ready; both
senders' clocks say the emails are due. Then the test's hub delivers the messages to the test
SMTP server.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from hub.channels.email.scheduled_models import ScheduledEmail
from hub.settings import Settings
from tests.email_helpers import customer_emails
from tests.email_smtp import (
    TlsFiles,
    tls_files,  # noqa: F401 - fixture
    trust,  # noqa: F401 - fixture
)
from tests.test_email_outbound import Mailbox, open_mailbox
from tests.test_email_schedule import at, outgoing, scheduled, tomorrow_at

ROOT = Path(__file__).resolve().parents[1]
#: A last resort against a hang (a process that imports the hub can take long on a busy
#: machine), never the expected time.
CAP_S = 120.0
pytestmark = pytest.mark.timeout(300)


@pytest.fixture
async def box(client: TestClient, trust: TlsFiles) -> AsyncIterator[Mailbox]:  # type: ignore[type-arg]  # noqa: F811
    mailbox = await open_mailbox(client, trust)
    yield mailbox
    await mailbox.smtp.close()


def racer_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_DATABASE_URL=settings.database_url,
        HUB_SECRET_KEY=settings.resolved_secret_key(),
        HUB_MEDIA_DIR=str(settings.media_dir),
        HUB_LEAD_INTAKE="false",
        HUB_DB_TIMEOUT_S="30",  # as tests.conftest.base_settings: the suite loads the machine
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    if settings.redis_url:
        env.update(HUB_REDIS_URL=settings.redis_url, HUB_REDIS_PREFIX=settings.redis_prefix)
    return env


async def start_racer(env: dict[str, str], moment: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.schedule_racer", moment,
        env=env, cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_two_processes_send_each_scheduled_email_once(
    box: Mailbox, settings: Settings
) -> None:
    said = await customer_emails(box.ctx, box.channel["id"])
    conv_id, contact_id = said["conversation"]["id"], said["conversation"]["contact_id"]
    local, moment = tomorrow_at(9)
    for n in range(4):
        await scheduled(box, conv_id, local, body=f"Напоминание {n}")
    for n in range(2):
        resp = await box.client.post(
            f"/api/v1/contacts/{contact_id}/scheduled_emails",
            json={
                "channel_id": box.channel["id"],
                "subject": f"Предложение {n}",
                "body": "Добрый день!",
                "send_at": local,
            },
            headers=box.admin.headers,
        )
        assert resp.status == 201, await resp.text()

    racer = await start_racer(racer_env(settings), moment.isoformat())
    here = at(box.ctx, moment)

    async def race_here() -> int:
        total = 0
        while done := await here.run_once():
            total += done
        return total

    try:
        async with asyncio.timeout(CAP_S):
            assert racer.stdout is not None and racer.stdin is not None
            assert (await racer.stdout.readline()).strip() == b"ready"
            racer.stdin.write(b"go\n")  # both go at once: that process and this one
            await racer.stdin.drain()
            ours, (output, _) = await asyncio.gather(race_here(), racer.communicate())
    finally:
        if racer.returncode is None:
            racer.kill()
            await racer.wait()
    assert racer.returncode == 0, output
    theirs = int(output.decode().split("claimed ")[-1])
    assert ours + theirs == 6, (ours, theirs)

    async def rows(session: Any) -> list[tuple[str, int | None]]:
        got = await session.execute(select(ScheduledEmail.status, ScheduledEmail.message_id))
        return [(status, message) for status, message in got.all()]

    stored = await box.ctx.read(rows)
    assert sorted(status for status, _ in stored) == ["sent"] * 6
    assert len({message for _, message in stored}) == 6
    assert await outgoing(box.ctx) == 6
    box.ctx.delivery_wakeup.set()  # this process's delivery worker sends what they queued
    recipients = [(await box.smtp.next()).rcpt_tos for _ in range(6)]
    assert len(recipients) == 6
