"""The receiving side of the email channel in a running hub: its mailbox readers, its SMTP
receiver, and what a bounce does.

Started with the app (``email_lifecycle``) and stopped on its cleanup. A hub without an email
channel loads no mail library: a small watcher looks for one every ``HUB_IMAP_SCAN_INTERVAL_S``
and only then starts the readers (``imap_runner.Mailboxes``, which themselves find channels
connected or switched off later, each scan). The SMTP receiver starts at once when
``HUB_SMTP_PORT`` is set, since then the admin asked for it. Both hand mail to one
``MailIngest``, whose delivery reports go to ``bounces.record_bounce`` (the reply fails, the
address is suppressed; applying a report fetched again changes nothing more).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.email.config import TYPE
from hub.context import HubContext
from hub.inbox.models import Channel
from hub.worker import PeriodicWorker, WorkerDone

if TYPE_CHECKING:
    from hub.channels.email.imap_runner import Mailboxes
    from hub.channels.email.ingest import MailIngest
    from hub.channels.email.parse import DeliveryReport, ParsedMail
    from hub.channels.email.receiver import SmtpReceiver

log = logging.getLogger(__name__)


async def email_channel_exists(ctx: HubContext) -> bool:
    async def query(session: AsyncSession) -> bool:
        found = await session.scalar(
            select(Channel.id).where(Channel.type == TYPE, Channel.is_active.is_(True)).limit(1)
        )
        return found is not None

    return await ctx.read(query)


def make_ingest(ctx: HubContext) -> MailIngest:
    """The process's ``MailIngest``, its delivery reports applied to the hub's sent mail."""
    from hub.channels.email.ingest import MailIngest

    ingest = MailIngest(ctx)

    async def on_bounce(channel_id: int, report: DeliveryReport, mail: ParsedMail) -> None:
        from hub.channels.email.bounces import record_bounce

        if not report.original_message_id:
            return
        for recipient in report.recipients:
            if recipient.permanent:
                await record_bounce(
                    ctx,
                    report.original_message_id,
                    recipient.address,
                    recipient.status,
                    recipient.diagnostic,
                )

    ingest.on_bounce(on_bounce)
    return ingest


class EmailService:
    """This process's mailbox readers (once an email channel exists) and SMTP receiver."""

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.ingest: MailIngest | None = None
        self.mailboxes: Mailboxes | None = None
        self.receiver: SmtpReceiver | None = None
        self.watcher = _Watcher(self)

    def _ingest(self) -> MailIngest:
        if self.ingest is None:
            self.ingest = make_ingest(self.ctx)
        return self.ingest

    async def start(self) -> None:
        settings = self.ctx.settings
        if settings.smtp_port is not None:
            from hub.channels.email.receiver import SmtpReceiver

            self.receiver = SmtpReceiver(
                self.ctx, self._ingest(), settings.smtp_host, settings.smtp_port
            )
            await self.receiver.start()
        if settings.imap_readers:
            await self.watcher.start()

    async def start_reading(self) -> Mailboxes:
        """Start the mailbox readers (now that an email channel exists)."""
        if self.mailboxes is None:
            from hub.channels.email.imap_runner import Mailboxes

            self.mailboxes = Mailboxes(self.ctx, self._ingest())
            await self.mailboxes.start()
        return self.mailboxes

    async def close(self) -> None:
        await self.watcher.close()
        mailboxes, self.mailboxes = self.mailboxes, None
        if mailboxes is not None:
            await mailboxes.close()
        receiver, self.receiver = self.receiver, None
        if receiver is not None:
            await receiver.close()


class _Watcher(PeriodicWorker):
    """Looks for an email channel until there is one, then starts the readers; its work is
    done then (the readers' own scans find the channels after it)."""

    name = "email-watcher"

    def __init__(self, service: EmailService) -> None:
        settings = service.ctx.settings
        super().__init__(
            interval_s=settings.imap_scan_interval_s, backoff_s=settings.worker_backoff_s
        )
        self.service = service

    async def run_once(self) -> int:
        if self.service.mailboxes is None and await email_channel_exists(self.service.ctx):
            await self.service.start_reading()
        if self.service.mailboxes is not None:
            raise WorkerDone
        return 0


EMAIL = web.AppKey("email", EmailService)


async def email_lifecycle(app: web.Application) -> AsyncIterator[None]:
    service = app[EMAIL]
    await service.start()
    try:
        yield
    finally:
        await service.close()
