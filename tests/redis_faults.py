"""Redis faults for tests: a redis-server of the test's own, killed, shut down and started again,
and a TCP link to it that the test can cut for one client only.

Never the shared Redis (``HUB_TEST_REDIS_URL``): other people's tests use it. Each server here
runs on a free port with its data directory in the test's temporary folder, and saves only
when told (``save``, ``shutdown``), so a restart comes back empty, from the last save, or
from an older one, as the test decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
from pathlib import Path

import pytest
import redis.asyncio as aioredis

REDIS_SERVER = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_redis_server() -> str:
    if REDIS_SERVER is None:
        pytest.fail("redis-server is needed for the Redis fault tests", pytrace=False)
    return REDIS_SERVER


class RedisServer:
    """One redis-server process on a port of its own; ``start`` again after ``kill`` or
    ``shutdown`` (same port, same data directory)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def dump(self) -> Path:
        return self.folder / "dump.rdb"

    async def start(self, within: float = 10.0) -> None:
        """Start and wait until it answers PING (loading ``dump.rdb`` if there is one)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        log = (self.folder / "redis.log").open("ab")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                require_redis_server(),
                "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
                "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no",
                stdout=log, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
        finally:
            log.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            client = aioredis.from_url(self.url, socket_connect_timeout=1)
            try:
                if await client.ping():
                    return
            except (aioredis.ConnectionError, aioredis.BusyLoadingError, OSError):
                if loop.time() > deadline or self.proc.returncode is not None:
                    raise
            finally:
                await client.aclose()
            await asyncio.sleep(0.05)

    async def save(self) -> None:
        client = aioredis.from_url(self.url)
        try:
            await client.save()
        finally:
            await client.aclose()

    async def kill(self) -> None:
        """SIGKILL: what it held since the last save is gone."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def shutdown(self) -> None:
        """SHUTDOWN SAVE: it saves everything, then exits."""
        client = aioredis.from_url(self.url)
        try:
            with contextlib.suppress(aioredis.ConnectionError):
                await client.shutdown(save=True)
        finally:
            await client.aclose()
        if self.proc is not None:
            await self.proc.wait()

    async def stop(self) -> None:
        await self.kill()


class CuttableLink:
    """A TCP proxy to a Redis: ``cut`` drops every connection through it and refuses new ones
    until ``mend``; clients of the Redis itself are not touched."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if server is not None:
            await server.wait_closed()

    async def mend(self) -> None:
        await self.start()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))
