"""The email benchmark's baseline and its delivery: a plain aioimaplib client, nothing else.

``bare_fetch`` is what any IMAP reader must do to have the mail at all: connect with implicit
TLS, log in, select INBOX, list the UIDs, ``UID FETCH`` the whole messages in batches (the
hub's batch size) and parse each with the standard library's email parser (headers and the
text or HTML body decoded). No database, no threading, no HTML cleaning: the hub's own work is
what it adds to this. ``append_all`` delivers the corpus as a mail server would (APPEND).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser

import aioimaplib

from tests.dovecot import DovecotServer


@dataclass
class BareResult:
    seconds: float
    parsed: int
    distinct_message_ids: int


async def _client(server: DovecotServer, user: str, password: str) -> aioimaplib.IMAP4_SSL:
    imap = aioimaplib.IMAP4_SSL(
        "127.0.0.1", server.tls_port, ssl_context=server.tls_context(), timeout=60
    )
    await imap.wait_hello_from_server()
    answer = await imap.login(user, password)
    if answer.result != "OK":
        raise RuntimeError(f"login refused: {answer}")
    return imap


async def append_all(server: DovecotServer, user: str, password: str, mails: list[bytes]) -> float:
    """APPEND every mail to INBOX, in order (a reply after the mail it answers); seconds."""
    started = time.perf_counter()
    imap = await _client(server, user, password)
    try:
        for raw in mails:
            answer = await imap.append(raw, mailbox="INBOX")
            if answer.result != "OK":
                raise RuntimeError(f"APPEND failed: {answer}")
    finally:
        await imap.logout()
    return time.perf_counter() - started


async def bare_fetch(server: DovecotServer, user: str, password: str, batch: int) -> BareResult:
    started = time.perf_counter()
    imap = await _client(server, user, password)
    parser = BytesParser(policy=policy.default)
    ids: list[str] = []
    try:
        if (await imap.select("INBOX")).result != "OK":
            raise RuntimeError("SELECT INBOX failed")
        found = await imap.uid_search("ALL", charset=None)
        uids = [int(x) for line in found.lines[:-1] for x in bytes(line).split() if x.isdigit()]
        for start in range(0, len(uids), batch):
            chunk = ",".join(map(str, uids[start : start + batch]))
            answer = await imap.uid("fetch", chunk, "(UID RFC822)")
            if answer.result != "OK":
                raise RuntimeError(f"UID FETCH failed: {answer}")
            for line in answer.lines:
                if isinstance(line, bytearray):
                    msg = parser.parsebytes(bytes(line))
                    ids.append(str(msg["Message-ID"]))
                    str(msg["From"]), str(msg["Subject"])
                    body = msg.get_body(preferencelist=("plain", "html"))
                    if body is not None:
                        body.get_content()  # type: ignore[attr-defined]
    finally:
        await imap.logout()
    return BareResult(round(time.perf_counter() - started, 3), len(ids), len(set(ids)))
