"""The hub's own SMTP receiver (aiosmtpd), for companies that forward their mail to the hub.

It listens on ``HUB_SMTP_HOST``:``HUB_SMTP_PORT`` inside the hub's event loop (no thread), and
accepts a recipient only when it is the address of an active email channel, a plus address of
one included (``sales+c17.…@company.ru`` carries a reply token); any other gets ``550``, so the
hub never becomes an open relay. A message larger than ``HUB_EMAIL_MAX_MESSAGE_BYTES`` gets
``552`` from aiosmtpd. ``250`` is answered only once the mail is stored for each channel it was
addressed to (calltracking-email.md B.3: a 250 means the hub owns it); a database that does not
answer gets ``451``, and the sending server tries again later (what was stored already is
recognised by its Message-ID then).

It does no SPF, DKIM or DMARC check: put it behind the company's mail server (which forwards to
it), not on the public port 25.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.email.ingest import MailChannel, MailIngest
from hub.context import HubContext
from hub.errors import DatabaseUnavailable
from hub.inbox.models import Channel

log = logging.getLogger(__name__)

TYPE = "email"


def base_address(address: str) -> str:
    """``sales+anything@Company.RU`` -> ``sales@company.ru``."""
    local, _, domain = address.strip().strip("<>").rpartition("@")
    return f"{local.partition('+')[0]}@{domain}".lower()


class SmtpReceiver:
    """``start()`` it (it binds then), ``close()`` it; ``port`` is where it listens."""

    def __init__(self, ctx: HubContext, ingest: MailIngest, host: str, port: int) -> None:
        self.ctx = ctx
        self.ingest = ingest
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        if self._server is not None:
            return
        handler = _Handler(self)
        limit = self.ctx.settings.email_max_message_bytes
        hostname = self.ctx.settings.public_url.split("//")[-1].split("/")[0].split(":")[0]
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(
                handler,
                hostname=hostname or "hub",
                data_size_limit=limit,
                enable_SMTPUTF8=True,
                decode_data=False,
            ),
            self.host,
            self.port,
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("SMTP receiver listening on %s:%s", self.host, self.port)

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def channel_for(self, address: str) -> MailChannel | None:
        """The active email channel ``address`` (or a plus address of it) belongs to."""
        wanted = base_address(address)

        async def query(session: AsyncSession) -> MailChannel | None:
            rows = await session.execute(
                select(Channel.id, Channel.config).where(
                    Channel.type == TYPE, Channel.is_active.is_(True)
                )
            )
            for channel_id, config in rows:
                own = str((config or {}).get("address", "")).lower()
                if own and own == wanted:
                    return MailChannel.of(channel_id, config)
            return None

        return await self.ctx.read(query)


class _Handler:
    """aiosmtpd's hooks."""

    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        try:
            channel = await self.receiver.channel_for(address)
        except DatabaseUnavailable:
            return "451 4.3.0 The mailbox cannot be looked up now; try again later"
        if channel is None:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw: Any = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        channels: dict[int, MailChannel] = {}
        try:
            for rcpt in envelope.rcpt_tos:
                channel = await self.receiver.channel_for(rcpt)
                if channel is not None:
                    channels[channel.id] = channel
            if not channels:
                return "554 5.1.1 None of the recipients is a mailbox here any more"
            for channel in channels.values():
                await self.receiver.ingest.ingest(channel, bytes(raw))
        except DatabaseUnavailable:
            return "451 4.3.0 The mail could not be stored now; try again later"
        except Exception:
            log.exception("SMTP receiver: a mail from %s could not be stored", envelope.mail_from)
            return "451 4.3.0 The mail could not be stored; try again later"
        return "250 2.0.0 Message accepted for delivery"
