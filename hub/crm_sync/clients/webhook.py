"""The signed webhook: how one outbox record is put on the wire for one subscriber.

The body is the same bytes on every attempt (the subscriber may compare or hash it). It is signed
by the Standard Webhooks scheme (``hub.outbound.signing``) with the subscription's secret::

    webhook-id: <record id>-<subscription id>     (the same on every attempt: dedupe by it)
    webhook-timestamp: <unix seconds of the attempt>
    webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>
    X-Hub-Event: <the event, e.g. deal.updated>

The timestamp is signed, so a captured request cannot be replayed later with a fresh one.

Sending is behind ``Poster`` so the domain stays free of any HTTP library: the hub's process
gives the worker an aiohttp implementation (``hub.outbound.poster``), tests may give another.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from hub.outbound.signing import signed_headers

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


def headers(secret: str, key: str, event: str, body: bytes) -> dict[str, str]:
    """One attempt's headers: signed now, so each attempt has its own timestamp."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Hub-Event": event,
        **signed_headers(secret, key, body),
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
