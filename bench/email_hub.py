"""The email benchmark's hub side: a served hub reads the Dovecot mailbox; when, and how well.

``run_hub`` starts ``python -m hub serve`` on a fresh database (``bench.servers``), makes the
email channel the way the email tests do (``tests.email_servers.add_email_channel``: the
settings split by the channel's ``split_settings`` into the public config and the passwords in
``email_credentials``; not ``channel add email``, whose login checks want an SMTP server too),
and polls the hub's database directly (not the API, so the measure costs the hub no request
handling) until every mail is stored. The hub's email service sees the new channel within
``HUB_IMAP_SCAN_INTERVAL_S`` and starts its mailbox readers. It trusts Dovecot's self-signed
certificate through ``SSL_CERT_FILE`` (the readers use the default TLS context, as in
production).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from bench import profile
from bench.email_corpus import COMPANY, Corpus
from bench.servers import Server, postgres_hub, sqlite_hub
from tests.dovecot import DovecotServer

BACKENDS: dict[str, Callable[..., contextlib.AbstractAsyncContextManager[Server]]] = {
    "sqlite": sqlite_hub,
    "postgres": postgres_hub,
}


@dataclass
class HubResult:
    backend: str
    #: From the runner's lease on the mailbox (the start of reading) to the last mail stored.
    seconds: float | None
    seconds_from_creation: float | None
    first_stored_after_s: float | None
    stored: int
    per_s: float
    conversations: int
    attachments: int
    hub_cpu_s: float
    missing: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mailbox_error: str | None = None

    def summary(self) -> str:
        return (
            f"{self.stored} stored in {self.seconds} s from the lease "
            f"({self.seconds_from_creation} s from the channel's creation), "
            f"{len(self.missing)} lost, {len(self.duplicated)} duplicated, "
            f"{self.conversations} conversations, hub CPU {self.hub_cpu_s} s"
        )


def _env(server: DovecotServer, args: argparse.Namespace) -> dict[str, str]:
    env = {
        "SSL_CERT_FILE": str(server.cafile),
        "HUB_IMAP_SCAN_INTERVAL_S": str(args.scan_interval),
        "HUB_IMAP_BATCH": str(args.batch),
    }
    return env


async def _add_channel(engine: AsyncEngine, server: DovecotServer, user: str, pw: str) -> int:
    from hub.channels.email.config import split_settings
    from hub.channels.email.credentials import credentials_row
    from hub.inbox.models import Channel

    public, secrets = split_settings(
        {
            "address": COMPANY,
            "imap": {
                "host": "127.0.0.1",
                "port": server.tls_port,
                "security": "tls",
                "login": user,
                "password": pw,
                "folder": "INBOX",
            },
            # Never used: nothing is sent in the benchmark.
            "smtp": {"host": "127.0.0.1", "port": 1, "security": "starttls"},
        }
    )
    async with AsyncSession(engine) as session, session.begin():
        row = Channel(type="email", name="Sales mailbox", secret=uuid.uuid4().hex, config=public)
        session.add(row)
        await session.flush()
        session.add(credentials_row(row.id, secrets))
        return row.id


async def _scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def run_hub(
    backend: str,
    server: DovecotServer,
    user: str,
    password: str,
    corpus: Corpus,
    args: argparse.Namespace,
    profile_to: Path | None,
) -> HubResult:
    expected = len(corpus.mails)
    async with BACKENDS[backend](args.hub_src, _env(server, args)) as hub:
        engine = create_async_engine(hub.database_url)
        spy: subprocess.Popen[bytes] | None = None
        try:
            cpu_before = hub.cpu_seconds()
            if profile_to is not None:
                spy = _spy(hub.process.pid, profile_to)
            channel_id = await _add_channel(engine, server, user, password)
            created = time.perf_counter()
            leased = first = done = None
            last_count, last_progress = 0, created
            while True:
                now = time.perf_counter()
                if leased is None and await _scalar(
                    engine,
                    "SELECT count(*) FROM email_mailboxes WHERE channel_id = :c",
                    c=channel_id,
                ):
                    leased = now
                count = int(
                    await _scalar(
                        engine, "SELECT count(*) FROM messages WHERE channel_id = :c", c=channel_id
                    )
                )
                if count and first is None:
                    first = now
                if count != last_count:
                    last_count, last_progress = count, now
                if count >= expected:
                    done = now
                    break
                if now - last_progress > args.stall:
                    break
                await asyncio.sleep(args.poll)
            cpu = round(hub.cpu_seconds() - cpu_before, 2)
            if spy is not None:
                spy.send_signal(signal.SIGINT)  # py-spy writes what it sampled and exits
                await asyncio.to_thread(spy.wait, 60)
            return await _check(
                engine, hub.name, channel_id, corpus, created, leased, first, done, cpu
            )
        finally:
            if spy is not None and spy.poll() is None:
                spy.kill()
            await engine.dispose()


def _spy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    exe = profile.py_spy()
    if exe is None:
        raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
    args = [exe, "record", "-p", str(pid), "-d", "600", "-r", "200", "-f", "raw", "--threads"]
    return subprocess.Popen(
        [*args, "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def _check(
    engine: AsyncEngine,
    name: str,
    channel_id: int,
    corpus: Corpus,
    created: float,
    leased: float | None,
    first: float | None,
    done: float | None,
    cpu: float,
) -> HubResult:
    """Every appended Message-ID stored exactly once, nothing else stored."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT provider_message_id, count(*) FROM messages WHERE channel_id = :c"
                " GROUP BY provider_message_id"
            ),
            {"c": channel_id},
        )
        stored = {str(pid): int(n) for pid, n in rows}
    conversations = await _scalar(
        engine, "SELECT count(*) FROM conversations WHERE channel_id = :c", c=channel_id
    )
    files = await _scalar(
        engine,
        "SELECT count(*) FROM attachments a JOIN messages m ON a.message_id = m.id"
        " WHERE m.channel_id = :c",
        c=channel_id,
    )
    error = await _scalar(
        engine, "SELECT last_error FROM email_mailboxes WHERE channel_id = :c", c=channel_id
    )
    wanted = set(corpus.message_ids)
    total = sum(stored.values())
    end = done if done is not None else time.perf_counter()
    seconds = None if done is None or leased is None else round(done - leased, 3)
    return HubResult(
        backend=name,
        seconds=seconds,
        seconds_from_creation=None if done is None else round(done - created, 3),
        first_stored_after_s=None if first is None else round(first - created, 3),
        stored=total,
        per_s=round(total / max(end - (leased or created), 1e-9), 1),
        conversations=int(conversations or 0),
        attachments=int(files or 0),
        hub_cpu_s=cpu,
        missing=sorted(wanted - set(stored)),
        duplicated=sorted(k for k, n in stored.items() if n > 1),
        unexpected=sorted(set(stored) - wanted),
        mailbox_error=error,
    )
