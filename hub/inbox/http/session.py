"""The web inbox's cookie session as a request sees it: the token, with Origin and CSRF checked.

``hub.http.principal`` asks this when a request has no ``Authorization`` header; the rules
themselves (cookie name, CSRF token, own origin) are in ``hub.inbox.web``.
"""

from __future__ import annotations

from aiohttp import web

from hub.errors import Forbidden
from hub.inbox.web import CSRF_HEADER, SESSION_COOKIE, UNSAFE_METHODS, csrf_matches, own_origin
from hub.settings import Settings


def check_origin(request: web.Request, settings: Settings, *, required: bool) -> None:
    origin = request.headers.get("Origin")
    if origin is None:
        if required:
            raise Forbidden("this request must come from the hub's own page", code="bad_origin")
        return
    if origin.lower() != own_origin(settings):
        raise Forbidden("this request comes from another site", code="bad_origin")


def session_token(request: web.Request, settings: Settings) -> str | None:
    """The operator token of the cookie session, CSRF and Origin checked; None without a cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    websocket = request.headers.get("Upgrade", "").lower() == "websocket"
    check_origin(request, settings, required=websocket)
    if request.method in UNSAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not csrf_matches(settings, token, sent):
            raise Forbidden(f"send the session's {CSRF_HEADER} header", code="csrf_failed")
    return token
