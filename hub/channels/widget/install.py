"""Wire the widget channel into an app: its state, routes, lifecycle and adapter."""

from __future__ import annotations

from aiohttp import web

from hub.channels.base import ChannelAdapter
from hub.channels.widget import file_routes, number_route, online_routes, rating_routes
from hub.channels.widget.adapter import WidgetAdapter
from hub.channels.widget.config import TYPE
from hub.channels.widget.keys import WIDGET, WidgetState, close_visitor_sockets, widget_lifecycle
from hub.channels.widget.rating import RatingAsker
from hub.channels.widget.routes import add_cors_headers, routes
from hub.http import CTX, PRESENCE, REALTIME, TYPING


def install(app: web.Application) -> ChannelAdapter:
    realtime = app[REALTIME]
    state = WidgetState(app[CTX], app[PRESENCE])
    app[WIDGET] = state
    realtime.on_sockets_changed.append(state.sockets_changed)
    app[TYPING].relays[TYPE] = state.relay_typing
    app.router.add_routes(routes)
    app.router.add_routes(file_routes.routes)
    app.router.add_routes(rating_routes.routes)
    app.router.add_routes(number_route.routes)
    app.router.add_routes(online_routes.routes)
    app[CTX].resolution_listeners.append(RatingAsker(app[CTX], state.live))
    app.cleanup_ctx.append(widget_lifecycle)
    app.on_shutdown.append(close_visitor_sockets)
    app.on_response_prepare.append(add_cors_headers)
    return WidgetAdapter(state)
