"""The IMAP half of connecting a mailbox: log in once, as the mailbox reader will, and out.

aioimaplib speaks implicit TLS (993) itself; it has no STARTTLS command, so for 143 the
connection is upgraded here (STARTTLS, then the event loop's ``start_tls`` under the same
protocol) before any password is sent, and a server that refuses STARTTLS gets no login.
Loaded only when an email channel is connected (it imports aioimaplib).
"""

from __future__ import annotations

import asyncio
import logging
import ssl

from aioimaplib import aioimaplib

from hub.channels.email.config import ImapSettings

# aioimaplib logs every line it sends at DEBUG and masks the password only as typed, not as
# quoted on the wire (a password with " or \ would show): its log stays above DEBUG.
logging.getLogger("aioimaplib.aioimaplib").setLevel(logging.INFO)


class LoginFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _tls_detail(exc: BaseException) -> str | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return str(getattr(seen, "verify_message", None) or seen.reason or "handshake failed")
        seen = seen.__cause__ or seen.__context__
    return None


async def _starttls(client: aioimaplib.IMAP4, host: str, wait_s: float) -> None:
    protocol = client.protocol
    command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
    response = await asyncio.wait_for(protocol.execute(command), wait_s)
    if response.result != "OK":
        raise LoginFailed(f"the server {host} refused STARTTLS; no password was sent")
    loop = asyncio.get_running_loop()
    transport = await asyncio.wait_for(
        loop.start_tls(
            protocol.transport, protocol, ssl.create_default_context(), server_hostname=host
        ),
        wait_s,
    )
    protocol.transport = transport
    await asyncio.wait_for(protocol.capability(), wait_s)


async def check_login(imap: ImapSettings, password: str, *, wait_s: float) -> None:
    """Raises ``LoginFailed`` with what went wrong, in words for the admin."""
    where = f"{imap.host}:{imap.port}"
    client: aioimaplib.IMAP4 | None = None
    try:
        if imap.security == "tls":
            client = aioimaplib.IMAP4_SSL(host=imap.host, port=imap.port, timeout=wait_s)
        else:
            client = aioimaplib.IMAP4(host=imap.host, port=imap.port, timeout=wait_s)
        await client.wait_hello_from_server()
        if imap.security == "starttls":
            await _starttls(client, imap.host, wait_s)
        response = await client.login(imap.login, password)
        if response.result != "OK":
            said = b" ".join(response.lines).decode("utf-8", "replace")[:300]
            raise LoginFailed(f"{where} refused the login of {imap.login!r}: {said}")
        await client.logout()
    except LoginFailed:
        raise
    except TimeoutError:
        raise LoginFailed(f"{where} did not answer in time") from None
    except (OSError, aioimaplib.AioImapException) as exc:
        detail = _tls_detail(exc)
        if detail is not None:
            raise LoginFailed(f"TLS with {where} failed: {detail}") from None
        raise LoginFailed(f"could not connect to {where}: {type(exc).__name__}") from None
    finally:
        if client is not None and client.protocol is not None:
            transport = client.protocol.transport
            if transport is not None and not transport.is_closing():
                transport.close()
