"""A real IMAP server for the email tests: Debian's Dovecot, started on free ports.

One Dovecot per test process (session fixture ``dovecot_server``, started by ``tests.dovecot``,
which the email benchmark shares), with a generated config, a self-signed certificate (IMAPS and
STARTTLS) and a passwd-file; every test gets a mailbox user of its own (``dovecot``), so tests
never see each other's mail. Missing Dovecot: skipped locally, a failure under ``CI=true``
(``.ci/run`` installs ``dovecot-imapd``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioimaplib
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.email.config import split_settings
from hub.channels.email.credentials import credentials_row
from hub.channels.email.imap import ImapLogin
from hub.channels.email.ingest import MailChannel
from hub.context import HubContext
from hub.inbox.models import Channel
from tests import dovecot as dovecot_process
from tests.conftest import IN_CI
from tests.dovecot import DovecotServer

#: Mailbox users made for one test process (one per test that asks for ``dovecot``).
USERS = 500
FIXTURES = Path(__file__).parent / "fixtures" / "email"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Mailbox:
    """A test's own mailbox user on the shared Dovecot."""

    server: DovecotServer
    user: str
    password: str

    def login(self, security: str = "starttls", folder: str = "INBOX", **kw: Any) -> ImapLogin:
        port = self.server.tls_port if security == "tls" else self.server.port
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": port,
            "security": security,
            "login": self.user,
            "password": self.password,
            "folder": folder,
        }
        values.update(kw)
        return ImapLogin(**values)

    def config(self, **kw: Any) -> dict[str, Any]:
        login = self.login(**kw)
        return {
            "address": "sales@company.ru",
            "imap": {
                "host": login.host,
                "port": login.port,
                "security": login.security,
                "login": login.login,
                "password": login.password,
                "folder": login.folder,
            },
        }

    async def client(self) -> aioimaplib.IMAP4_SSL:
        imap = aioimaplib.IMAP4_SSL(
            "127.0.0.1", self.server.tls_port, ssl_context=self.server.tls_context(), timeout=10
        )
        await imap.wait_hello_from_server()
        assert (await imap.login(self.user, self.password)).result == "OK"
        return imap

    async def append(self, *mails: bytes, folder: str = "INBOX") -> None:
        """Deliver mail into the mailbox as a mail server would (IMAP APPEND)."""
        imap = await self.client()
        try:
            for raw in mails:
                answer = await imap.append(raw, mailbox=folder)
                assert answer.result == "OK", answer
        finally:
            await imap.logout()

    async def command(self, name: str, *args: str) -> None:
        imap = await self.client()
        try:
            answer = await imap.protocol.simple_command(name, *args)
            assert answer.result == "OK", answer
        finally:
            await imap.logout()


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[DovecotServer]:
    if not dovecot_process.available():
        if IN_CI:
            pytest.fail("dovecot-imapd and openssl are needed (.ci/run installs them)")
        pytest.skip("Dovecot is not installed (apt-get install -y dovecot-imapd)")
    with dovecot_process.running(USERS) as server:
        yield server


@pytest.fixture
def dovecot(dovecot_server: DovecotServer) -> Mailbox:
    user, password = dovecot_server.take_user()
    return Mailbox(dovecot_server, user, password)


async def add_email_channel(
    ctx: HubContext,
    *,
    address: str = "sales@company.ru",
    name: str = "Sales",
    config: dict[str, Any] | None = None,
) -> MailChannel:
    """An email channel as connecting one stores it (without the login checks): the settings
    split by the channel's own ``split_settings`` into the public config and the passwords,
    kept in ``email_credentials``. ``config`` is what an admin sends (``Mailbox.config``); the
    IMAP and SMTP servers default to a port nobody listens on."""
    settings: dict[str, Any] = {"address": address, **(config or {})}
    settings.setdefault("imap", {"host": "127.0.0.1", "port": 1, "password": "unused"})
    settings.setdefault("smtp", {"host": "127.0.0.1", "port": 1, "security": "starttls"})
    public, secrets = split_settings(settings)

    async def unit(session: AsyncSession) -> int:
        row = Channel(type="email", name=name, secret=uuid.uuid4().hex, config=public)
        session.add(row)
        await session.flush()
        session.add(credentials_row(row.id, secrets))
        await session.flush()
        return row.id

    channel_id = await ctx.write(unit)
    return MailChannel(channel_id, address)


def mail(
    *,
    sender: str = "Ivan Petrov <ivan.petrov@gmail.com>",
    to: str = "sales@company.ru",
    subject: str = "Hello",
    body: str = "Hello there",
    message_id: str | None = None,
    headers: str = "",
) -> bytes:
    """A small plain mail; ``headers`` are extra header lines."""
    mid = message_id or f"{uuid.uuid4().hex}@mail.test"
    extra = "".join(f"{line}\r\n" for line in headers.splitlines() if line)
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{mid}>\r\n"
        f"Date: Mon, 30 Nov 2026 10:00:00 +0300\r\n{extra}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()
