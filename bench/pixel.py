"""Pixel benchmark: how fast the hub answers tracking-pixel requests, each stored and evented.

Why: a mailing's opens come in bursts (Apple's prefetch loads every image when the mail lands),
and every hit must be stored with its verdict and a person's announced (``message.opened``).
This fires pixel requests at the hub from ``--clients`` concurrent clients (closed loops: each
sends its next request when the last is answered) and, in the same run (just before each hub),
at a bare aiohttp route answering the same 42-byte GIF (this module run with ``--serve-bare``:
no database, no validation, nothing stored), so the ratio prices what the hub does on top.

Each hub gets an API channel, a customer conversation and an operator reply, which is made a
tracked email by one row in ``email_tracking`` (its token), sent an hour before; its pixel is
then requested with a desktop Chrome user agent, so every hit is judged human, stored and
published as ``message.opened``; one operator socket (the admin's) receives them. After a
warm-up it counts for ``--duration`` seconds: answered requests per second, latency p50 and p99
(client side); then it checks that the stored hits equal the answers and counts the events the
socket saw. The per-address rate limit is raised out of the way (all load is 127.0.0.1).

Run: ``python -m bench.pixel``; ``--help`` lists the knobs; ``--profile`` records each hub
with py-spy (``bench.profile``). Prints a Markdown table and writes
it, with details, to ``bench/results/pixel.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench import profile
from bench.load import percentile
from bench.servers import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Server,
    _env,
    _serving,
    free_port,
    postgres_hub,
    sqlite_hub,
)
from bench.write_path import RESULTS, _announce, raise_fd_limit, save

GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c000000000100010000020144003b"
)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
TOKEN = "benchPixelToken_0123456789abcdef"  # 32 characters of base64url, as the hub makes
LIMITS = {"HUB_EMAIL_TRACKING_IP_BURST": "1000000000", "HUB_EMAIL_TRACKING_IP_PER_S": "1000000000"}
BACKENDS: dict[str, Callable[..., contextlib.AbstractAsyncContextManager[Server]]] = {
    "sqlite": sqlite_hub,
    "postgres": postgres_hub,
}
TARGET_RATIO = 0.30
TARGET_P99_MS = 50.0


@dataclass(slots=True)
class Result:
    clients: int
    window_s: float
    answered: int
    req_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int
    #: Hits stored (the hub's ``email_tracking_events``) and ``message.opened`` frames seen,
    #: over the whole run (warm-up included), against the requests answered in it.
    answered_total: int = 0
    stored: int | None = None
    events_seen: int | None = None


# ---------- the bare route ----------


async def _bare_pixel(request: web.Request) -> web.Response:
    return web.Response(
        body=GIF, content_type="image/gif", headers={"Cache-Control": "no-store, no-cache"}
    )


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def serve_bare(port: int) -> None:
    app = web.Application()
    app.router.add_get("/t/o/{code}", _bare_pixel)
    app.router.add_get("/healthz", _healthz)
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


@contextlib.asynccontextmanager
async def bare_server() -> AsyncIterator[Server]:
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        port = free_port()
        args = ["-m", "bench.pixel", "--serve-bare", "--port", str(port)]
        async with _serving("bare", args, _env({}), Path(tmp), port) as server:
            yield server


# ---------- a tracked email on the hub ----------


async def _seed(server: Server) -> dict[str, str]:
    """An email the hub tracks under ``TOKEN``; the admin's auth header."""
    base = server.base_url
    async with aiohttp.ClientSession(raise_for_status=True) as http:
        login = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        async with http.post(base + "/api/v1/auth/login", json=login) as resp:
            auth = {"Authorization": f"Bearer {(await resp.json())['token']}"}
        assert server.target is not None
        body = {"contact": {"external_id": "px", "name": "Иван Петров"}, "body": "КП?"}
        async with http.post(
            server.target.inbound_url, json=body, headers=server.target.inbound_headers
        ) as resp:
            conv_id = (await resp.json())["conversation"]["id"]
        async with http.post(
            f"{base}/api/v1/conversations/{conv_id}/messages",
            json={"body": "КП на печь: https://pechipro.ru/kp"},
            headers=auth,
        ) as resp:
            message_id = (await resp.json())["id"]
    # The one thing the API channel cannot do: send it as a tracked email.
    from hub.db import make_engine, utcnow

    engine = make_engine(server.database_url)
    try:
        async with engine.begin() as conn:
            from hub.inbox.tracking_models import EmailTracking

            await conn.execute(
                EmailTracking.__table__.insert().values(
                    message_id=message_id,
                    token=TOKEN,
                    links=["https://pechipro.ru/kp"],
                    sent_at=utcnow() - timedelta(hours=1),
                )
            )
    finally:
        await engine.dispose()
    return auth


async def _stored(server: Server) -> int:
    from sqlalchemy import text

    from hub.db import make_engine

    engine = make_engine(server.database_url)
    try:
        async with engine.connect() as conn:
            return int(
                (
                    await conn.execute(text("SELECT count(*) FROM email_tracking_events"))
                ).scalar_one()
            )
    finally:
        await engine.dispose()


async def _count_events(ws: aiohttp.ClientWebSocketResponse, seen: list[int]) -> None:
    async for msg in ws:
        if msg.type != aiohttp.WSMsgType.TEXT:
            break
        if '"message.opened"' in msg.data:
            seen[0] += 1


# ---------- the load ----------


async def fire(base_url: str, clients: int, warmup_s: float, duration_s: float) -> Result:
    url = f"{base_url}/t/o/{TOKEN}.gif"
    loop = asyncio.get_running_loop()
    start = loop.time()
    window = (start + warmup_s, start + warmup_s + duration_s)
    latencies: list[float] = []
    answered = errors = total = 0

    async def client(http: aiohttp.ClientSession) -> None:
        nonlocal answered, errors, total
        while loop.time() < window[1]:
            t0 = loop.time()
            try:
                async with http.get(url, headers={"User-Agent": CHROME}) as resp:
                    data = await resp.read()
                    ok = resp.status == 200 and data == GIF
            except aiohttp.ClientError:
                ok = False
            t1 = loop.time()
            total += ok
            if not ok:
                errors += 1
            elif window[0] <= t0 and t1 <= window[1]:
                answered += 1
                latencies.append(t1 - t0)

    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return Result(
        clients=clients,
        window_s=duration_s,
        answered=answered,
        req_per_s=round(answered / duration_s, 1),
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        errors=errors,
        answered_total=total,
    )


async def measure_hub(server: Server, args: argparse.Namespace) -> Result:
    auth = await _seed(server)
    seen = [0]
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(
            server.base_url.replace("http", "ws", 1) + "/ws/operator", headers=auth
        )
        listening = asyncio.ensure_future(_count_events(ws, seen))
        out = RESULTS / f"profile-pixel-{server.name.replace('+', '-')}.txt"
        spy = None
        if args.profile:  # started with the warm-up, over the measured window
            spy = profile.start(server.process.pid, args.warmup + args.duration, out)
        result = await fire(server.base_url, args.clients, args.warmup, args.duration)
        if spy is not None:
            spy.wait(timeout=60)
            print(f"\nprofile of {server.name} ({out}):\n{profile.summarise(out)}")
        stored = await _stored(server)
        # The last events may still be on their way to the socket: wait for them, boundedly.
        deadline = time.monotonic() + 10
        while seen[0] < stored and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        await ws.close()
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening
    result.stored, result.events_seen = stored, seen[0]
    return result


# ---------- the report ----------


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| backend | clients | hub req/s | bare req/s | ratio | hub p50 / p99 ms "
        "| bare p50 / p99 ms | stored / answered | events |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        h, b = r["hub"], r["bare"]
        lines.append(
            f"| {r['backend']} | {h['clients']} | {h['req_per_s']} | {b['req_per_s']} "
            f"| {r['ratio']} "
            f"| {h['p50_ms']} / {h['p99_ms']} | {b['p50_ms']} / {b['p99_ms']} "
            f"| {h['stored']} / {h['answered_total']} | {h['events_seen']} |"
        )
    return "\n".join(lines)


def verdict(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        h = r["hub"]
        ok_ratio = r["ratio"] is not None and r["ratio"] >= TARGET_RATIO
        ok_p99 = h["p99_ms"] is not None and h["p99_ms"] <= TARGET_P99_MS
        ok_all = h["stored"] == h["answered_total"] and h["events_seen"] == h["stored"]
        out.append(
            f"{r['backend']}: ratio {r['ratio']} ({'met' if ok_ratio else 'NOT met'}: "
            f">= {TARGET_RATIO}), p99 {h['p99_ms']} ms ({'met' if ok_p99 else 'NOT met'}: "
            f"<= {TARGET_P99_MS:g}), every open stored and evented: {'yes' if ok_all else 'NO'}"
        )
    return out


async def main_async(args: argparse.Namespace) -> int:
    backends = [b.strip() for b in args.backends.split(",")]
    raise_fd_limit(2 * args.clients + 256)
    load_before = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    rows: list[dict[str, Any]] = []
    for backend in backends:
        # The bare route just before each hub: on a shared machine the load moves.
        async with _announce("bare"), bare_server() as server:
            bare = await fire(server.base_url, args.clients, args.warmup, args.duration)
        async with _announce(backend), BACKENDS[backend](None, LIMITS) as server:
            hub = await measure_hub(server, args)
        ratio = round(hub.req_per_s / bare.req_per_s, 3) if bare.req_per_s else None
        rows.append(
            {"backend": server.name, "hub": asdict(hub), "bare": asdict(bare), "ratio": ratio}
        )
    print("\n" + table(rows) + "\n")
    for line in verdict(rows):
        print(line)
    save(
        {
            "benchmark": "pixel",
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "load_average_1m": {"start": load_before[0], "end": os.getloadavg()[0]},
            },
            "settings": {
                "clients": args.clients,
                "duration_s": args.duration,
                "warmup_s": args.warmup,
            },
            "target": {
                "min_ratio": TARGET_RATIO,
                "max_p99_ms": TARGET_P99_MS,
                "verdict": verdict(rows),
            },
            "rows": rows,
            "markdown": table(rows),
        },
        Path(args.output),
    )
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pixel", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--output", default=str(RESULTS / "pixel.json"))
    parser.add_argument(
        "--profile", action="store_true", help="record the hub with py-spy while it is measured"
    )
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_bare:
        serve_bare(args.port)
        return 0
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
