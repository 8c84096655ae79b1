"""Token buckets, so one visitor or one address cannot flood the hub.

Counted per process: behind a load balancer each process allows its own share, which bounds the
whole at a small multiple of the limit and needs no shared store.
"""

from __future__ import annotations

import time
from collections import OrderedDict


class RateLimiter:
    """``allow(key)`` spends one token of ``key``'s bucket: ``burst`` at most, refilled at
    ``per_second``. Buckets of idle keys are forgotten once there are more than ``max_keys``."""

    def __init__(self, burst: float, per_second: float, max_keys: int = 100_000) -> None:
        self._burst = burst
        self._rate = per_second
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        allowed = tokens >= 1
        if allowed:
            tokens -= 1
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return allowed

    def forget(self, key: str) -> None:
        """Give ``key`` a full bucket again (what ended the need for the limit happened)."""
        self._buckets.pop(key, None)
