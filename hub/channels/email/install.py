"""Wire the email channel into an app: its route and its adapter.

Called for every app, with or without an email channel, so it loads no mail library: the
adapter imports ``send`` (aiosmtplib, dkimpy) on its first reply.
"""

from __future__ import annotations

from aiohttp import web

from hub.channels.base import ChannelAdapter
from hub.channels.email.adapter import EmailAdapter
from hub.channels.email.routes import routes
from hub.http import CTX


def install(app: web.Application) -> ChannelAdapter:
    app.router.add_routes(routes)
    return EmailAdapter(app[CTX])
