"""What a visitor's browser says of itself: the browser, its system and the kind of device.

Read from the ``User-Agent`` header of the widget's session call, the only honest source the
hub has (no client hints are asked for; his city comes from his address, and only with a GeoIP
database, ``hub.geoip``). A header that names nothing known gives nothing; the raw header is not
kept, so the contact card shows "Chrome 131 · Android · phone" and never a string to decode.
"""

from __future__ import annotations

import re

#: Most specific first: Edge, Opera, Yandex and Samsung browsers also say "Chrome" and
#: "Safari"; Chrome also says "Safari".
_BROWSERS = (
    ("YaBrowser", "Yandex Browser"),
    ("Edg", "Edge"),
    ("OPR", "Opera"),
    ("SamsungBrowser", "Samsung Internet"),
    ("Firefox", "Firefox"),
    ("FxiOS", "Firefox"),
    ("CriOS", "Chrome"),
    ("HeadlessChrome", "Chrome"),
    ("Chrome", "Chrome"),
    ("Version", "Safari"),
)
_SYSTEMS = (
    (re.compile(r"iPhone|iPad|iPod"), "iOS"),
    (re.compile(r"Android"), "Android"),
    (re.compile(r"Windows"), "Windows"),
    (re.compile(r"Mac OS X|Macintosh"), "macOS"),
    (re.compile(r"CrOS"), "ChromeOS"),
    (re.compile(r"Linux"), "Linux"),
)


def _browser(agent: str) -> str | None:
    for marker, name in _BROWSERS:
        m = re.search(rf"\b{marker}/(\d+)", agent)
        if m and (marker != "Version" or "Safari/" in agent):
            return f"{name} {m.group(1)}"
    return None


def _device(agent: str) -> str:
    if re.search(r"iPad|Tablet", agent) or ("Android" in agent and "Mobile" not in agent):
        return "tablet"
    if re.search(r"Mobi|iPhone|iPod", agent):
        return "phone"
    return "desktop"


def describe_agent(agent: str) -> dict[str, str]:
    """``browser``, ``os`` and ``device`` (phone, tablet, desktop) where the header tells."""
    agent = agent[:500]
    if not agent or "bot" in agent.lower():
        return {}
    out: dict[str, str] = {}
    if browser := _browser(agent):
        out["browser"] = browser
    for pattern, name in _SYSTEMS:
        if pattern.search(agent):
            out["os"] = name
            break
    if out:
        out["device"] = _device(agent)
    return out
