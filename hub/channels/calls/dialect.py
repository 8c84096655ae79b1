"""What a telephony provider's dialect is: how its webhook is read, checked and answered.

One module per provider (``twilio``, ``zadarma``…) builds a ``Dialect``; the route
(``hub.channels.calls.routes``) checks the channel's secret in the URL first, then the
provider's own signature (``verify``), and only then parses. A dialect sees the request as
plain values (``CallRequest``), so it holds no HTTP framework and is tested on its own.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from hub.channels.call_event import CallEvent
from hub.errors import InvalidInput
from hub.phones import normalize_phone

#: What providers write for a caller who hid his number.
HIDDEN_WORDS = frozenset(
    {"", "anonymous", "unknown", "hidden", "restricted", "private", "unavailable", "null"}
)


@dataclass(frozen=True, slots=True)
class CallRequest:
    """A webhook request as a dialect reads it."""

    method: str
    #: The URL the provider called, as it knows it (the public URL: Twilio signs it).
    url: str
    #: What follows the channel's token in the path (Mango's ``events/summary``).
    tail: str
    query: Sequence[tuple[str, str]]
    form: Sequence[tuple[str, str]]
    body: bytes
    #: Looked up by lower-case name (the route gives aiohttp's case-blind headers).
    headers: Mapping[str, str] = field(default_factory=dict)

    def params(self) -> dict[str, str]:
        """The form and query values, the form's winning (GET providers send the query)."""
        out = dict(self.query)
        out.update(self.form)
        return out

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass(frozen=True, slots=True)
class Secrets:
    """The provider's secrets an admin gave (Twilio's auth token, Mango's key and salt)."""

    secret: str = ""
    key: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer a provider expects."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"


@dataclass(frozen=True, slots=True)
class SecretOption:
    """A provider secret: its key in the request's settings, its CLI flag and help."""

    key: str
    flag: str
    help: str
    #: Stored as ``Secrets.secret`` or ``Secrets.key``.
    slot: str = "secret"
    #: Whether the channel needs it to be connected (else only for what it enables:
    #: Zadarma's API key fetches recordings).
    required: bool = True


@dataclass(frozen=True, slots=True)
class ApiAnswer:
    """A provider API's answer as a recording fetch reads it."""

    status: int
    content_type: str
    #: The ``Location`` of a redirect (not followed), else "".
    location: str
    body: bytes


class ApiHttp(Protocol):
    """How a dialect calls its provider's API: through the hub's outbound guard, no redirect
    followed, the answer's body read up to a small limit."""

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        form: Mapping[str, str] | None = None,
    ) -> ApiAnswer: ...


class NotReady(Exception):
    """The provider has no file for the recording yet, or refused: tried again later. The
    message says why, without secrets."""


@dataclass(frozen=True, slots=True)
class RecordingApi:
    """How a provider that sends only a recording's id gives its file: ``link`` asks its API
    (signed with the channel's secrets) for a one-time download link."""

    #: The API's base URL, unless the channel sets its own (``api_url``: a white-label
    #: account's).
    base_url: str
    #: (api, base URL, secrets, recording id, call id) -> the download link, or ``NotReady``.
    link: Callable[[ApiHttp, str, Secrets, str, str], Awaitable[str]]
    #: The first try comes this long after the recording is announced (Zadarma's SDK says to
    #: wait about 40 s).
    first_delay_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    title: str
    #: The request's events (empty: nothing to store, e.g. an event type the hub ignores);
    #: raises ``BadPayload`` for a request that is not this provider's.
    parse: Callable[[CallRequest, int], list[CallEvent]]
    #: Whether the provider's own signature holds (True where it signs nothing: the secret
    #: in the URL, checked before, is then all there is).
    verify: Callable[[CallRequest, Secrets], bool]
    #: The answer once the events are stored.
    ok: Callable[[CallRequest], Reply]
    secrets: tuple[SecretOption, ...] = ()
    #: Hosts its recording URLs may be fetched from (a suffix matches subdomains).
    recording_hosts: tuple[str, ...] = ()
    #: What the admin pastes into the provider's cabinet, given the webhook URL.
    setup: Callable[[str], list[str]] = lambda url: [f"webhook URL: {url}"]
    #: A request answered before anything else (Zadarma's URL check), or None.
    early: Callable[[CallRequest], Reply | None] = lambda request: None
    #: How it signs, for the docs and the answer to the admin.
    signature: str = "the secret token in the URL"
    #: How recordings it names by id are fetched (None: kept as ``recording_ref`` only).
    recording_api: RecordingApi | None = None


class BadPayload(InvalidInput):
    """A request the dialect cannot read: a missing field, a value of the wrong shape."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="invalid_call_event")


def required(params: dict[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise BadPayload(f"the event has no {name}")
    if len(value) > 200:
        raise BadPayload(f"{name} is longer than 200 characters")
    return value


def phone(raw: str | None) -> tuple[str | None, bool]:
    """(E.164, hidden): a provider's number in any spelling (``79161234567``,
    ``8 (916) …``); a hidden or unreadable one is (None, True); an absent one (the event
    does not say) is (None, False). ``normalize_phone`` remembers the spellings it parsed."""
    if raw is None:
        return None, False
    text = raw.strip()
    if text.lower() in HIDDEN_WORDS or text.startswith("client:"):
        return None, True
    try:
        return normalize_phone(text), False
    except InvalidInput:
        return None, True


def number(raw: str | None) -> str | None:
    """A company number (called, tracking): E.164, or None when absent or unreadable."""
    return phone(raw)[0] if raw else None


def integer(raw: str | None, name: str) -> int | None:
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = int(float(str(raw).strip()))
    except ValueError as exc:
        raise BadPayload(f"{name} is not a number") from exc
    if value < 0 or value > 10**17:
        raise BadPayload(f"{name} is out of range")
    return value


def unix_time(raw: str | int | None, name: str, *, scale: int = 1) -> datetime | None:
    """A Unix time (``scale`` 10**6 for microseconds); 0 or absent is None."""
    value = integer(None if raw is None else str(raw), name)
    if not value:
        return None
    return datetime.fromtimestamp(value / scale, UTC)


def equal(presented: str, expected: str) -> bool:
    return hmac.compare_digest(presented.encode(), expected.encode())
