"""The in-process bus keeps its retained events at their JSON's size."""

from __future__ import annotations

import tracemalloc

from hub.bus import MemoryBus


async def test_a_retained_event_costs_about_its_json() -> None:
    """orjson's bytes keep a 4 KiB buffer however short the JSON: ten thousand retained events
    would hold 40 MiB per topic, not the 2 MiB their text takes."""
    bus = MemoryBus(retention=1000)
    payload = {"type": "message.created", "data": {"id": 1, "body": "Здравствуйте"}}
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(1000):
            await bus.publish("t", {**payload, "n": n})
        per_event = (tracemalloc.get_traced_memory()[0] - before) / 1000
    finally:
        tracemalloc.stop()
    assert per_event < 1024, per_event
