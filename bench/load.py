"""The load generator shared by the hub and the baseline relay: closed-loop conversations.

``run_level`` opens operator WebSockets, then lets N conversations each POST a customer
message, wait for the answer and POST the next (a closed loop, like N customers each waiting
for their last message to go through). After a warm-up (at least ``warmup_s``, and until every
conversation has stored one message, so creating contacts and conversations is not measured)
it counts for ``duration_s``:

The warm-up also waits, where the server says so, for its one-time work on the new
conversations (the hub's lead intake deciding each one), so the window measures the steady
state of N running conversations.

* persisted messages/s: 201 answers received inside the window (201 comes after the commit);
* operator latency: from just before a POST is sent to the matching ``message.created`` frame
  on an operator socket, for the messages sent inside the window (p50, p99);
* the HTTP round trip of the same messages, and frames that never came.

Each message carries a unique token in its body and ``external_message_id``; the socket
listener finds it in the frame, so frames match messages without clocks shared between processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import websockets


@dataclass(frozen=True, slots=True)
class Target:
    """Where to send messages and where operators listen."""

    inbound_url: str
    inbound_headers: dict[str, str]
    ws_url: str
    ws_headers: dict[str, str]


@dataclass(slots=True)
class LevelResult:
    conversations: int
    window_s: float
    stored: int
    msg_per_s: float
    op_p50_ms: float | None
    op_p99_ms: float | None
    http_p50_ms: float | None
    http_p99_ms: float | None
    op_samples: int
    missing_frames: int
    #: Operator sockets the server closed during the run, e.g. ``"4008 too slow; ..."``.
    socket_closes: list[str]
    #: Failed POSTs over the whole level (warm-up included).
    errors: int
    #: What the errors were: ``"HTTP 500"``, an exception's name, and how often.
    error_kinds: dict[str, int]
    client_cpu: float
    server_cpu: float | None
    #: Writes per group commit on the hub (None for the baseline).
    writes_per_commit: float | None = None


@dataclass(slots=True)
class _Probe:
    sockets: int
    sent: dict[str, float] = field(default_factory=dict)
    window: tuple[float, float] = (math.inf, math.inf)
    stored: int = 0
    expected_frames: int = 0
    received_frames: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    op_latencies: list[float] = field(default_factory=list)
    http_latencies: list[float] = field(default_factory=list)
    first_stored: set[int] = field(default_factory=set)
    closing: bool = False
    socket_closes: list[str] = field(default_factory=list)
    drained: asyncio.Event = field(default_factory=asyncio.Event)

    def check_drained(self) -> None:
        if self.closing and self.received_frames >= self.expected_frames:
            self.drained.set()

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1

    def in_window(self, t: float) -> bool:
        return self.window[0] <= t <= self.window[1]

    def answered(self, conv: int, token: str, t0: float, t1: float, status: int) -> None:
        if status != 201:
            self.error(f"HTTP {status}")
            self.sent.pop(token, None)
            return
        self.first_stored.add(conv)
        if self.in_window(t1):
            self.stored += 1
        if self.in_window(t0):
            self.expected_frames += self.sockets
            self.http_latencies.append(t1 - t0)

    def frame(self, raw: str | bytes) -> None:
        if isinstance(raw, bytes):
            raw = raw.decode()
        if '"message.created"' not in raw:
            return
        now = time.perf_counter()
        body = json.loads(raw)["data"]["message"]["body"]
        t0 = self.sent.get(body.rpartition(" ")[2])
        if t0 is not None and self.in_window(t0):
            self.received_frames += 1
            self.op_latencies.append(now - t0)
            self.check_drained()


def percentile(samples: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank) in milliseconds."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(0, math.ceil(q / 100 * len(ordered)) - 1)
    return round(ordered[rank] * 1000, 2)


async def _listen(ws: websockets.ClientConnection, probe: _Probe) -> None:
    try:
        async for raw in ws:
            probe.frame(raw)
    except websockets.ConnectionClosed:
        pass
    if not probe.closing:
        probe.socket_closes.append(f"{ws.close_code} {ws.close_reason or ''}".strip())


async def _conversation(
    http: aiohttp.ClientSession,
    target: Target,
    probe: _Probe,
    stop: asyncio.Event,
    label: str,
    conv: int,
) -> None:
    headers = {**target.inbound_headers, "Content-Type": "application/json"}
    seq = 0
    while not stop.is_set():
        token = f"{label}.{conv}.{seq}"
        seq += 1
        payload = {
            "contact": {"external_id": f"{label}-c{conv}", "name": f"Customer {conv}"},
            "body": f"bench message {token}",
            "external_message_id": token,
        }
        data = json.dumps(payload).encode()
        t0 = time.perf_counter()
        probe.sent[token] = t0
        try:
            async with http.post(target.inbound_url, data=data, headers=headers) as resp:
                await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            probe.error(type(exc).__name__)
            await asyncio.sleep(0.05)
            continue
        probe.answered(conv, token, t0, time.perf_counter(), status)


async def open_sockets(target: Target, count: int) -> list[websockets.ClientConnection]:
    """Open ``count`` operator sockets on ``target``, each past its ``ready`` frame."""
    sockets = []
    for _ in range(count):
        ws = await websockets.connect(
            target.ws_url, additional_headers=target.ws_headers, proxy=None, open_timeout=10
        )
        ready = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if ready.get("type") != "ready":
            raise RuntimeError(f"expected a ready frame, got {ready!r}")
        sockets.append(ws)
    return sockets


async def _warm_up(
    probe: _Probe,
    conversations: int,
    warmup_s: float,
    limit_s: float,
    settled: Callable[[], Awaitable[bool]] | None,
) -> None:
    started = time.perf_counter()
    await asyncio.sleep(warmup_s)
    while len(probe.first_stored) < conversations or (settled is not None and not await settled()):
        if time.perf_counter() - started > limit_s:
            raise RuntimeError(
                f"warm-up: {len(probe.first_stored)} of {conversations} conversations"
                f" stored a message in {limit_s:.0f} s and the server has not settled"
            )
        await asyncio.sleep(0.05)


async def run_level(
    target: Target,
    conversations: int,
    *,
    duration_s: float,
    warmup_s: float,
    label: str,
    sockets: int = 1,
    drain_s: float = 3.0,
    server_cpu: Callable[[], float] | None = None,
    on_window: Callable[[], None] | None = None,
    settled: Callable[[], Awaitable[bool]] | None = None,
) -> LevelResult:
    """Drive ``conversations`` closed loops against ``target`` and measure one window.

    ``server_cpu`` tells the server's CPU seconds so far (to report its load);
    ``on_window`` is called when the measured window opens (a profiler may start then);
    the warm-up also lasts until ``settled`` answers true (the server's one-time work for
    the new conversations is done).
    """
    probe = _Probe(sockets)
    stop = asyncio.Event()
    ws_list = await open_sockets(target, sockets)
    listeners = [asyncio.create_task(_listen(ws, probe)) for ws in ws_list]
    connector = aiohttp.TCPConnector(limit=conversations + 16, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=60)
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            workers = [
                asyncio.create_task(_conversation(http, target, probe, stop, label, k))
                for k in range(conversations)
            ]
            try:
                await _warm_up(probe, conversations, warmup_s, warmup_s + 60, settled)
                # The generator's own collector pauses (gen-2 passes of 15 ms were measured
                # here) would count as the server's latency for every message in flight; it
                # collects before and after the window, not during it.
                gc.collect()
                gc.disable()
                cpu0, start = time.process_time(), time.perf_counter()
                server0 = server_cpu() if server_cpu else 0.0
                probe.window = (start, math.inf)
                if on_window is not None:
                    on_window()
                await asyncio.sleep(duration_s)
                end = time.perf_counter()
                probe.window = (start, end)
                client_cpu = (time.process_time() - cpu0) / (end - start)
                server_load = (server_cpu() - server0) / (end - start) if server_cpu else None
                stop.set()
                await asyncio.wait_for(asyncio.gather(*workers), 60)
            finally:
                gc.enable()
                stop.set()
                for task in workers:
                    task.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
        probe.closing = True
        probe.check_drained()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(probe.drained.wait(), drain_s)
    finally:
        for ws in ws_list:
            await ws.close()
        await asyncio.gather(*listeners, return_exceptions=True)
    window_s = end - start
    return LevelResult(
        conversations=conversations,
        window_s=round(window_s, 3),
        stored=probe.stored,
        msg_per_s=round(probe.stored / window_s, 1),
        op_p50_ms=percentile(probe.op_latencies, 50),
        op_p99_ms=percentile(probe.op_latencies, 99),
        http_p50_ms=percentile(probe.http_latencies, 50),
        http_p99_ms=percentile(probe.http_latencies, 99),
        op_samples=len(probe.op_latencies),
        missing_frames=probe.expected_frames - probe.received_frames,
        socket_closes=probe.socket_closes,
        errors=probe.errors,
        error_kinds=probe.error_kinds,
        client_cpu=round(client_cpu, 2),
        server_cpu=None if server_load is None else round(server_load, 2),
    )
