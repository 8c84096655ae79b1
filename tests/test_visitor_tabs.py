"""Whether a visitor has a widget tab open is known on every process: one process's tab counts
on another (through Redis with the served backend), and stops counting when it closes. The
guaranteed answer (tests/test_widget_email_answer.py) emails only a visitor with none."""

from __future__ import annotations

from typing import Any

from hub.bus import MemoryBus
from hub.channels.widget.live import VisitorSocket, WidgetLive
from hub.channels.widget.tabs import VisitorTabs
from hub.settings import Settings


class _Quiet:
    """A socket's other end that nothing is sent to in this test."""

    async def send_json(self, data: Any) -> None:
        raise AssertionError("nothing is sent here")

    async def close(self, code: int = 1000, message: str = "") -> None:
        return None


def _tabs(settings: Settings, live: WidgetLive) -> VisitorTabs:
    return VisitorTabs(live, settings.redis_url, settings.redis_prefix, refresh_s=5, backoff_s=1)


async def test_a_tab_on_one_process_counts_on_the_others(settings: Settings) -> None:
    here_live, there_live = WidgetLive(MemoryBus()), WidgetLive(MemoryBus())
    here, there = _tabs(settings, here_live), _tabs(settings, there_live)
    try:
        assert not await here.is_open(7, "visitor:1")
        sock = VisitorSocket(_Quiet(), 1, 7, "visitor:1")  # type: ignore[arg-type]
        here_live.add(sock)
        await here.opened(7, "visitor:1")
        assert await here.is_open(7, "visitor:1")
        # Another process sees it only through Redis; an embedded hub is one process.
        assert await there.is_open(7, "visitor:1") is (settings.redis_url is not None)
        assert not await there.is_open(7, "visitor:2") and not await here.is_open(8, "visitor:1")
        # A refresh keeps it; closing the tab drops it everywhere.
        assert await here.run_once() == 1
        assert await there.is_open(7, "visitor:1") is (settings.redis_url is not None)
        here_live.remove(sock)
        await here.closed(7, "visitor:1")
        assert not await here.is_open(7, "visitor:1")
        assert not await there.is_open(7, "visitor:1")
    finally:
        await here.close()
        await there.close()


async def test_a_frozen_redis_answers_away_within_its_bound() -> None:
    """A Redis that accepts the connection and never answers (frozen): the question is
    answered "no tab" (the reply then goes by email) within the bound, and nothing hangs."""
    import asyncio

    from hub.process_entry import REDIS_TIMEOUT_S

    held: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # read nothing, answer nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    tabs = VisitorTabs(
        WidgetLive(MemoryBus()), f"redis://127.0.0.1:{port}/0", "t", refresh_s=5, backoff_s=1
    )
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await tabs.is_open(7, "visitor:1") is False
        await tabs.opened(7, "visitor:1")  # swallowed: the next refresh writes it
        assert loop.time() - started < 10 * REDIS_TIMEOUT_S
    finally:
        for writer in held:
            writer.close()
        server.close()
        await tabs.close()
