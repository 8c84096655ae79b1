"""What tracking puts into an email's HTML part: a pixel and links that pass through the hub.

The HTML part is the hub's own (``compose.text_to_html``: the operator's text escaped, its
web addresses made links), so its links are found exactly, in order, by their ``href``. Each
becomes ``HUB_PUBLIC_URL/t/c/<code>`` with ``code = <token>.<n>.<signature>``: the message's
token, the link's place in the list stored for the message, and an HMAC of both under the
hub's secret key. The hub redirects only to the ``n``-th link it stored for that token, so no
address can be made to send a visitor elsewhere (never an open redirect); the signature lets
a forged or mangled code be refused before the database is asked. A 1x1 transparent GIF with
``HUB_PUBLIC_URL/t/o/<token>.gif`` goes last in the body. The text part is left as written.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import secrets
from dataclasses import dataclass

#: The pixel: a 1x1 transparent GIF (42 bytes), the same answer for every token.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
#: A message token: 24 random bytes, base64url (32 characters, no dots).
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
_SIGNATURE_CHARS = 22  # 128 bits of the HMAC, base64url
_HREF = re.compile(r'<a href="(https?://[^"]+)"')
MAX_LINKS = 200


def new_token() -> str:
    return secrets.token_urlsafe(24)


def is_token(text: str) -> bool:
    return bool(_TOKEN.match(text))


def _signature(key: str, token: str, place: int) -> str:
    mac = hmac.new(key.encode(), f"click|{token}|{place}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii")[:_SIGNATURE_CHARS]


def click_code(key: str, token: str, place: int) -> str:
    return f"{token}.{place}.{_signature(key, token, place)}"


def read_click_code(key: str, code: str) -> tuple[str, int] | None:
    """(token, link place) of a code the hub made; None for anything else (checked in
    constant time, before any database look-up)."""
    token, _, rest = code.partition(".")
    place_text, _, signature = rest.partition(".")
    if not is_token(token) or not place_text.isdigit() or len(place_text) > 4:
        return None
    place = int(place_text)
    if not hmac.compare_digest(signature.encode(), _signature(key, token, place).encode()):
        return None
    return token, place


def read_open_code(code: str) -> str | None:
    """The token of a pixel address (``<token>.gif``, the suffix optional)."""
    token = code.removesuffix(".gif")
    return token if is_token(token) else None


@dataclass(frozen=True, slots=True)
class Tracked:
    html: str
    links: list[str]


def track_html(document: str, public_url: str, key: str, token: str) -> Tracked:
    """``document`` with its links going through the hub and the pixel at the end of its body;
    the links as they were, in order (what the click codes point at)."""
    base = public_url.rstrip("/")
    links: list[str] = []

    def through_hub(found: re.Match[str]) -> str:
        if len(links) >= MAX_LINKS:
            return found[0]
        links.append(html.unescape(found[1]))
        code = click_code(key, token, len(links) - 1)
        return f'<a href="{html.escape(f"{base}/t/c/{code}")}"'

    rewritten = _HREF.sub(through_hub, document)
    pixel = (
        f'<img src="{html.escape(f"{base}/t/o/{token}.gif")}" width="1" height="1" alt="" '
        'style="display:block;border:0;width:1px;height:1px">'
    )
    if "</body>" in rewritten:
        rewritten = rewritten.replace("</body>", f"{pixel}\n</body>", 1)
    else:
        rewritten += pixel
    return Tracked(rewritten, links)
