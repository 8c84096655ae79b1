"""The signed webhook: how one outbox record is put on the wire for one subscriber.

The body is the same bytes on every attempt (the subscriber may compare or hash it); the
timestamp is the attempt's, and the signature covers both, so a captured request cannot be
replayed later with a fresh timestamp::

    X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
    X-Hub-Timestamp: <unix seconds>
    Idempotency-Key: <record id>-<subscription id>

Sending is behind ``Poster`` so the domain stays free of any HTTP library: the hub's process
gives the worker an aiohttp implementation (``hub.webhook_poster``), tests may give another.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

USER_AGENT = "hub-sync/1"


def idempotency_key(record_id: int, subscription_id: int) -> str:
    """Stable for one record and one subscriber, across retries, restarts and processes."""
    return f"{record_id}-{subscription_id}"


def envelope(
    *,
    key: str,
    event: str,
    entity: str,
    entity_id: int,
    created_at: datetime,
    payload: dict[str, Any],
) -> bytes:
    body = {
        "id": key,
        "event": event,
        "entity": entity,
        "entity_id": entity_id,
        "created_at": created_at.isoformat().replace("+00:00", "Z"),
        "data": payload,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a subscriber does (and the tests): compare in constant time."""
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def headers(secret: str, key: str, event: str, timestamp: str, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Hub-Event": event,
        "X-Hub-Timestamp": timestamp,
        "X-Hub-Signature": signature(secret, timestamp, body),
        "Idempotency-Key": key,
    }


@dataclass(frozen=True, slots=True)
class PostResult:
    """What one attempt came to: a status code, or an error before any answer."""

    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Poster(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult: ...

    async def close(self) -> None: ...
