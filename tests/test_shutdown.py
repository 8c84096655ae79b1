"""Background workers stop when asked, whatever they were doing at that moment.

A worker that missed its cancel kept the app's shutdown waiting for ever: a test's teardown
then hung until the test's own timeout (120 s), on a busy machine more often than on a quiet one.
"""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient

from hub.http import CTX
from hub.inbox.delivery import DeliveryWorker

#: The last resort of the waits below, never the expected time.
CAP_S = 60.0


async def test_the_delivery_worker_stops_when_woken_as_it_is_closed(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """A reply wakes the worker at the moment the app closes it. On Python 3.11 the cancel
    that landed in ``asyncio.wait_for`` just as the wake-up completed was taken for the
    wake-up's result and lost, and the worker polled on."""
    ctx = client.app[CTX]
    worker = DeliveryWorker(ctx, {})
    await worker.start()
    await worker.passed(1)  # its first pass has ended: it now waits for its wake-up
    ctx.delivery_wakeup.set()
    # Not wait_for: close() swallowed the cancel of a wait_for that ran out, and returned.
    closing = asyncio.ensure_future(worker.close())
    done, _ = await asyncio.wait([closing], timeout=CAP_S)
    assert done, "the delivery worker did not stop"
