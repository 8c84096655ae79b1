"""An IMAP session with a company mailbox (aioimaplib): TLS, log-in, a folder, new mail.

TLS is never optional: ``tls`` connects with implicit TLS (993), ``starttls`` upgrades the plain
connection before logging in and refuses a server that does not offer it (a silent downgrade
would send the password in clear). aioimaplib has no STARTTLS of its own, so the upgrade is done
here with ``loop.start_tls`` on its transport. Every failure becomes an ``ImapFailure`` whose
reason is what the admin reads as the channel's status ("login refused: [AUTHENTICATIONFAILED]
…"), without the password.

Progress belongs to the caller (``imap_runner``): this module reads UIDVALIDITY from SELECT,
finds UIDs after a given one or since a date, fetches messages by UID (those over the size
limit by their headers only), and waits for news with IDLE, ended and re-issued before the
server's 30-minute limit.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import ssl
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import aioimaplib

# aioimaplib logs every line it sends at DEBUG and masks the password only as typed, not as
# quoted on the wire (a password with " or \ would show): its log stays above DEBUG.
logging.getLogger("aioimaplib").setLevel(logging.INFO)
logging.getLogger("aioimaplib.aioimaplib").setLevel(logging.INFO)

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")
_FETCH_START = re.compile(rb"^\d+ FETCH \(")
_FETCH_UID = re.compile(rb"\bUID (\d+)")
_FETCH_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_SECURITY = ("tls", "starttls")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ImapFailure(Exception):
    """A mailbox that could not be read; ``reason`` is for the log and the admin."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ImapLogin:
    """How to reach the mailbox: the ``imap`` object of an email channel's config and the
    password kept beside the channel (``credentials.load_secrets``), never in its config."""

    host: str
    port: int
    security: str  # "tls" | "starttls"
    login: str
    password: str = field(repr=False)
    folder: str = "INBOX"

    @classmethod
    def from_config(cls, config: dict[str, Any], password: str) -> ImapLogin:
        imap = config.get("imap")
        if not isinstance(imap, dict):
            raise ImapFailure("the channel has no IMAP settings")
        try:
            login = cls(
                host=str(imap["host"]),
                port=int(imap["port"]),
                security=str(imap.get("security", "tls")),
                login=str(imap["login"]),
                password=password,
                folder=str(imap.get("folder") or "INBOX"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ImapFailure(f"the IMAP settings are incomplete: {exc}") from None
        if login.security not in _SECURITY:
            raise ImapFailure(f"IMAP security must be tls or starttls, not {login.security!r}")
        return login


@dataclass(frozen=True, slots=True)
class Fetched:
    uid: int
    raw: bytes
    #: Larger than the limit: ``raw`` holds the headers only.
    headers_only: bool = False


def imap_utf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 5.1.3), quoted: "Входящие" works."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            encoded = base64.b64encode("".join(run).encode("utf-16-be")).decode()
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            run.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return '"' + "".join(out).replace("\\", "\\\\").replace('"', '\\"') + '"'


def imap_date(day: date) -> str:
    return f"{day.day}-{_MONTHS[day.month - 1]}-{day.year}"


def _text(response: aioimaplib.Response) -> str:
    lines = [bytes(x).decode("utf-8", "replace") for x in response.lines if isinstance(x, bytes)]
    return " ".join(lines).strip()[:300] or response.result


class ImapSession:
    """One logged-in connection with its folder selected."""

    def __init__(self, client: aioimaplib.IMAP4, login: ImapLogin, timeout_s: float) -> None:
        self.client = client
        self.login = login
        self.timeout_s = timeout_s
        self.uidvalidity = 0
        self.uidnext: int | None = None
        self.idle = False
        #: Set when the server closes the connection (checked while waiting for news).
        self.lost = asyncio.Event()
        client.protocol.conn_lost_cb = lambda _exc: self.lost.set()

    @classmethod
    async def open(
        cls, login: ImapLogin, *, timeout_s: float, tls_context: ssl.SSLContext | None = None
    ) -> ImapSession:
        context = tls_context or ssl.create_default_context()
        where = f"{login.host}:{login.port}"
        client: aioimaplib.IMAP4 | None = None
        try:
            if login.security == "tls":
                client = aioimaplib.IMAP4_SSL(
                    login.host, login.port, timeout=timeout_s, ssl_context=context
                )
                await client.wait_hello_from_server()
            else:
                client = aioimaplib.IMAP4(login.host, login.port, timeout=timeout_s)
                await client.wait_hello_from_server()
                await _starttls(client, login.host, context, timeout_s)
            session = cls(client, login, timeout_s)
            await session._log_in()
            await session._select()
            return session
        except ImapFailure:
            await _drop(client)
            raise
        except ssl.SSLCertVerificationError as exc:
            await _drop(client)
            raise ImapFailure(f"{where}: the server's certificate: {exc.verify_message}") from None
        except ssl.SSLError as exc:
            await _drop(client)
            raise ImapFailure(f"{where}: TLS failed: {exc.reason or exc}") from None
        except (TimeoutError, aioimaplib.CommandTimeout):
            await _drop(client)
            raise ImapFailure(f"{where}: no answer within {timeout_s:g} s") from None
        except (OSError, aioimaplib.AioImapException) as exc:
            await _drop(client)
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise ImapFailure(f"could not connect to {where}: {reason}") from None

    async def _log_in(self) -> None:
        answer = await self.client.login(self.login.login, self.login.password)
        if answer.result != "OK":
            raise ImapFailure(f"login refused: {_text(answer)}")
        capabilities = " ".join(
            bytes(x).decode("ascii", "replace") for x in answer.lines if isinstance(x, bytes)
        )
        self.idle = "IDLE" in self.client.protocol.capabilities or " IDLE " in f" {capabilities} "

    async def _select(self) -> None:
        answer = await self.client.select(imap_utf7(self.login.folder))
        if answer.result != "OK":
            raise ImapFailure(f"folder {self.login.folder!r} could not be opened: {_text(answer)}")
        for line in answer.lines:
            if not isinstance(line, bytes):
                continue
            if found := _UIDVALIDITY.search(line):
                self.uidvalidity = int(found[1])
            if found := _UIDNEXT.search(line):
                self.uidnext = int(found[1])
        if not self.uidvalidity:
            raise ImapFailure(f"folder {self.login.folder!r} has no UIDVALIDITY")

    async def refresh(self) -> None:
        """Select the folder again: its news and its UIDVALIDITY now (a folder rebuilt while
        the connection stayed open gets a new one)."""
        await self._select()

    async def uids_after(self, last_uid: int) -> list[int]:
        """UIDs above ``last_uid`` (``n:*`` also names the highest UID when none is above)."""
        found = await self._search("UID", f"{last_uid + 1}:*")
        return [uid for uid in found if uid > last_uid]

    async def uids_since(self, day: date) -> list[int]:
        return await self._search("SINCE", imap_date(day))

    async def _search(self, *criteria: str) -> list[int]:
        answer = await self.client.uid_search(*criteria, charset=None)
        if answer.result != "OK":
            raise ImapFailure(f"search failed: {_text(answer)}")
        uids: list[int] = []
        for line in answer.lines[:-1]:
            if isinstance(line, bytes):
                uids += [int(x) for x in line.split() if x.isdigit()]
        return sorted(uids)

    async def fetch(self, uids: list[int], max_bytes: int) -> list[Fetched]:
        """The messages of ``uids``, in UID order; those over ``max_bytes`` by headers only.
        A message the server no longer has (expunged meanwhile) is left out."""
        if not uids:
            return []
        sizes = {uid: size for uid, size, _ in await self._fetch(uids, "(UID RFC822.SIZE)")}
        small = [u for u in uids if sizes.get(u, 0) <= max_bytes and u in sizes]
        large = [u for u in uids if sizes.get(u, 0) > max_bytes]
        got: list[Fetched] = []
        for uid, _, data in await self._fetch(small, "(UID BODY.PEEK[])"):
            got.append(Fetched(uid, data))
        for uid, _, data in await self._fetch(large, "(UID BODY.PEEK[HEADER])"):
            got.append(Fetched(uid, data, headers_only=True))
        return sorted(got, key=lambda f: f.uid)

    async def _fetch(self, uids: list[int], parts: str) -> list[tuple[int, int, bytes]]:
        if not uids:
            return []
        answer = await self.client.uid("fetch", ",".join(map(str, uids)), parts)
        if answer.result != "OK":
            raise ImapFailure(f"fetch failed: {_text(answer)}")
        return _parse_fetch(answer.lines)

    async def wait_for_news(self, seconds: float, wake: asyncio.Event) -> None:
        """IDLE until the server reports a change, ``seconds`` pass (then IDLE ends, and the
        caller issues it again), ``wake`` is set, or the connection drops."""
        if not self.idle:
            await _first(seconds, wake.wait(), self.lost.wait())
            return
        idle = await self.client.idle_start(timeout=seconds)
        waits = (self.client.wait_server_push(), wake.wait(), self.lost.wait())
        await _first(seconds + self.timeout_s, *waits)
        if not self.lost.is_set():
            self.client.idle_done()
            # The end of IDLE, unless the connection went away meanwhile (a BYE came as the
            # news): then it never comes.
            await _first(self.timeout_s, idle, self.lost.wait())
        if self.lost.is_set() or idle.cancelled() or not idle.done():
            idle.cancel()
            raise ImapFailure("the server closed the connection")

    async def close(self) -> None:
        await _drop(self.client)


async def _first(seconds: float, *waits: Any) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _parse_fetch(lines: list[Any]) -> list[tuple[int, int, bytes]]:
    """``(uid, size, literal)`` of each message of a FETCH answer: its first line says
    ``n FETCH (UID … RFC822.SIZE …``, a literal comes as a bytearray, the UID may also
    follow the literal."""
    out: list[tuple[int, int, bytes]] = []
    uid = size = 0
    data = b""

    def flush() -> None:
        if uid:
            out.append((uid, size, data))

    for line in lines:
        if isinstance(line, bytearray):
            data = bytes(line)
            continue
        if _FETCH_START.match(line):
            flush()
            uid, size, data = 0, 0, b""
        if found := _FETCH_UID.search(line):
            uid = int(found[1])
        if found := _FETCH_SIZE.search(line):
            size = int(found[1])
    flush()
    return out


async def _starttls(
    client: aioimaplib.IMAP4, host: str, context: ssl.SSLContext, timeout_s: float
) -> None:
    protocol = client.protocol
    if "STARTTLS" not in protocol.capabilities:
        raise ImapFailure("the server does not offer STARTTLS; the password is not sent in clear")
    command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
    async with asyncio.timeout(timeout_s):
        answer = await protocol.execute(command)
        if answer.result != "OK":
            raise ImapFailure(f"STARTTLS refused: {_text(answer)}")
        loop = asyncio.get_running_loop()
        transport = await loop.start_tls(
            protocol.transport, protocol, context, server_hostname=host
        )
        if transport is None:
            raise ImapFailure("STARTTLS failed")
        protocol.transport = transport
        await protocol.capability()


async def _drop(client: aioimaplib.IMAP4 | None) -> None:
    """Log out if the connection still answers, then close it."""
    if client is None or client.protocol is None:
        return
    transport = client.protocol.transport
    try:
        if transport is not None and not transport.is_closing():
            if client.has_pending_idle():
                client.idle_done()
            async with asyncio.timeout(2):
                await client.logout()
    except Exception:  # noqa: S110 - closing anyway
        pass
    finally:
        if transport is not None:
            transport.close()
