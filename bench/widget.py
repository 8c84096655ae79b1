"""Widget benchmark: website visitors on real WebSockets chatting with operators who answer.

Why: the widget is the hub's front door. A visitor's message goes socket -> group commit ->
bus -> operator socket; the operator's reply goes HTTP -> commit -> delivery queue -> adapter ->
bus -> the visitor's socket. This measures both legs end to end next to a bare relay of the same
shape (``bench.widget_baseline``: aiohttp + grouped SQLite commits + socket pushes).

What: for each level of N visitors (each with a session and an open ``/ws/widget`` socket), a
closed loop per visitor: send a message, wait for the operator's reply on the socket, send the
next (``--think`` adds a pause between). Each visitor's first message, which makes his contact
and conversation, is neither answered nor measured. One operator socket (the admin's) sees every
``message.created`` and answers each visitor message with ``POST
/api/v1/conversations/{id}/messages``. After a warm-up (until every visitor has had one answer,
so creating contacts and conversations is not measured) it counts for ``--duration`` seconds:

* messages/s: visitor messages acknowledged plus operator replies stored (201) in the window;
* visitor->operator latency: visitor's ``send`` -> ``message.created`` on the operator socket;
* operator->visitor latency: operator's POST sent -> the reply's ``message`` frame on the
  visitor's socket (p50, p99 of the messages sent inside the window, both).

Then, on a fresh hub, ``--idle`` visitor sockets are opened and left idle, and the hub process's
resident memory (``VmRSS``) is read before, with them open, and after they closed: once with
permessage-deflate offered (as browsers do), once without, each on a hub of its own.
``bench.widget_memory`` says where that memory goes (tracemalloc, by allocating traceback).

All load comes from 127.0.0.1, so the hub's per-address widget limits (120 requests burst,
4/s; 30 new chats burst, 0.5/s) and per-visitor limit (10 burst, 0.5/s) would stop it at once:
the hubs under test get them raised with the ``HUB_WIDGET_*`` settings (see ``LIMITS``).

``--profile`` records the hub with py-spy in each measured window (``bench.profile``).

Run: ``python -m bench.widget``; ``--help`` lists the knobs. Prints Markdown tables and writes
them, with details, to ``bench/results/widget.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import websockets

from bench import profile
from bench.load import Target, open_sockets, percentile
from bench.servers import Server, postgres_hub, sqlite_hub, widget_baseline
from bench.write_path import RESULTS, _announce, raise_fd_limit, save

#: The widget's rate limits, raised far out of the way: every visitor here is 127.0.0.1.
LIMITS = {
    f"HUB_WIDGET_{name}": "1000000"
    for name in (
        "IP_BURST",
        "IP_PER_S",
        "SESSION_BURST",
        "SESSION_PER_S",
        "VISITOR_BURST",
        "VISITOR_PER_S",
    )
}
BACKENDS: dict[str, Callable[..., contextlib.AbstractAsyncContextManager[Server]]] = {
    "sqlite": sqlite_hub,
    "postgres": postgres_hub,
}
#: Sessions created at once, and sockets opened at once.
SESSION_CONCURRENCY = 32
CONNECT_CONCURRENCY = 64
#: Idle sockets are opened as a browser does (permessage-deflate), then without compression,
#: each on a fresh hub (a process keeps what it once allocated).
MEMORY_MODES: dict[str, str | None] = {"permessage-deflate": "deflate", "none": None}
#: A visitor who has no answer after this long sends his next message (and the round is lost).
ROUND_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class WidgetTarget:
    """A server's widget: its address, a website token, and the operator who answers."""

    base_url: str
    website_token: str
    #: The operator socket; its headers authorise the replies too.
    operator: Target

    @property
    def ws_base(self) -> str:
        return self.base_url.replace("http://", "ws://", 1)


async def widget_target(server: Server) -> WidgetTarget:
    """Create a widget channel on a hub (the baseline takes any website token)."""
    assert server.target is not None
    token = "bench"
    if "baseline" not in server.name:
        body = {"type": "widget", "name": "bench", "allowed_origins": []}
        async with (
            aiohttp.ClientSession(raise_for_status=True) as http,
            http.post(
                server.base_url + "/api/v1/channels", json=body, headers=server.target.ws_headers
            ) as resp,
        ):
            token = (await resp.json())["website_token"]
    return WidgetTarget(server.base_url, token, server.target)


async def create_sessions(
    http: aiohttp.ClientSession, target: WidgetTarget, count: int, label: str
) -> tuple[list[str], float]:
    """``count`` new visitors; their tokens and how many sessions/s the server made."""
    tokens: list[str] = []
    url = target.base_url + "/api/widget/v1/sessions"

    async def worker(first: int) -> None:
        for k in range(first, count, SESSION_CONCURRENCY):
            page = {"url": f"https://shop.example/p/{k}?utm_source=bench", "title": label}
            body = {"website_token": target.website_token, "page": page}
            async with http.post(url, json=body) as resp:
                if resp.status != 200:
                    raise RuntimeError(
                        f"session {k} refused: HTTP {resp.status} {await resp.text()}"
                        " (were the widget rate limits raised? see LIMITS)"
                    )
                tokens.append((await resp.json())["visitor_token"])

    started = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(min(count, SESSION_CONCURRENCY))))
    return tokens, count / (time.perf_counter() - started)


async def connect_visitors(
    target: WidgetTarget, tokens: list[str], compression: str | None = "deflate"
) -> list[Any]:
    """A ``/ws/widget`` socket per token, each past its ``ready`` frame. ``websockets`` offers
    permessage-deflate by default, as browsers do; ``compression=None`` offers none."""
    sockets: list[Any] = [None] * len(tokens)

    async def worker(first: int) -> None:
        for k in range(first, len(tokens), CONNECT_CONCURRENCY):
            ws = await websockets.connect(
                f"{target.ws_base}/ws/widget?visitor_token={tokens[k]}",
                proxy=None,
                open_timeout=60,
                ping_interval=None,
                compression=compression,
            )
            sockets[k] = ws
            ready = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if ready.get("type") != "ready":
                raise RuntimeError(f"expected a ready frame, got {ready!r}")

    try:
        await asyncio.gather(*(worker(k) for k in range(min(len(tokens), CONNECT_CONCURRENCY))))
    except BaseException:
        await close_all([ws for ws in sockets if ws is not None])
        raise
    return sockets


async def close_all(sockets: list[Any]) -> None:
    for k in range(0, len(sockets), 500):
        await asyncio.gather(*(ws.close() for ws in sockets[k : k + 500]), return_exceptions=True)


@dataclass(slots=True)
class LevelResult:
    visitors: int
    window_s: float
    #: Visitor messages acknowledged and operator replies stored (201) in the window.
    visitor_messages: int
    operator_replies: int
    msg_per_s: float
    #: Visitor send -> ``message.created`` on the operator socket.
    vo_p50_ms: float | None
    vo_p99_ms: float | None
    #: Operator POST sent -> the reply's ``message`` frame on the visitor's socket.
    ov_p50_ms: float | None
    ov_p99_ms: float | None
    #: Visitor send -> ``ack``; operator POST -> 201.
    ack_p50_ms: float | None
    ack_p99_ms: float | None
    reply_http_p50_ms: float | None
    reply_http_p99_ms: float | None
    vo_samples: int
    ov_samples: int
    #: Messages sent in the window whose frame never came (operator side, visitor side).
    vo_missing: int
    ov_missing: int
    #: Rounds a visitor gave up on after ``ROUND_TIMEOUT_S``.
    lost_rounds: int
    errors: int
    error_kinds: dict[str, int]
    socket_closes: list[str]
    sessions_per_s: float
    connect_s: float
    client_cpu: float
    server_cpu: float | None


@dataclass(slots=True)
class _Probe:
    """What was sent when, and what came back; frames match messages by a token in the body."""

    sent: dict[str, float] = field(default_factory=dict)
    rounds: dict[str, asyncio.Future[None]] = field(default_factory=dict)
    hellos: dict[str, asyncio.Future[None]] = field(default_factory=dict)
    replied: dict[str, float] = field(default_factory=dict)
    window: tuple[float, float] = (math.inf, math.inf)
    answered_visitors: set[int] = field(default_factory=set)
    visitor_messages: int = 0
    operator_replies: int = 0
    vo: list[float] = field(default_factory=list)
    ov: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    reply_http: list[float] = field(default_factory=list)
    vo_expected: int = 0
    ov_expected: int = 0
    lost_rounds: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    socket_closes: list[str] = field(default_factory=list)
    closing: bool = False

    def in_window(self, t: float) -> bool:
        return self.window[0] <= t <= self.window[1]

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1

    def on_visitor_frame(self, raw: str | bytes, now: float) -> None:
        frame = json.loads(raw)
        kind = frame.get("type")
        if kind == "ack":
            hello = self.hellos.pop(frame.get("client_id", ""), None)
            if hello is not None and not hello.done():
                hello.set_result(None)
            t0 = self.sent.get(frame.get("client_id", ""))
            if t0 is not None and self.in_window(now):
                self.visitor_messages += 1
            if t0 is not None and self.in_window(t0):
                self.acks.append(now - t0)
        elif kind == "message" and frame["message"]["sender"]["type"] == "operator":
            token = frame["message"]["body"].rpartition(" ")[2]
            t0 = self.replied.get(token)
            if t0 is not None and self.in_window(t0):
                self.ov.append(now - t0)
            done = self.rounds.get(token)
            if done is not None and not done.done():
                done.set_result(None)
        elif kind == "error":
            self.error(f"error frame {frame.get('code')}")

    def expect_reply(self, token: str, t0: float) -> None:
        self.replied[token] = t0
        if self.in_window(t0):
            self.ov_expected += 1

    def reply_stored(self, t0: float, t1: float, status: int) -> None:
        if status != 201:
            self.error(f"reply HTTP {status}")
            return
        if self.in_window(t1):
            self.operator_replies += 1
        if self.in_window(t0):
            self.reply_http.append(t1 - t0)


async def _read_visitor(ws: Any, probe: _Probe) -> None:
    try:
        async for raw in ws:
            probe.on_visitor_frame(raw, time.perf_counter())
    except websockets.ConnectionClosed:
        pass
    if not probe.closing:
        probe.socket_closes.append(f"visitor {ws.close_code} {ws.close_reason or ''}".strip())


async def _visitor(
    ws: Any, probe: _Probe, stop: asyncio.Event, label: str, k: int, think_s: float
) -> None:
    loop = asyncio.get_running_loop()
    # First a message nobody answers: it makes the contact and conversation and links this
    # socket to them (done when its ack comes). A reply racing that link is lost by the hub.
    hello: asyncio.Future[None] = loop.create_future()
    probe.hellos[f"{label}.{k}.hello"] = hello
    try:
        frame = {"type": "message", "client_id": f"{label}.{k}.hello", "body": "bench hello"}
        await ws.send(json.dumps(frame))
        await asyncio.wait_for(hello, ROUND_TIMEOUT_S)
    except (websockets.ConnectionClosed, TimeoutError) as exc:
        probe.error(f"hello {type(exc).__name__}")
        return
    seq = 0
    while not stop.is_set():
        token = f"{label}.{k}.{seq}"
        seq += 1
        done: asyncio.Future[None] = loop.create_future()
        probe.rounds[token] = done
        text = json.dumps({"type": "message", "client_id": token, "body": f"bench v {token}"})
        t0 = time.perf_counter()
        probe.sent[token] = t0
        if probe.in_window(t0):
            probe.vo_expected += 1
        try:
            await ws.send(text)
            await asyncio.wait_for(done, ROUND_TIMEOUT_S)
        except websockets.ConnectionClosed:
            return
        except TimeoutError:
            probe.lost_rounds += 1
            continue
        finally:
            probe.rounds.pop(token, None)
        probe.answered_visitors.add(k)
        if think_s:
            await asyncio.sleep(think_s)


async def _reply(
    http: aiohttp.ClientSession, target: WidgetTarget, probe: _Probe, conv: int, token: str
) -> None:
    url = f"{target.base_url}/api/v1/conversations/{conv}/messages"
    t0 = time.perf_counter()
    probe.expect_reply(token, t0)
    try:
        async with http.post(
            url, json={"body": f"bench r {token}"}, headers=target.operator.ws_headers
        ) as resp:
            await resp.read()
            probe.reply_stored(t0, time.perf_counter(), resp.status)
    except (aiohttp.ClientError, TimeoutError) as exc:
        probe.error(f"reply {type(exc).__name__}")


async def _operator(
    ws: Any,
    http: aiohttp.ClientSession,
    target: WidgetTarget,
    probe: _Probe,
    tasks: set[asyncio.Task[None]],
) -> None:
    """The operator: every visitor message seen on his socket is answered at once."""
    answered: set[str] = set()
    try:
        async for raw in ws:
            if '"message.created"' not in raw or '"bench v ' not in raw:
                continue
            now = time.perf_counter()
            data = json.loads(raw)["data"]
            token = data["message"]["body"].rpartition(" ")[2]
            if token in answered:
                continue
            answered.add(token)
            t0 = probe.sent.get(token)
            if t0 is not None and probe.in_window(t0):
                probe.vo.append(now - t0)
            task = asyncio.create_task(_reply(http, target, probe, data["conversation_id"], token))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    except websockets.ConnectionClosed:
        pass
    if not probe.closing:
        probe.socket_closes.append(f"operator {ws.close_code} {ws.close_reason or ''}".strip())


async def _warm_up(probe: _Probe, visitors: int, warmup_s: float, limit_s: float) -> None:
    started = time.perf_counter()
    await asyncio.sleep(warmup_s)
    while len(probe.answered_visitors) < visitors:
        if time.perf_counter() - started > limit_s:
            raise RuntimeError(
                f"warm-up: only {len(probe.answered_visitors)} of {visitors} visitors had an"
                f" answer in {limit_s:.0f} s; errors {probe.error_kinds}"
            )
        await asyncio.sleep(0.05)


async def run_level(
    server: Server, target: WidgetTarget, visitors: int, args: argparse.Namespace, label: str
) -> LevelResult:
    probe = _Probe()
    stop = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=visitors + 16, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=120)
    replies: set[asyncio.Task[None]] = set()
    spy: subprocess.Popen[bytes] | None = None
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        tokens, sessions_per_s = await create_sessions(http, target, visitors, label)
        (op_ws,) = await open_sockets(target.operator, 1)
        started = time.perf_counter()
        sockets = await connect_visitors(target, tokens)
        connect_s = time.perf_counter() - started
        readers = [asyncio.create_task(_read_visitor(ws, probe)) for ws in sockets]
        operator = asyncio.create_task(_operator(op_ws, http, target, probe, replies))
        loops = [
            asyncio.create_task(_visitor(ws, probe, stop, label, k, args.think))
            for k, ws in enumerate(sockets)
        ]
        try:
            await _warm_up(probe, visitors, args.warmup, limit_s=args.warmup + 120)
            if args.profile and "baseline" not in server.name:
                out = RESULTS / f"profile-widget-{server.name.replace('+', '-')}-{visitors}.txt"
                spy = profile.start(server.process.pid, args.duration, out)
            cpu0, start = time.process_time(), time.perf_counter()
            server0 = server.cpu_seconds()
            probe.window = (start, math.inf)
            await asyncio.sleep(args.duration)
            end = time.perf_counter()
            probe.window = (start, end)
            client_cpu = (time.process_time() - cpu0) / (end - start)
            server_cpu = (server.cpu_seconds() - server0) / (end - start)
            # Closed loops: each visitor ends with the answer to his last message.
            stop.set()
            await asyncio.wait_for(asyncio.gather(*loops), ROUND_TIMEOUT_S + 10)
            if spy is not None:
                await asyncio.to_thread(spy.wait, 60)
                print(f"\nprofile of {server.name} at {visitors} visitors ({out}):")
                print(profile.summarise(out))
        finally:
            stop.set()
            probe.closing = True
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await asyncio.gather(*replies, return_exceptions=True)
            await close_all([*sockets, op_ws])
            await asyncio.gather(*readers, operator, return_exceptions=True)
    window_s = end - start
    stored = probe.visitor_messages + probe.operator_replies
    return LevelResult(
        visitors=visitors,
        window_s=round(window_s, 3),
        visitor_messages=probe.visitor_messages,
        operator_replies=probe.operator_replies,
        msg_per_s=round(stored / window_s, 1),
        vo_p50_ms=percentile(probe.vo, 50),
        vo_p99_ms=percentile(probe.vo, 99),
        ov_p50_ms=percentile(probe.ov, 50),
        ov_p99_ms=percentile(probe.ov, 99),
        ack_p50_ms=percentile(probe.acks, 50),
        ack_p99_ms=percentile(probe.acks, 99),
        reply_http_p50_ms=percentile(probe.reply_http, 50),
        reply_http_p99_ms=percentile(probe.reply_http, 99),
        vo_samples=len(probe.vo),
        ov_samples=len(probe.ov),
        vo_missing=probe.vo_expected - len(probe.vo),
        ov_missing=probe.ov_expected - len(probe.ov),
        lost_rounds=probe.lost_rounds,
        errors=probe.errors,
        error_kinds=probe.error_kinds,
        socket_closes=probe.socket_closes,
        sessions_per_s=round(sessions_per_s, 1),
        connect_s=round(connect_s, 2),
        client_cpu=round(client_cpu, 2),
        server_cpu=round(server_cpu, 2),
    )


async def measure(server: Server, levels: list[int], args: argparse.Namespace) -> list[LevelResult]:
    target = await widget_target(server)
    results = []
    for n in levels:
        label = f"{server.name}-{n}-{time.monotonic_ns()}"
        result = await run_level(server, target, n, args, label)
        print(
            f"  {server.name:>15} {n:>5} visitors: {result.msg_per_s:>7.1f} msg/s, "
            f"visitor->operator p50 {result.vo_p50_ms} p99 {result.vo_p99_ms} ms, "
            f"operator->visitor p50 {result.ov_p50_ms} p99 {result.ov_p99_ms} ms, "
            f"server cpu {result.server_cpu}, client cpu {result.client_cpu}",
            flush=True,
        )
        results.append(result)
    return results


def _rss_kib(pid: int | None = None) -> int:
    status = Path(f"/proc/{pid or 'self'}/status").read_text()
    return int(next(ln for ln in status.splitlines() if ln.startswith("VmRSS:")).split()[1])


async def measure_memory(server: Server, count: int, mode: str) -> dict[str, Any]:
    """Hub RSS before, with ``count`` idle visitor sockets open, and after they closed; the
    sockets offer permessage-deflate (as browsers do) or no compression, as ``mode`` says."""
    compression = MEMORY_MODES[mode]
    target = await widget_target(server)
    connector = aiohttp.TCPConnector(limit=SESSION_CONCURRENCY, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        tokens, sessions_per_s = await create_sessions(http, target, count, "idle")
    # Warm the socket path (imports, caches, first allocations) so "before" is a fair floor.
    await close_all(await connect_visitors(target, tokens[:100], compression))
    await asyncio.sleep(2)
    before, client_before = server.rss_kib(), _rss_kib()
    started = time.perf_counter()
    sockets = await connect_visitors(target, tokens, compression)
    connect_s = time.perf_counter() - started
    await asyncio.sleep(2)
    samples = []
    for _ in range(4):
        samples.append(server.rss_kib())
        await asyncio.sleep(1)
    with_sockets, client_with = max(samples), _rss_kib()
    open_now = sum(1 for ws in sockets if ws.close_code is None)
    await close_all(sockets)
    await asyncio.sleep(2)
    result = {
        "backend": server.name,
        "compression": mode,
        "idle_sockets": count,
        "open_at_measure": open_now,
        "sessions_per_s": round(sessions_per_s, 1),
        "connect_s": round(connect_s, 1),
        "rss_before_kib": before,
        "rss_with_kib": with_sockets,
        "rss_after_close_kib": server.rss_kib(),
        "per_socket_kib": round((with_sockets - before) / count, 1),
        "client_per_socket_kib": round((client_with - client_before) / count, 1),
    }
    print(
        f"  {server.name:>15} {open_now} idle sockets ({mode}): hub RSS"
        f" {before / 1024:.0f} -> {with_sockets / 1024:.0f} MiB,"
        f" {result['per_socket_kib']} KiB per socket",
        flush=True,
    )
    return result


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _pair(res: dict[str, Any], key: str) -> str:
    return f"{_ms(res[key + '_p50_ms'])} / {_ms(res[key + '_p99_ms'])}"


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| backend | visitors | hub msg/s | hub v→o p50 / p99 ms | hub o→v p50 / p99 ms"
        " | baseline msg/s | baseline v→o p50 / p99 ms | baseline o→v p50 / p99 ms"
        " | ratio hub/baseline |"
    )
    lines = [head, "|" + "---|" * 9]
    for row in rows:
        hub, base = row["hub"], row["baseline"]
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
        lines.append(
            f"| {row['backend']} | {row['visitors']} | {hub['msg_per_s']:.0f}"
            f" | {_pair(hub, 'vo')} | {_pair(hub, 'ov')} | {base['msg_per_s']:.0f}"
            f" | {_pair(base, 'vo')} | {_pair(base, 'ov')} | {ratio} |"
        )
    return "\n".join(lines)


def details(rows: list[dict[str, Any]]) -> str:
    head = (
        "| run | visitors | ack p50 / p99 ms | reply HTTP p50 / p99 ms | frames missing v→o, o→v"
        " | lost rounds | errors | server CPU | client CPU | sessions/s | connect s |"
    )
    lines = [head, "|" + "---|" * 11]
    seen: set[tuple[str, int]] = set()
    for row in rows:
        for name, res in ((row["backend"], row["hub"]), ("baseline", row["baseline"])):
            if (name, res["visitors"]) in seen:
                continue
            seen.add((name, res["visitors"]))
            closes = [f"(socket closed: {c})" for c in res["socket_closes"][:3]]
            kinds = ", ".join(f"{k}: {v}" for k, v in res["error_kinds"].items())
            cells = [
                name,
                res["visitors"],
                _pair(res, "ack"),
                _pair(res, "reply_http"),
                " ".join([f"{res['vo_missing']}, {res['ov_missing']}", *closes]),
                res["lost_rounds"],
                f"{res['errors']} ({kinds})" if kinds else res["errors"],
                res["server_cpu"],
                res["client_cpu"],
                res["sessions_per_s"],
                res["connect_s"],
            ]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def memory_table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| backend | WebSocket compression | idle visitor sockets | hub RSS before MiB"
        " | hub RSS with sockets MiB | per socket KiB | hub RSS after close MiB | sessions/s"
        " | connect s |"
    )
    lines = [head, "|" + "---|" * 9]
    for m in rows:
        lines.append(
            f"| {m['backend']} | {m['compression']} | {m['open_at_measure']} of {m['idle_sockets']}"
            f" | {m['rss_before_kib'] / 1024:.1f} | {m['rss_with_kib'] / 1024:.1f}"
            f" | {m['per_socket_kib']:.1f} | {m['rss_after_close_kib'] / 1024:.1f}"
            f" | {m['sessions_per_s']:.0f} | {m['connect_s']:.1f} |"
        )
    return "\n".join(lines)


def workload(args: argparse.Namespace) -> str:
    pause = f", then waits {args.think:g} s" if args.think else ""
    return (
        "Workload: closed loop per visitor: one message, the operator's reply on his socket"
        f"{pause}, the next message (his first, which makes his contact and conversation, is not"
        " answered or measured); one operator socket, each visitor message answered at once"
        " by a POST. Pacing: none beyond that loop; the hubs ran with the widget rate limits"
        " raised (" + " ".join(f"{k}={v}" for k, v in LIMITS.items()) + "), since every visitor"
        " is 127.0.0.1."
    )


def _checkout() -> str:
    """The commit of this checkout, and whether ``hub/`` differs from it."""
    git = ["git", "-C", str(RESULTS.parent.parent)]
    try:
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True)
        dirty = subprocess.run([*git, "status", "--porcelain", "hub"], capture_output=True)
    except OSError:
        return "unknown"
    return head.stdout.decode().strip() + (" with changes in hub/" if dirty.stdout else "")


async def _each_backend(
    names: list[str], args: argparse.Namespace, job: Callable[[Server], Awaitable[Any]]
) -> AsyncIterator[tuple[str, Any]]:
    for name in names:
        async with _announce(name), BACKENDS[name](args.hub_src, extra_env=LIMITS) as server:
            yield server.name, await job(server)


def _backends(text: str) -> list[str]:
    names = [b.strip() for b in text.split(",") if b.strip()]
    unknown = set(names) - set(BACKENDS)
    if unknown:
        raise SystemExit(f"unknown backends: {sorted(unknown)}; known: {sorted(BACKENDS)}")
    return names


async def main_async(args: argparse.Namespace) -> int:
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    backends, memory_backends = _backends(args.backends), _backends(args.memory_backends)
    # Children inherit the limit: the hub holds the idle sockets, this process their other ends.
    raise_fd_limit(max([args.idle, *(2 * n for n in levels)]) + 1024)
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and args.idle + 256 > soft:
        args.idle = max(0, soft - 256)
        print(f"warning: only {args.idle} idle sockets fit in {soft} file descriptors")
    load_before = os.getloadavg()
    hub_src = str(args.hub_src or f"checkout {_checkout()}")
    RESULTS.mkdir(exist_ok=True)
    print(workload(args), flush=True)
    baseline: list[LevelResult] = []
    if levels:
        async with _announce("baseline"), widget_baseline() as server:
            baseline = await measure(server, levels, args)
    rows: list[dict[str, Any]] = []
    if levels:
        async for name, hub in _each_backend(backends, args, lambda s: measure(s, levels, args)):
            for h, b in zip(hub, baseline, strict=True):
                ratio = round(h.msg_per_s / b.msg_per_s, 3) if b.msg_per_s else None
                rows.append(
                    {
                        "backend": name,
                        "visitors": h.visitors,
                        "hub": asdict(h),
                        "baseline": asdict(b),
                        "ratio": ratio,
                    }
                )
    memory: list[dict[str, Any]] = []
    if args.idle:
        for mode in MEMORY_MODES:
            job = functools.partial(measure_memory, count=args.idle, mode=mode)
            jobs = _each_backend(memory_backends, args, job)
            memory += [result async for _name, result in jobs]
    print("\n" + workload(args) + "\n")
    if rows:
        print(table(rows) + "\n\n" + details(rows) + "\n")
    if memory:
        print(memory_table(memory) + "\n")
    report = {
        "benchmark": "widget",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_1m": {"start": load_before[0], "end": os.getloadavg()[0]},
        },
        "settings": {
            "levels": levels,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "think_s": args.think,
            "idle_sockets": args.idle,
            "hub_env": LIMITS,
            "hub_src": hub_src,
            "workload": workload(args),
        },
        "rows": rows,
        "memory": memory,
        "markdown": "\n\n".join(
            t for t in (table(rows) if rows else "", memory_table(memory) if memory else "") if t
        ),
    }
    save(report, Path(args.output))
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.widget", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--levels", default="100,1000", help="visitors, comma-separated (default 100,1000)"
    )
    parser.add_argument(
        "--duration", type=float, default=8.0, help="measured seconds per level (default 8)"
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="least warm-up seconds per level (default 2)"
    )
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="seconds a visitor waits after an answer before his next message (default 0)",
    )
    parser.add_argument(
        "--backends",
        default="sqlite,postgres",
        help="hub backends: sqlite (embedded), postgres (with Redis)",
    )
    parser.add_argument(
        "--idle",
        type=int,
        default=10_000,
        help="idle visitor sockets for the memory figure, 0 to skip (default 10000)",
    )
    parser.add_argument(
        "--memory-backends",
        default="sqlite",
        help="backends whose memory with --idle sockets is measured (default sqlite)",
    )
    parser.add_argument(
        "--hub-src",
        type=Path,
        help="a folder holding the hub package to run instead of this checkout's",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="record the hub with py-spy in each measured window (bench.profile)",
    )
    parser.add_argument("--output", default=str(RESULTS / "widget.json"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
