"""Where the hub may send: the address rule for URLs that admins set (DESIGN.md rule 8).

API-channel callbacks and sync-out webhooks go to URLs an admin typed. Without this rule such a URL
could point the hub at itself, at another service of the internal network, or at the cloud's
metadata service (``169.254.169.254``), and the hub would send a signed request there: server-side
request forgery. So the hub refuses private, loopback, link-local, unique-local, multicast,
carrier-grade NAT, reserved and unspecified addresses, however they are spelled (IPv6, IPv4
mapped into IPv6, decimal, octal or hex IPv4), unless ``HUB_WEBHOOK_ALLOWED_NETWORKS`` names
their network (an on-premise receiver).

It is checked twice: when the URL is set (``check_url``, a 422 ``destination_not_allowed``), and
on every connection, on the very address the socket connects to, after DNS resolution
(``hub.outbound.http``), so a name that resolved to a public address yesterday and to a private
one today (DNS rebinding) still gets nothing.

No transport library here: the domain (``hub.crm_sync``) calls ``check_url`` too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from hub.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The answer's code when a URL points where the hub does not send.
REFUSED_CODE = "destination_not_allowed"
#: The longest wait for DNS when a URL is set; a name that does not resolve in time is accepted
#: (it is checked again on every connection).
RESOLVE_TIMEOUT_S = 3.0


def _nets(*pairs: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(net), what) for net, what in pairs)


# The special-purpose registries of IANA, written out: Python's ``is_global`` differs between
# patch releases (3.11.7 calls 224.0.0.1 and 192.0.0.192 global).
REFUSED_V4 = _nets(
    ("0.0.0.0/8", "unspecified (this network)"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT (and Alibaba Cloud's metadata service)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local (the cloud metadata service)"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved (IETF protocol assignments, Oracle Cloud's metadata service)"),
    ("192.0.2.0/24", "reserved (documentation)"),
    ("192.88.99.0/24", "reserved (6to4 relay)"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "reserved (benchmarking)"),
    ("198.51.100.0/24", "reserved (documentation)"),
    ("203.0.113.0/24", "reserved (documentation)"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
)
REFUSED_V6 = _nets(
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/8", "reserved (IPv4-compatible and other special addresses)"),
    ("64:ff9b:1::/48", "reserved (local-use NAT64)"),
    ("100::/64", "reserved (discard)"),
    ("2001::/23", "reserved (IETF protocol assignments, Teredo)"),
    ("2001:db8::/32", "reserved (documentation)"),
    ("fc00::/7", "unique-local (private; AWS's metadata service)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (private)"),
    ("ff00::/8", "multicast"),
)
#: IPv6 prefixes that carry an IPv4 address, which is what such a connection reaches.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
SIXTOFOUR = ipaddress.ip_network("2002::/16")

#: What ``inet_aton`` (and so the system resolver) reads as an IPv4 address: one to four parts,
#: each decimal, octal (leading 0) or hex (0x), e.g. 2130706433, 0x7f.1, 0177.0.0.1.
_LEGACY_V4 = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?", re.IGNORECASE)


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in SIXTOFOUR:
        return ip.sixtofour
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address a URL's host names literally, in any spelling a resolver accepts; else None."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_V4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError:
            return None
    return None


@lru_cache(maxsize=16)
def parse_networks(spec: str) -> tuple[IPNetwork, ...]:
    """``HUB_WEBHOOK_ALLOWED_NETWORKS``: comma-separated CIDRs (a bare address is one host)."""
    nets: list[IPNetwork] = []
    for part in spec.split(","):
        part = part.strip()
        if part:
            try:
                nets.append(ipaddress.ip_network(part, strict=False))
            except ValueError as exc:
                raise ValueError(f"{part!r} is not a network like 10.0.0.0/8 or fd00::/8") from exc
    return tuple(nets)


@dataclass(frozen=True, slots=True)
class DestinationPolicy:
    """The refused addresses, less the networks the installation allows."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_spec(cls, spec: str) -> DestinationPolicy:
        return cls(parse_networks(spec))

    def _allows(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.allowed)

    def refusal(self, ip: IPAddress) -> str | None:
        """Why the hub does not send to ``ip`` (what kind of address it is), or None."""
        if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
            ip = ipaddress.IPv6Address(ip.compressed.split("%")[0])
        inner = embedded_ipv4(ip)
        if inner is not None:
            if self._allows(ip):
                return None
            why = self.refusal(inner)
            return f"{why}, written as IPv6" if why else None
        if self._allows(ip):
            return None
        table = REFUSED_V4 if isinstance(ip, ipaddress.IPv4Address) else REFUSED_V6
        for net, what in table:
            if ip in net:
                return what
        if not ip.is_global or ip.is_multicast or ip.is_reserved:
            return "not a public address"
        return None


def _refused(field: str, host: str, ip: IPAddress | None, why: str) -> InvalidInput:
    where = f"{host} ({ip})" if ip is not None and str(ip) != host.strip("[]") else host
    return InvalidInput(
        f"{field} points to {where}, a {why} address; the hub does not send there unless "
        "HUB_WEBHOOK_ALLOWED_NETWORKS allows its network",
        code=REFUSED_CODE,
    )


async def check_url(policy: DestinationPolicy, url: str, *, field: str) -> None:
    """Refuse a URL whose host is, or resolves to, an address the policy refuses.

    ``localhost`` and ``*.localhost`` are loopback by definition (RFC 6761), whatever the
    resolver says. A name that does not resolve (yet) passes: every connection checks again.
    """
    host = (urlsplit(url).hostname or "").rstrip(".")
    ip = literal_address(host)
    if ip is not None:
        why = policy.refusal(ip)
        if why:
            raise _refused(field, host, ip, why)
        return
    if host == "localhost" or host.endswith(".localhost"):
        loopback = ipaddress.ip_address("127.0.0.1")
        if policy.refusal(loopback):
            raise _refused(field, host, None, "loopback")
        return
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_S
        )
    except (OSError, TimeoutError, UnicodeError):
        return
    for _family, _type, _proto, _name, sockaddr in infos:
        resolved = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        why = policy.refusal(resolved)
        if why:
            raise _refused(field, host, resolved, why)
