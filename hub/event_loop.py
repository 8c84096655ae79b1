"""The event loops the hub runs on: uvloop where it is installed (Linux, macOS), else
asyncio's own. The same asyncio, a faster loop: its turns, sockets and callbacks are C. Used
for the serving loop and for each PostgreSQL write lane's loop (``hub.driver``), whose every
statement's answer is read by its loop."""

from __future__ import annotations

import asyncio


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop
