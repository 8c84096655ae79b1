"""Debian's Dovecot as a real IMAP server on free ports, for the email tests and the email
benchmark (``bench.email_imap``) alike: a generated config, a self-signed certificate (IMAPS
and STARTTLS) and a passwd-file of mailbox users. Readiness is a real IMAP greeting, never a
sleep. Dovecot runs as the current user; as root its login processes (which refuse root) run
as ``dovenull`` and mail is stored as that user. Plain standard library: no pytest, no hub.
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
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"


def available() -> bool:
    """Whether Dovecot and openssl (for its certificate) are installed."""
    return Path(DOVECOT).exists() and shutil.which("openssl") is not None


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
        """A mailbox user nobody had (all written before Dovecot started: it re-reads its
        passwd-file at most once a second, so a user added just now may be unknown)."""
        return self.users.pop()


def start(root: Path, users: int) -> DovecotServer:
    """Dovecot serving from ``root`` (reachable by ``dovenull``) with ``users`` mailbox users."""
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
    accounts = [(f"u{uuid.uuid4().hex[:12]}", uuid.uuid4().hex) for _ in range(users)]
    (root / "passwd").write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in accounts))
    os.chown(root / "mail", mail_uid, mail_gid)
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
    return DovecotServer(root, port, tls_port, cert, process, mail_uid, mail_gid, accounts)


def stop(server: DovecotServer) -> None:
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    shutil.rmtree(server.root, ignore_errors=True)


@contextmanager
def running(users: int) -> Iterator[DovecotServer]:
    """A Dovecot in a fresh folder, stopped and removed at the end."""
    # Not pytest's tmp_path: Dovecot's login processes (dovenull) must reach its folder.
    root = Path(tempfile.mkdtemp(prefix="hub-dovecot-"))
    root.chmod(0o755)
    server = start(root, users)
    try:
        yield server
    finally:
        stop(server)
