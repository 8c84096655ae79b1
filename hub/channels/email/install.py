"""Wire the email channel into an app: its routes (a new email; the tracking pixel and
links), its adapter, and its receiving side
(``service``: the mailbox readers and the SMTP receiver, started and stopped with the app).

Called for every app, with or without an email channel, so it loads no mail library: the
adapter imports ``send`` (aiosmtplib, dkimpy) on its first reply, the service its readers when
an email channel exists.
"""

from __future__ import annotations

from aiohttp import web

from hub.channels.base import ChannelAdapter
from hub.channels.email.adapter import EmailAdapter
from hub.channels.email.routes import routes
from hub.channels.email.service import EMAIL, EmailService, email_lifecycle
from hub.channels.email.tracking_routes import install_tracking
from hub.http import CTX


def install(app: web.Application) -> ChannelAdapter:
    app.router.add_routes(routes)
    install_tracking(app)
    app[EMAIL] = EmailService(app[CTX])
    app.cleanup_ctx.append(email_lifecycle)
    return EmailAdapter(app[CTX])
