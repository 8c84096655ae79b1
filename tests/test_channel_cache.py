"""The channel cache: requests that miss together share one read, and a failed read is tried
again by the next request."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hub.channels.cache import ChannelCache


class _CountingContext:
    """Stands in for the hub context: counts reads and answers after a short wait."""

    def __init__(self) -> None:
        self.reads = 0
        self.fail = False

    async def read(self, _query: Any) -> str:
        self.reads += 1
        await asyncio.sleep(0.01)
        if self.fail:
            raise RuntimeError("database away")
        return f"view {self.reads}"


async def test_requests_that_miss_together_share_one_read() -> None:
    ctx = _CountingContext()
    cache = ChannelCache(ctx, ttl_s=60)  # type: ignore[arg-type]
    views = await asyncio.gather(*(cache.get(7) for _ in range(50)))
    assert ctx.reads == 1
    assert set(views) == {"view 1"}
    assert await cache.get(7) == "view 1"  # fresh: no read
    assert ctx.reads == 1


async def test_an_expired_entry_is_read_again_and_a_failure_is_not_kept() -> None:
    ctx = _CountingContext()
    cache = ChannelCache(ctx, ttl_s=0)  # type: ignore[arg-type]
    assert await cache.get(7) == "view 1"
    ctx.fail = True
    results = await asyncio.gather(*(cache.get(7) for _ in range(5)), return_exceptions=True)
    assert ctx.reads == 2
    assert all(isinstance(r, RuntimeError) for r in results)
    ctx.fail = False
    assert await cache.get(7) == "view 3"


async def test_a_cancelled_request_does_not_cancel_the_read_others_wait_for() -> None:
    ctx = _CountingContext()
    cache = ChannelCache(ctx, ttl_s=60)  # type: ignore[arg-type]
    first = asyncio.create_task(cache.get(7))
    second = asyncio.create_task(cache.get(7))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second == "view 1"
    assert ctx.reads == 1
