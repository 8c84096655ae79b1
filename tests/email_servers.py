"""A real IMAP server for the email tests: Debian's Dovecot, started on free ports.

One Dovecot per test process (session fixture ``dovecot_server``), with a generated config, a
self-signed certificate (IMAPS and STARTTLS) and a passwd-file; every test gets a mailbox user
of its own (``dovecot``), so tests never see each other's mail. Readiness is a real IMAP
greeting, never a sleep. Dovecot runs as the current user; as root its login processes (which
refuse root) run as ``dovenull`` and mail is stored as that user. Missing Dovecot: skipped
locally, a failure under ``CI=true`` (``.ci/run`` installs ``dovecot-imapd``).
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
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
from tests.conftest import IN_CI

DOVECOT = "/usr/sbin/dovecot"
#: Mailbox users made for one test process (one per test that asks for ``dovecot``).
USERS = 500
FIXTURES = Path(__file__).parent / "fixtures" / "email"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_greeting(port: int, deadline_s: float = 15.0) -> None:
    end = time.monotonic() + deadline_s
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(200).startswith(b"* OK"):
                    return
        except OSError:
            pass
        if time.monotonic() > end:
            raise RuntimeError(f"dovecot did not greet on port {port}")
        time.sleep(0.05)  # polling a socket for readiness, not waiting for an effect


@dataclass
class DovecotServer:
    root: Path
    port: int
    tls_port: int
    cafile: Path
    process: subprocess.Popen[bytes]
    mail_uid: int
    mail_gid: int

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cafile))

    users: list[tuple[str, str]] = field(default_factory=list)

    def take_user(self) -> tuple[str, str]:
        """A mailbox user no other test had (all written before Dovecot started: it re-reads
        its passwd-file at most once a second, so a user added just now may be unknown)."""
        return self.users.pop()


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


def _start(root: Path) -> DovecotServer:
    port, tls_port = _free_port(), _free_port()
    if os.geteuid() == 0:
        login_user = pwd.getpwnam("dovenull")
        mail_uid, mail_gid, login_name = login_user.pw_uid, login_user.pw_gid, "dovenull"
    else:
        mail_uid, mail_gid = os.geteuid(), os.getegid()
        login_name = pwd.getpwuid(mail_uid).pw_name
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    (root / "mail").mkdir()
    users = [(f"u{uuid.uuid4().hex[:12]}", uuid.uuid4().hex) for _ in range(USERS)]
    (root / "passwd").write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in users))
    for path in (root / "mail",):
        os.chown(path, mail_uid, mail_gid)
    me = pwd.getpwuid(os.geteuid()).pw_name
    (root / "dovecot.conf").write_text(
        f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {me}
default_internal_group = {grp.getgrgid(os.getegid()).gr_name}
default_login_user = {login_name}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {tls_port}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = 0
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0600
  }}
}}
"""
    )
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_greeting(port)
    except Exception:
        process.kill()
        raise
    return DovecotServer(root, port, tls_port, cert, process, mail_uid, mail_gid, users)


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[DovecotServer]:
    if not Path(DOVECOT).exists() or shutil.which("openssl") is None:
        if IN_CI:
            pytest.fail("dovecot-imapd and openssl are needed (.ci/run installs them)")
        pytest.skip("Dovecot is not installed (apt-get install -y dovecot-imapd)")
    # Not pytest's tmp_path: Dovecot's login processes (dovenull) must reach its folder.
    root = Path(tempfile.mkdtemp(prefix="hub-dovecot-"))
    root.chmod(0o755)
    server = _start(root)
    try:
        yield server
    finally:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
        shutil.rmtree(root, ignore_errors=True)


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
