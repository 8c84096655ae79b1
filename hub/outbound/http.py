"""POSTs to URLs that admins set (API-channel callbacks, sync-out webhooks), guarded.

One client for both, so they share the rules of DESIGN.md rule 8:

* **Only allowed addresses, checked on connection.** The connector's resolver drops every resolved
  address the policy (``hub.outbound.destinations``) refuses, and its socket factory refuses to
  make a socket for one, so the socket only ever connects to an address that was checked: the
  factory sees the exact address ``connect()`` is given, also for a URL with a literal IP (which
  aiohttp does not resolve). A name that resolved to a public address when it was set and to a
  private one now (DNS rebinding) gets nothing.
* **No redirects.** A 3xx is an answer like any other non-2xx: the delivery failed. Following
  one would send the signed body to wherever the receiver points, unchecked.
* No cookies kept between receivers, no proxy taken from the environment.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from aiohttp import AddrInfoType, SocketFactoryType
from aiohttp.abc import AbstractResolver, ResolveResult

from hub.outbound.destinations import DestinationPolicy


class RefusedDestination(OSError):
    """The address is one the hub does not send to; the message says which and why."""


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(host.split("%")[0])


class GuardedResolver(AbstractResolver):
    """Resolves as the default resolver does, then keeps only the allowed addresses."""

    def __init__(self, policy: DestinationPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner or aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        kept: list[ResolveResult] = []
        refused: list[str] = []
        for result in results:
            why = self._policy.refusal(_address(result["host"]))
            if why is None:
                kept.append(result)
            else:
                refused.append(f"{result['host']} ({why})")
        if not kept:
            raise RefusedDestination(
                f"{host} resolves only to addresses the hub does not send to: " + ", ".join(refused)
            )
        return kept

    async def close(self) -> None:
        await self._inner.close()


def guarded_socket_factory(policy: DestinationPolicy) -> SocketFactoryType:
    """Make a socket for an allowed address only (aiohappyeyeballs' ``socket_factory``)."""

    def make(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _name, sockaddr = addr_info
        host = str(sockaddr[0])
        why = policy.refusal(_address(host))
        if why is not None:
            raise RefusedDestination(f"{host} is a {why} address; the hub does not send there")
        return socket.socket(family=family, type=type_, proto=proto)

    return make


def refusal_in(exc: BaseException) -> str | None:
    """The refusal behind a connection error, if that is what it was."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, RefusedDestination):
            return str(seen)
        if isinstance(seen, aiohttp.ClientConnectorError) and isinstance(
            seen.os_error, RefusedDestination
        ):
            return str(seen.os_error)
        seen = seen.__cause__
    return None


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    #: The start of the answer's body, for the delivery log (read only when not 2xx).
    text: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


#: The start of an error answer kept for the delivery log.
MAX_ERROR_CHARS = 300


class OutboundClient:
    """One per sender (the API channel's adapter, the sync worker's poster), lazily connected."""

    def __init__(self, policy: DestinationPolicy, timeout_s: float) -> None:
        self._policy = policy
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._resolver: GuardedResolver | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._resolver = GuardedResolver(self._policy)
            connector = aiohttp.TCPConnector(
                resolver=self._resolver,
                socket_factory=guarded_socket_factory(self._policy),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
            )
        return self._session

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        """POST once; raises ``aiohttp.ClientError`` or ``TimeoutError`` as aiohttp does
        (``refusal_in`` tells a refused destination from other connection errors)."""
        async with self._client().post(
            url, data=body, headers=headers, allow_redirects=False
        ) as resp:
            text = "" if 200 <= resp.status < 300 else await resp.text(errors="replace")
            return Answer(resp.status, text[:MAX_ERROR_CHARS])

    async def get_bytes(self, url: str, max_bytes: int) -> tuple[int, str, bytes]:
        """GET once, no redirect followed: (status, content type, body); a body past
        ``max_bytes`` raises ``ValueError`` (nothing of it is kept)."""
        async with self._client().get(url, allow_redirects=False) as resp:
            if not 200 <= resp.status < 300:
                return resp.status, resp.content_type, b""
            if resp.content_length is not None and resp.content_length > max_bytes:
                raise ValueError(f"the answer is larger than {max_bytes} bytes")
            body = await resp.content.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise ValueError(f"the answer is larger than {max_bytes} bytes")
            return resp.status, resp.content_type, body

    async def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        form: Mapping[str, str] | None,
        max_bytes: int,
    ) -> tuple[int, str, str, bytes]:
        """One request (a provider's API), no redirect followed: (status, content type, the
        ``Location`` of a redirect or "", the body, of which only ``max_bytes`` are read)."""
        data = dict(form) if form is not None else None
        async with self._client().request(
            method, url, headers=dict(headers), data=data, allow_redirects=False
        ) as resp:
            body = await resp.content.read(max_bytes)
            return resp.status, resp.content_type, resp.headers.get("Location", ""), body

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._resolver is not None:
            await self._resolver.close()
            self._resolver = None
