"""Wire the email channel into an app: its routes (a new email; the tracking pixel and
links), its adapter, and its receiving side
(``service``: the mailbox readers and the SMTP receiver, started and stopped with the app).

Called for every app, with or without an email channel, so it loads no mail library: the
adapter imports ``send`` (aiosmtplib, dkimpy) on its first reply, the service its readers when
an email channel exists.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hub.channels.base import ChannelAdapter
from hub.channels.email.adapter import EmailAdapter
from hub.channels.email.routes import routes
from hub.channels.email.schedule_routes import routes as schedule_routes
from hub.channels.email.scheduled_sender import ScheduledSender
from hub.channels.email.service import EMAIL, EmailService, email_lifecycle
from hub.channels.email.tracking_routes import install_tracking
from hub.http import CTX

#: This process's sender of scheduled emails (every process runs one; claims keep each once).
SCHEDULED = web.AppKey("scheduled_emails", ScheduledSender)


def install(app: web.Application) -> ChannelAdapter:
    app.router.add_routes(routes)
    app.router.add_routes(schedule_routes)
    install_tracking(app)
    app[EMAIL] = EmailService(app[CTX])
    app[SCHEDULED] = ScheduledSender(app[CTX])
    app.cleanup_ctx.append(email_lifecycle)
    app.cleanup_ctx.append(_scheduled_lifecycle)
    return EmailAdapter(app[CTX])


async def _scheduled_lifecycle(app: web.Application) -> AsyncIterator[None]:
    await app[SCHEDULED].start()
    try:
        yield
    finally:
        await app[SCHEDULED].close()
