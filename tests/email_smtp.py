"""A real SMTP server for the email channel's tests (aiosmtpd in the test's own event loop), and
the TLS certificate and DKIM key it needs, made with the system's ``openssl``.

The server speaks implicit TLS (as on 465) or STARTTLS (as on 587, required before AUTH and
MAIL), checks one login and password, and records every email it accepts as the bytes it got.
What it answers to a recipient can be scripted (``rcpt_answers``: a 550 for an address that
does not exist, a 451 that a later attempt gets past). The hub trusts its certificate through
``SSL_CERT_FILE`` (``trust``), as an admin would for a company CA.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import subprocess
import warnings
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

LOGIN = "sales@company.ru"
PASSWORD = 'app-password-Зq7 "x\\'  # non-ASCII, a space, a quote and a backslash


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path


def make_tls_files(where: Path) -> TlsFiles:
    """A self-signed certificate for ``localhost`` and 127.0.0.1."""
    cert, key = where / "smtp-cert.pem", where / "smtp-key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return TlsFiles(cert, key)


@dataclass(frozen=True)
class DkimKey:
    private_pem: str
    #: The TXT record a receiver would look up: ``v=DKIM1; k=rsa; p=<public key>``.
    txt_record: bytes


def make_dkim_key(where: Path) -> DkimKey:
    key = where / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    der = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    txt = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
    return DkimKey(key.read_text(), txt)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def trust(tls_files: TlsFiles, monkeypatch: pytest.MonkeyPatch) -> TlsFiles:
    """The hub in this process trusts the test server's certificate (and only for this test)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files.cert))
    return tls_files


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    #: The login the client authenticated with.
    login: str
    #: Whether the session was encrypted when the mail was sent.
    encrypted: bool

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Recorder:
    """aiosmtpd's handler: what the server answers and what it received."""

    received: asyncio.Queue[Received] = field(default_factory=asyncio.Queue)
    #: Answers to the next RCPT commands, in order ("550 5.1.1 …"); then 250.
    rcpt_answers: list[str] = field(default_factory=list)
    rcpt_seen: list[str] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        self.rcpt_seen.append(address)
        if self.rcpt_answers:
            return self.rcpt_answers.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or envelope.content
        assert isinstance(data, bytes)
        login = self.logins[-1] if session.authenticated and self.logins else ""
        encrypted = session.ssl is not None or server.transport.get_extra_info("sslcontext")
        self.received.put_nowait(
            Received(str(envelope.mail_from), list(envelope.rcpt_tos), data, login, bool(encrypted))
        )
        return "250 2.0.0 Ok: queued as TEST42"


@dataclass
class SmtpServer:
    host: str
    port: int
    security: str
    recorder: Recorder
    server: asyncio.Server

    async def next(self, within: float = 30.0) -> Received:
        return await asyncio.wait_for(self.recorder.received.get(), within)

    def nothing_received(self) -> bool:
        return self.recorder.received.empty()

    def settings(self, password: str = PASSWORD) -> dict[str, Any]:
        """The channel's ``smtp`` settings for this server."""
        return {
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "login": LOGIN,
            "password": password,
        }

    async def close(self) -> None:
        self.server.close()
        await self.server.wait_closed()


async def start_smtp(tls: TlsFiles, security: str = "tls") -> SmtpServer:
    """An SMTP server on a free port of this machine, in this event loop."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.cert, tls.key)
    recorder = Recorder()

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (
            data.login.decode() == LOGIN and data.password.decode() == PASSWORD
        )
        if ok:
            recorder.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)

    def protocol() -> SMTP:
        with warnings.catch_warnings():
            # "AUTH while not requiring TLS": with implicit TLS the whole session is TLS.
            warnings.simplefilter("ignore")
            if security == "tls":
                return SMTP(
                    recorder,
                    hostname="localhost",
                    authenticator=authenticate,
                    auth_required=True,
                    auth_require_tls=False,
                )
            return SMTP(
                recorder,
                hostname="localhost",
                tls_context=context,
                require_starttls=True,
                authenticator=authenticate,
                auth_required=True,
            )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        protocol, "127.0.0.1", 0, ssl=context if security == "tls" else None
    )
    port = server.sockets[0].getsockname()[1]
    return SmtpServer("localhost", port, security, recorder, server)


def closed_port() -> int:
    """A port on this machine nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
