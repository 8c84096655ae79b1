"""SMTP out: sign the exact bytes, send them over TLS, and say what a refusal means.

Loaded only when an email channel sends or is connected (``adapter``, ``connect``): it imports
aiosmtplib and dkimpy. One connection per email (a mailbox answers a few replies a minute;
nothing to pool), bounded by ``HUB_DELIVERY_TIMEOUT_S``. Implicit TLS on 465, STARTTLS forced
on 587 (``start_tls=True``: a server that does not offer it gets nothing, never the text in
the clear); certificates are verified against the system's CAs (``SSL_CERT_FILE`` names
another bundle, e.g. a company CA).

A refusal is classified for the outbox (``hub.inbox.delivery``): 4xx answers and network
failures are temporary (retried with backoff); 5xx are permanent (the reply fails with the
server's answer). A 5xx that says the address itself is bad (refused at RCPT, or an enhanced
status 5.1.x) also puts the address on the suppression list; one about the channel (its login,
its sender address, a policy rejection of the content) does not, since the customer's address
is not at fault.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass

import aiosmtplib
import dkim

from hub.channels.email.config import SmtpSettings

#: Headers DKIM covers, those present (B.4: From, To, Subject, Date, Message-ID, the threading
#: headers), so none can be changed on the way without breaking the signature.
SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"in-reply-to",
    b"references",
    b"mime-version",
    b"content-type",
)
_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")


class SendFailed(Exception):
    """A send that did not go through: the reason for the operator, whether to try again,
    and whether the recipient's address itself was refused (to suppress it)."""

    def __init__(self, reason: str, *, temporary: bool, address_refused: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.temporary = temporary
        self.address_refused = address_refused


@dataclass(frozen=True, slots=True)
class Sent:
    #: The server's last answer (its queue id, usually), kept on the message.
    answer: str


def sign(message: bytes, selector: str, domain: str, private_key: str) -> bytes:
    """``message`` with a DKIM-Signature header on top (rsa-sha256, relaxed/simple); raises
    ``SendFailed`` for a key dkimpy cannot use."""
    head = message.split(b"\r\n\r\n", 1)[0].lower()
    present = [h for h in SIGNED_HEADERS if head.startswith(h + b":") or b"\r\n" + h + b":" in head]
    try:
        signature = dkim.sign(
            message,
            selector.encode("ascii"),
            domain.encode("ascii"),
            private_key.encode("ascii"),
            include_headers=present,
        )
    except (dkim.DKIMException, ValueError, TypeError, IndexError) as exc:
        # The key's text is not quoted: only what kind of failure it was.
        raise SendFailed(
            f"DKIM signing failed ({type(exc).__name__}); check the channel's DKIM key",
            temporary=False,
        ) from None
    return bytes(signature) + message


def tls_flags(smtp: SmtpSettings) -> tuple[bool, bool]:
    """aiosmtplib's ``use_tls`` and ``start_tls`` for the channel's security: never the
    silent-downgrade default (``start_tls=None``)."""
    implicit = smtp.security == "tls"
    return implicit, not implicit


def _answer(code: int, message: str) -> str:
    return f"{code} {' '.join(message.split())}".strip()


def _tls_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def classify(exc: BaseException, where: str) -> SendFailed:
    """What an aiosmtplib failure means for the reply; ``where`` names the server."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        first = exc.recipients[0]
        text = _answer(first.code, first.message)
        if 500 <= first.code < 600:
            return SendFailed(
                f"{where} refused the recipient: {text}", temporary=False, address_refused=True
            )
        return SendFailed(f"{where} deferred the recipient: {text}", temporary=True)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        text = _answer(exc.code, exc.message)
        permanent = 500 <= exc.code < 600
        return SendFailed(
            f"{where} refused the mailbox's login ({text}); check the channel's SMTP password"
            if permanent
            else f"{where} could not log in now: {text}",
            temporary=not permanent,
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        text = _answer(exc.code, exc.message)
        if 500 <= exc.code < 600:
            enhanced = _ENHANCED.match(exc.message)
            bad_address = (
                not isinstance(exc, aiosmtplib.SMTPSenderRefused)
                and enhanced is not None
                and enhanced[2] == "1"
            )
            return SendFailed(
                f"{where} refused the email: {text}", temporary=False, address_refused=bad_address
            )
        return SendFailed(f"{where} answered: {text}", temporary=True)
    tls = _tls_cause(exc)
    if tls is not None:
        detail = getattr(tls, "verify_message", None) or tls.reason or type(tls).__name__
        return SendFailed(f"TLS with {where} failed: {detail}", temporary=False)
    if isinstance(exc, aiosmtplib.SMTPException) and "STARTTLS" in str(exc):
        return SendFailed(
            f"{where} does not offer STARTTLS; nothing was sent unencrypted", temporary=False
        )
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return SendFailed(f"{where} did not answer in time", temporary=True)
    if isinstance(exc, aiosmtplib.SMTPException | OSError):
        return SendFailed(f"could not reach {where}: {type(exc).__name__}", temporary=True)
    raise exc


async def deliver(
    smtp: SmtpSettings,
    password: str,
    sender: str,
    recipient: str,
    message: bytes,
    *,
    wait_s: float,
) -> Sent:
    """Send the bytes as they are; raises ``SendFailed``."""
    where = f"{smtp.host}:{smtp.port}"
    use_tls, start_tls = tls_flags(smtp)
    try:
        _, answer = await aiosmtplib.send(
            message,
            sender=sender,
            recipients=[recipient],
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.login,
            password=password,
            timeout=wait_s,
            use_tls=use_tls,
            start_tls=start_tls,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise classify(exc, where) from None
    return Sent(answer=" ".join(answer.split())[:500])


async def check_login(smtp: SmtpSettings, password: str, *, wait_s: float) -> None:
    """Connect, secure and log in as a send would, and log out; raises ``SendFailed``."""
    where = f"{smtp.host}:{smtp.port}"
    use_tls, start_tls = tls_flags(smtp)
    client = aiosmtplib.SMTP(
        hostname=smtp.host, port=smtp.port, timeout=wait_s, use_tls=use_tls, start_tls=start_tls
    )
    try:
        async with client:
            await client.login(smtp.login, password)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise classify(exc, where) from None
