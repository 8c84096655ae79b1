"""Whether a pixel load or a link click was a person: human, machine or unknown, with why.

An "open" is only a request for the pixel, and many come from machines: Apple Mail Privacy
Protection loads every image when the mail lands, Gmail and Yahoo fetch through their image
proxies, security gateways (Microsoft Safe Links and Defender, Mimecast, Proofpoint,
Barracuda) request every link to check it. Counting those as opens makes a manager call a
customer who never read anything, so each hit is judged by the rule table below, first match
wins (reference: calltracking-email.md B.1). Known bots, crawlers and scanner tools come from
the maintained ``crawler-user-agents`` list; the rest of the table is ours:

=====================================  =======  =============================================
rule                                   verdict  signal
=====================================  =======  =============================================
HEAD request                           machine  link checkers ask without loading
Gmail image proxy                      machine  UA ``GoogleImageProxy`` / ``ggpht.com``
Yahoo Mail image proxy                 machine  UA ``YahooMailProxy``
Yandex Mail image proxy                machine  UA ``YandexImageResizer``
Mail.ru image proxy                    machine  UA ``Mail.RU_Bot/Img``
Apple Mail Privacy Protection          machine  an open from Apple's 17.0.0.0/8, or the bare
                                                UA ``Mozilla/5.0`` its prefetch sends
Microsoft Safe Links / Defender        machine  Microsoft's mail-protection ranges, or the UA
                                                of Office's link preview / BingPreview
known bot or scanner user agent        machine  ``crawler-user-agents`` match, headless
                                                browsers, HTTP libraries
every link clicked at once             machine  all of the email's links (two or more) within
                                                ``BURST_S``
too soon after sending                 machine  under ``TOO_SOON_S`` after the send, anywhere
data-centre address soon after send    machine  a hosting or mail-security range within
                                                ``DATA_CENTRE_S`` of the send
no user agent                          unknown  nothing to go by
a mail client or browser               human    Outlook, Thunderbird, Apple Mail, Yandex,
                                                Mail.ru, Chrome, Firefox, Safari, Edge, Opera
anything else                          unknown  the UA names nothing we know
=====================================  =======  =============================================

A Gmail-proxy open may well be the reader opening it (Gmail fetches through the proxy on
open, and some reports say at delivery too): it is still "machine", never counted as an open,
and its reason says so. Address ranges are the ones named in B.1 and the providers' published
mail-gateway ranges [third-party lists, kept small on purpose]; they never make a hit human.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from hub.inbox.tracking_models import HitKind, Verdict

TOO_SOON_S = 2.0
DATA_CENTRE_S = 60.0
BURST_S = 10.0

_Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def _nets(*specs: str) -> tuple[_Net, ...]:
    return tuple(ipaddress.ip_network(s) for s in specs)


APPLE = _nets("17.0.0.0/8")
MICROSOFT_MAIL = _nets(
    "40.92.0.0/15", "40.107.0.0/16", "52.100.0.0/14", "104.47.0.0/17", "2a01:111::/32"
)
#: Hosting and mail-security ranges: Google's proxies and cloud, Microsoft's cloud, Amazon,
#: Mimecast, Proofpoint, Barracuda.
DATA_CENTRES = (
    *MICROSOFT_MAIL,
    *_nets(
        "66.249.64.0/19",
        "64.233.160.0/19",
        "66.102.0.0/20",
        "74.125.0.0/16",
        "35.184.0.0/13",
        "40.64.0.0/10",
        "52.96.0.0/12",
        "3.0.0.0/9",
        "54.64.0.0/11",
        "205.139.110.0/24",
        "207.211.30.0/24",
        "148.163.128.0/19",
        "67.231.144.0/20",
        "64.235.144.0/20",
        "209.222.80.0/21",
    ),
)

_SCANNER_UA = re.compile(
    r"HeadlessChrome|PhantomJS|python-requests|python-urllib|aiohttp|Go-http-client|curl/|"
    r"Wget|okhttp|Java/|libwww|Apache-HttpClient|Barracuda|Mimecast|Proofpoint|"
    r"Microsoft Office Existence Discovery|BingPreview|SafeLinks",
    re.IGNORECASE,
)
#: Mail clients and browsers, first match names the client.
_CLIENTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), name)
    for pattern, name in (
        (r"ms-office|Microsoft Outlook|Outlook-|MSOffice", "Outlook"),
        (r"Thunderbird", "Thunderbird"),
        (r"YaBrowser|Yandex", "Yandex"),
        (r"Mail\.RU|MailRu|mail\.ru", "Mail.ru"),
        (r"Edg/|Edge/", "Edge"),
        (r"OPR/|Opera", "Opera"),
        (r"Firefox/", "Firefox"),
        (r"Chrome/|CriOS/", "Chrome"),
        (r"Version/[\d.]+.*Safari/", "Safari"),
        (r"AppleWebKit/[\d.]+ \(KHTML, like Gecko\)(?!.*Safari)", "Apple Mail"),
    )
)


@dataclass(frozen=True, slots=True)
class Hit:
    """One request for a pixel or a link, as the route saw it."""

    kind: HitKind
    at: datetime
    ip: str
    user_agent: str
    method: str = "GET"


@dataclass(frozen=True, slots=True)
class Seen:
    """What the verdict needs to know about the email: when it was sent, how many links it
    has, and which of them were clicked within the last ``BURST_S`` (this click included)."""

    sent_at: datetime
    link_count: int = 0
    burst_links: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    reason: str
    #: The client or machine, for the inbox's line: "Apple Mail", "Gmail", "Outlook".
    client: str


def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


@functools.lru_cache(maxsize=8192)
def _in(ip: str, nets: tuple[_Net, ...]) -> bool:
    """Whether ``ip`` is in one of ``nets`` (cached: a proxy's few addresses come again and
    again, and parsing them was a visible share of a hit's time in ``bench.pixel``)."""
    address = _address(ip)
    return address is not None and any(address in net for net in nets)


@functools.lru_cache(maxsize=4096)
def known_bot(user_agent: str) -> bool:
    """``crawler-user-agents``' verdict (cached: the same few agents come again and again;
    the library is loaded on the first question)."""
    import crawleruseragents

    return bool(crawleruseragents.is_crawler(user_agent))


@functools.lru_cache(maxsize=4096)
def machine_agent(user_agent: str) -> bool:
    """A scanner, HTTP library or known bot by its user agent (cached: the same few agents
    come again and again, and the pattern is long)."""
    return bool(_SCANNER_UA.search(user_agent)) or known_bot(user_agent)


@functools.lru_cache(maxsize=4096)
def client_of(user_agent: str) -> str | None:
    for pattern, name in _CLIENTS:
        if pattern.search(user_agent):
            return name
    return None


Rule = tuple[Callable[[Hit, Seen], bool], Verdict, str, str]


def _since_send(hit: Hit, seen: Seen) -> float:
    return (hit.at - seen.sent_at).total_seconds()


def _all_links_at_once(hit: Hit, seen: Seen) -> bool:
    return (
        hit.kind == HitKind.CLICK
        and seen.link_count >= 2
        and len(seen.burst_links) >= seen.link_count
    )


#: (test, verdict, reason, client): the table in the module's docstring, in its order.
RULES: tuple[Rule, ...] = (
    (
        lambda h, s: h.method == "HEAD",
        Verdict.MACHINE,
        "a HEAD request: a link checker or security scanner",
        "link checker",
    ),
    (
        lambda h, s: "GoogleImageProxy" in h.user_agent or "ggpht.com" in h.user_agent,
        Verdict.MACHINE,
        "Gmail's image proxy: fetched by Google, not proof that it was read",
        "Gmail",
    ),
    (
        lambda h, s: "YahooMailProxy" in h.user_agent,
        Verdict.MACHINE,
        "Yahoo Mail's image proxy: fetched by Yahoo, not proof that it was read",
        "Yahoo Mail",
    ),
    (
        lambda h, s: "YandexImageResizer" in h.user_agent,
        Verdict.MACHINE,
        "Yandex Mail's image proxy: fetched by Yandex, not proof that it was read",
        "Yandex Mail",
    ),
    (
        lambda h, s: "Mail.RU_Bot/Img" in h.user_agent,
        Verdict.MACHINE,
        "Mail.ru's image proxy: fetched by Mail.ru, not proof that it was read",
        "Mail.ru",
    ),
    (
        lambda h, s: (
            h.kind == HitKind.OPEN and (_in(h.ip, APPLE) or h.user_agent.strip() == "Mozilla/5.0")
        ),
        Verdict.MACHINE,
        "Apple Mail Privacy Protection: Apple loads images when the mail arrives",
        "Apple Mail",
    ),
    (
        lambda h, s: _in(h.ip, MICROSOFT_MAIL),
        Verdict.MACHINE,
        "Microsoft Safe Links / Defender checked it from Microsoft's mail-protection network",
        "Microsoft Defender",
    ),
    (
        lambda h, s: machine_agent(h.user_agent),
        Verdict.MACHINE,
        "a known bot, scanner or HTTP library user agent",
        "scanner",
    ),
    (
        _all_links_at_once,
        Verdict.MACHINE,
        f"every link of the email clicked within {BURST_S:g} s: a link scanner",
        "link scanner",
    ),
    (
        lambda h, s: _since_send(h, s) < TOO_SOON_S,
        Verdict.MACHINE,
        f"within {TOO_SOON_S:g} s of sending: too soon for a person",
        "mail server",
    ),
    (
        lambda h, s: _since_send(h, s) < DATA_CENTRE_S and _in(h.ip, DATA_CENTRES),
        Verdict.MACHINE,
        f"from a data-centre address within {DATA_CENTRE_S:g} s of sending",
        "mail server",
    ),
    (
        lambda h, s: not h.user_agent.strip(),
        Verdict.UNKNOWN,
        "no user agent: nothing to tell a person from a program",
        "",
    ),
)


def judge(hit: Hit, seen: Seen) -> Judgement:
    """The first rule that matches; a known mail client or browser is a person; else unknown."""
    for test, verdict, reason, client in RULES:
        if test(hit, seen):
            return Judgement(verdict, reason, client)
    named = client_of(hit.user_agent)
    if named is not None:
        verb = "opened" if hit.kind == HitKind.OPEN else "clicked"
        return Judgement(Verdict.HUMAN, f"{verb} in {named}", named)
    return Judgement(Verdict.UNKNOWN, "the user agent names no mail client or browser we know", "")
