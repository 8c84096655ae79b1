"""The pixel and tracked-link routes: ``GET /t/o/<token>.gif`` and ``GET /t/c/<code>``.

Both are opened by mail clients, proxies and scanners, never by operators, and both say
nothing about a token: the pixel is the same 1x1 GIF for a valid, unknown, malformed or
rate-limited token (no-store, so each open asks again), and a link is a 302 to the address
the hub stored for that email, or the same 404 for anything else. A forged link code is
refused by its signature before the database is asked. Each hit is stored (and a person's
announced) through the group commit's batch path (``tracking_store``); the answer waits for
its commit, so what a client was answered is stored. Requests are limited per address
(``HUB_EMAIL_TRACKING_IP_BURST`` / ``_PER_S``).
"""

from __future__ import annotations

import logging

from aiohttp import web

from hub.channels.email.tracking_links import PIXEL_GIF, read_click_code, read_open_code
from hub.channels.email.tracking_store import TrackHit, record_hit
from hub.channels.email.tracking_verdict import Hit
from hub.db import utcnow
from hub.errors import DatabaseUnavailable
from hub.http import CTX, client_address
from hub.inbox.tracking_models import HitKind
from hub.ratelimit import RateLimiter

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
LIMITER = web.AppKey("email_tracking_limiter", RateLimiter)
NO_STORE = {
    "Cache-Control": "no-store, no-cache, must-revalidate, private, max-age=0",
    "Pragma": "no-cache",
    "Expires": "0",
    "Referrer-Policy": "no-referrer",
}
_NOT_FOUND = b'{"error": {"code": "not_found", "message": "no such link"}}'
_LIMITED = b'{"error": {"code": "rate_limited", "message": "too many requests; try again soon"}}'


def install_tracking(app: web.Application) -> None:
    settings = app[CTX].settings
    app[LIMITER] = RateLimiter(settings.email_tracking_ip_burst, settings.email_tracking_ip_per_s)
    app.router.add_routes(routes)


def limiter(app: web.Application) -> RateLimiter:
    return app[LIMITER]


def _hit(request: web.Request, kind: HitKind, ip: str) -> Hit:
    agent = request.headers.get("User-Agent", "")[:500]
    return Hit(kind, utcnow(), ip, agent, request.method)


@routes.get("/t/o/{code}")
async def pixel(request: web.Request) -> web.Response:
    token = read_open_code(request.match_info["code"])
    ip = client_address(request)
    if token is not None and limiter(request.app).allow(ip):
        try:
            await record_hit(request.app[CTX], TrackHit(token, _hit(request, HitKind.OPEN, ip)))
        except DatabaseUnavailable:
            pass  # logged once per interval by the database's health
        except Exception:
            log.exception("an email open could not be stored")
    return web.Response(body=PIXEL_GIF, content_type="image/gif", headers=NO_STORE)


def _json(status: int, body: bytes, **headers: str) -> web.Response:
    return web.Response(
        status=status,
        body=body,
        content_type="application/json",
        headers={**NO_STORE, **headers},
    )


@routes.get("/t/c/{code}")
async def click(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    ip = client_address(request)
    if not limiter(request.app).allow(ip):
        return _json(429, _LIMITED, **{"Retry-After": "10"})
    found = read_click_code(ctx.settings.resolved_secret_key(), request.match_info["code"])
    link = None
    if found is not None:
        token, place = found
        link = await record_hit(ctx, TrackHit(token, _hit(request, HitKind.CLICK, ip), place))
    if link is None or not link.lower().startswith(("http://", "https://")):
        return _json(404, _NOT_FOUND)
    return web.Response(status=302, headers={**NO_STORE, "Location": link})
