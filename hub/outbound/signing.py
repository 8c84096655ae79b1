"""Standard Webhooks signing of everything the hub POSTs out (API-channel callbacks, sync out).

Every request carries the three headers of https://www.standardwebhooks.com/::

    webhook-id: <the delivery's id: the same on every retry, so receivers dedupe by it>
    webhook-timestamp: <unix seconds of this attempt>
    webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>

The timestamp is signed, so a receiver that refuses old ones (the ``standardwebhooks`` library
allows five minutes) cannot be fed a captured request again later.

**Secrets.** A Standard Webhooks secret is ``whsec_`` and the base64 of the HMAC key. New webhook
subscriptions get one (32 random bytes); it is what the admin is shown and what the hub stores.
Any other stored secret, an API channel's secret (which also authenticates the channel's inbound
requests) or a subscription secret made before the hub used Standard Webhooks, keeps keying the
HMAC with its UTF-8 bytes, as it always did; its Standard Webhooks form is ``whsec_`` and the
base64 of those bytes (``standard_secret``), which the API hands out beside a new channel's secret.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from datetime import UTC, datetime

from standardwebhooks import Webhook

PREFIX = "whsec_"
#: Random bytes of a new subscription's key.
KEY_BYTES = 32


def new_secret() -> str:
    """A fresh Standard Webhooks secret."""
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def standard_secret(stored: str) -> str:
    """The Standard Webhooks secret (``whsec_<base64 key>``) that verifies what ``stored`` signs."""
    if stored.startswith(PREFIX):
        try:
            key = base64.b64decode(stored.removeprefix(PREFIX), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) >= 16:  # issued as one (an older whsec_ secret is URL-safe text, not this)
            return stored
    return PREFIX + base64.b64encode(stored.encode()).decode()


def signed_headers(
    secret: str, webhook_id: str, body: bytes, *, at: float | None = None
) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt to deliver ``body`` (UTF-8 JSON)."""
    timestamp = datetime.fromtimestamp(int(time.time() if at is None else at), tz=UTC)
    signature = Webhook(standard_secret(secret)).sign(webhook_id, timestamp, body.decode())
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }
