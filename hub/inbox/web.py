"""The operator's web page (``/inbox``): its cookie session's rules, without any transport.

Browsers cannot put an ``Authorization`` header on a WebSocket, so the page logs in with
``POST /api/v1/auth/session``: the operator token goes into an HttpOnly, SameSite=Strict cookie
and the page gets a CSRF token, an HMAC of the operator token with the hub's secret key (so it
needs no storage). A request authenticated by the cookie must then

* come from the hub's own origin when it names one (``Origin``), always for a WebSocket;
* carry ``X-CSRF-Token`` when it changes something (POST, PATCH, PUT, DELETE).

Bearer-token requests are unaffected. The page's files are served with a Content-Security-Policy
that allows no inline script and no other origin. The HTTP side is ``hub.inbox.http.pages``.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from urllib.parse import urlsplit

from hub.settings import Settings

SESSION_COOKIE = "hub_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {
    "inbox.js": "application/javascript; charset=utf-8",
    "inbox.css": "text/css; charset=utf-8",
    "dom.js": "application/javascript; charset=utf-8",
    "locale.js": "application/javascript; charset=utf-8",
    "contact-page.js": "application/javascript; charset=utf-8",
    "deal-new.js": "application/javascript; charset=utf-8",
    "narrow.css": "text/css; charset=utf-8",
    "manager.css": "text/css; charset=utf-8",
    "duplicates.js": "application/javascript; charset=utf-8",
    "reports.js": "application/javascript; charset=utf-8",
    "canned.js": "application/javascript; charset=utf-8",
    "contact-edit.js": "application/javascript; charset=utf-8",
    "email-compose.js": "application/javascript; charset=utf-8",
    "scheduled.js": "application/javascript; charset=utf-8",
    "attachments.js": "application/javascript; charset=utf-8",
    "reply-to.js": "application/javascript; charset=utf-8",
    "typing.js": "application/javascript; charset=utf-8",
    "deals.js": "application/javascript; charset=utf-8",
    "sales-panel.js": "application/javascript; charset=utf-8",
    "items.js": "application/javascript; charset=utf-8",
    "ratings.js": "application/javascript; charset=utf-8",
    "admin.js": "application/javascript; charset=utf-8",
    "admin-people.js": "application/javascript; charset=utf-8",
    "admin-channels.js": "application/javascript; charset=utf-8",
    "admin-sales.js": "application/javascript; charset=utf-8",
    "admin-routing.js": "application/javascript; charset=utf-8",
    "admin-hours.js": "application/javascript; charset=utf-8",
    "admin-tracking.js": "application/javascript; charset=utf-8",
    "admin.css": "text/css; charset=utf-8",
    "availability.js": "application/javascript; charset=utf-8",
    "tracking.js": "application/javascript; charset=utf-8",
    "notice.js": "application/javascript; charset=utf-8",
    "merges.js": "application/javascript; charset=utf-8",
    "invite.js": "application/javascript; charset=utf-8",
}


def own_origin(settings: Settings) -> str:
    """The hub's own origin, ``scheme://host[:port]``, from ``HUB_PUBLIC_URL``."""
    parts = urlsplit(settings.public_url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def is_https(settings: Settings) -> bool:
    return settings.public_url.lower().startswith("https:")


def csrf_token(settings: Settings, token: str) -> str:
    """The CSRF token that goes with an operator token: nothing to store, nothing to guess."""
    key = settings.resolved_secret_key().encode()
    return hmac.new(key, b"hub-csrf:" + token.encode(), hashlib.sha256).hexdigest()


def csrf_matches(settings: Settings, token: str, sent: str) -> bool:
    return bool(sent) and hmac.compare_digest(sent, csrf_token(settings, token))


def security_headers(settings: Settings) -> dict[str, str]:
    """The headers of the page and its files: scripts, styles and connections from the hub only."""
    parts = urlsplit(settings.public_url)
    ws = "wss" if is_https(settings) else "ws"
    csp = (
        "default-src 'self'; "
        f"connect-src 'self' {ws}://{parts.netloc}; "
        "img-src 'self' data:; "
        "script-src 'self'; style-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-cache",
    }
