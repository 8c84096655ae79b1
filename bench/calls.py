"""Call-tracking benchmark: how many provider call events/s the hub folds into calls.

Why: a telephony provider reports every call in several webhooks, from many calls at once;
each must be checked, stored before it is answered and folded into its one call. This replays
10,000 Twilio status callbacks (2,500 calls, four events each: queued, ringing, in-progress,
completed), interleaved in a shuffled order, from 100 concurrent senders, against the hub (a
calls channel, signatures checked) and, in the same run, against ``bench.calls_bare`` (a bare
aiohttp route folding the same rows into one table with grouped commits), on SQLite and on
PostgreSQL (+ Redis for the hub). Afterwards it counts what each stored: every call must be
folded exactly once (one row, answered, 147 s).

Run: ``python -m bench.calls`` (``--help`` for the knobs). Prints a Markdown table and writes
it, with details, to ``bench/results/calls.json``. Target: the hub at ≥ 25 % of the bare
route's rate and p99 ≤ 100 ms. ``--profile`` records the hub with py-spy during its replay
(``bench.profile``; a profiled run is a little slower).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import secrets
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import asyncpg

from bench import profile
from bench.calls_bare import signature
from bench.load import percentile
from bench.servers import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    PG_ADMIN_DSN,
    Server,
    _env,
    _serving,
    free_port,
    postgres_hub,
    sqlite_hub,
)

RESULTS = Path(__file__).resolve().parent / "results"
PUBLIC_URL = "http://hub.bench.invalid"
TOKEN = "bench_twilio_auth_token"
STATUSES = ("queued", "ringing", "in-progress", "completed")
TARGET_RATIO = 0.25
TARGET_P99_MS = 100.0


def events(calls: int, seed: int, first: int = 0) -> list[dict[str, str]]:
    """The four events of each of ``calls`` calls (numbered from ``first``), shuffled."""
    out = []
    for i in range(first, first + calls):
        for seq, status in enumerate(STATUSES):
            params = {
                "AccountSid": "AC" + "0" * 32,
                "CallSid": f"CA{i:032x}",
                "CallStatus": status,
                "Direction": "inbound",
                "From": f"+7916{i:07d}",
                "To": "+74951234567",
                "Timestamp": f"Fri, 14 Mar 2025 12:{30 + seq}:05 +0000",
                "SequenceNumber": str(seq),
            }
            if status == "completed":
                params["CallDuration"] = "147"
            out.append(params)
    random.Random(seed).shuffle(out)
    return out


def signed(path: str, params: dict[str, str]) -> tuple[str, bytes, dict[str, str]]:
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature(TOKEN, PUBLIC_URL + path, list(params.items())),
    }
    return path, urlencode(params).encode(), headers


async def replay(
    base_url: str, requests: list[tuple[str, bytes, dict[str, str]]], senders: int
) -> dict[str, Any]:
    latencies: list[float] = []
    failures: dict[int, int] = {}
    queue = iter(requests)
    connector = aiohttp.TCPConnector(limit=senders)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def sender() -> None:
            for path, body, headers in queue:
                started = time.perf_counter()
                async with http.post(base_url + path, data=body, headers=headers) as resp:
                    await resp.read()
                    if resp.status != 200:
                        failures[resp.status] = failures.get(resp.status, 0) + 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(senders)))
        elapsed = time.perf_counter() - started
    return {
        "events": len(requests),
        "seconds": round(elapsed, 3),
        "events_per_s": round(len(requests) / elapsed, 1),
        "p50_ms": percentile(latencies, 50) or 0.0,
        "p99_ms": percentile(latencies, 99) or 0.0,
        "failures": failures,
    }


async def _calls_channel(server: Server) -> tuple[int, str]:
    async with aiohttp.ClientSession(raise_for_status=True) as http:
        login = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        async with http.post(server.base_url + "/api/v1/auth/login", json=login) as resp:
            auth = {"Authorization": f"Bearer {(await resp.json())['token']}"}
        body = {"type": "calls", "name": "bench", "provider": "twilio", "auth_token": TOKEN}
        async with http.post(server.base_url + "/api/v1/channels", json=body, headers=auth) as r:
            channel = await r.json()
    return int(channel["id"]), str(channel["secret"])


FOLDED_SQL = (
    "SELECT count(*), sum(CASE WHEN status = 'answered' AND duration_s = 147 THEN 1 ELSE 0 END),"
    " count(DISTINCT provider_call_id) FROM message_calls WHERE channel_id = {mark}"
)


async def hub_folded(database_url: str, channel_id: int) -> dict[str, int]:
    if database_url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(database_url.split("///", 1)[1])) as db:
            row = db.execute(FOLDED_SQL.format(mark="?"), (channel_id,)).fetchone()
            messages = db.execute(
                "SELECT count(*) FROM messages WHERE channel_id = ?", (channel_id,)
            ).fetchone()[0]
    else:
        conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            row = await conn.fetchrow(FOLDED_SQL.format(mark="$1"), channel_id)
            messages = await conn.fetchval(
                "SELECT count(*) FROM messages WHERE channel_id = $1", channel_id
            )
        finally:
            await conn.close()
    return {"rows": row[0], "answered_147": row[1] or 0, "distinct": row[2], "messages": messages}


async def bare_folded(db: str) -> dict[str, int]:
    sql = "SELECT count(*), sum(CASE WHEN status = 'completed' AND duration = 147 THEN 1 ELSE 0 END), count(DISTINCT call_sid) FROM calls"  # noqa: E501
    if db.startswith("sqlite:"):
        with contextlib.closing(sqlite3.connect(db.removeprefix("sqlite:"))) as conn:
            row = conn.execute(sql).fetchone()
    else:
        pg = await asyncpg.connect(db)
        try:
            row = await pg.fetchrow(sql)
        finally:
            await pg.close()
    return {"rows": row[0], "answered_147": row[1] or 0, "distinct": row[2]}


@contextlib.asynccontextmanager
async def bare(backend: str) -> AsyncIterator[tuple[Server, str]]:
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        database = f"calls_bare_{secrets.token_hex(4)}"
        if backend == "sqlite":
            db = f"sqlite:{Path(tmp) / 'calls.db'}"
        else:
            admin = await asyncpg.connect(PG_ADMIN_DSN)
            await admin.execute(f'CREATE DATABASE "{database}"')
            await admin.close()
            db = PG_ADMIN_DSN.rpartition("/")[0] + "/" + database
        port = free_port()
        args = ["-m", "bench.calls_bare", "--port", str(port), "--db", db, "--token", TOKEN]
        try:
            async with _serving(
                "calls-bare", [*args, "--public-url", PUBLIC_URL], _env({}), Path(tmp), port
            ) as server:
                yield server, db
        finally:
            if backend != "sqlite":
                admin = await asyncpg.connect(PG_ADMIN_DSN)
                await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                await admin.close()


async def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    params = events(args.calls, args.seed)
    # Other calls, not measured, sent first to both servers: their connections, prepared
    # statements and first batches are made before the measured replay, as in service.
    warm = events(args.warmup, args.seed, first=args.calls)
    hubs = {"sqlite": sqlite_hub, "postgres": postgres_hub}
    async with hubs[backend](args.hub_src, {"HUB_PUBLIC_URL": PUBLIC_URL}) as hub:
        channel_id, secret = await _calls_channel(hub)
        path = f"/webhooks/calls/{channel_id}/{secret}"
        requests = [signed(path, p) for p in params]
        if warm:
            await replay(hub.base_url, [signed(path, p) for p in warm], args.senders)
        out = RESULTS / f"profile-calls-{backend}.txt"
        spy = profile.start(hub.process.pid, 3600, out) if args.profile else None
        cpu_before = hub.cpu_seconds()
        hub_result = await replay(hub.base_url, requests, args.senders)
        hub_result["hub_cpu_s"] = round(hub.cpu_seconds() - cpu_before, 2)
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes what it recorded, and stops
            await asyncio.to_thread(spy.wait, 60)
            print(f"\nprofile of the hub on {backend} ({out}):\n{profile.summarise(out, 40)}\n")
        hub_result["folded"] = await hub_folded(hub.database_url, channel_id)
    async with bare(backend) as (server, db):
        if warm:
            await replay(server.base_url, [signed("/calls", p) for p in warm], args.senders)
        bare_result = await replay(
            server.base_url, [signed("/calls", p) for p in params], args.senders
        )
        bare_result["folded"] = await bare_folded(db)
    ratio = round(hub_result["events_per_s"] / bare_result["events_per_s"], 3)
    stored = args.calls + args.warmup
    once = hub_result["folded"] == {
        "rows": stored,
        "answered_147": stored,
        "distinct": stored,
        "messages": stored,
    }
    met = ratio >= TARGET_RATIO and hub_result["p99_ms"] <= TARGET_P99_MS and once
    verdict = (
        f"{backend}: {'MET' if met else 'NOT MET'} (ratio {ratio:.2f}, needs >= {TARGET_RATIO};"
        f" p99 {hub_result['p99_ms']} ms, needs <= {TARGET_P99_MS} ms;"
        f" every call folded once: {'yes' if once else 'NO'})"
    )
    print(verdict, flush=True)
    return {
        "backend": backend,
        "hub": hub_result,
        "bare": bare_result,
        "ratio": ratio,
        "verdict": verdict,
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| backend | hub events/s | hub p50 ms | hub p99 ms | hub CPU s | bare events/s"
        " | bare p99 ms | ratio | calls folded once |",
        "|" + "---|" * 9,
    ]
    for r in rows:
        hub, base = r["hub"], r["bare"]
        folded = hub["folded"]
        once = folded["rows"] == folded["distinct"] == folded["answered_147"] == folded["messages"]
        lines.append(
            f"| {r['backend']} | {hub['events_per_s']:.0f} | {hub['p50_ms']} | {hub['p99_ms']}"
            f" | {hub['hub_cpu_s']} | {base['events_per_s']:.0f} | {base['p99_ms']}"
            f" | {r['ratio']:.2f}"
            f" | {folded['rows']} of {folded['distinct']} ({'yes' if once else 'no'}) |"
        )
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> None:
    rows = [await run_backend(backend, args) for backend in args.backends]
    print(table(rows))
    RESULTS.mkdir(exist_ok=True)
    out = {
        "benchmark": "calls",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1m": os.getloadavg()[0],
        },
        "settings": {
            "calls": args.calls,
            "events": args.calls * 4,
            "warmup_calls": args.warmup,
            "senders": args.senders,
            "hub_settings": os.environ.get("BENCH_HUB_SETTINGS", ""),
            "command": "python -m bench.calls " + " ".join(sys.argv[1:]),
        },
        "target": {"min_ratio": TARGET_RATIO, "max_p99_ms": TARGET_P99_MS},
        "rows": rows,
        "table": table(rows),
    }
    (RESULTS / "calls.json").write_text(json.dumps(out, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2500, help="calls (four events each)")
    parser.add_argument(
        "--warmup", type=int, default=25, help="calls sent first, not measured (0: none)"
    )
    parser.add_argument("--senders", type=int, default=100)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--profile", action="store_true", help="py-spy the hub's replay")
    parser.add_argument(
        "--hub-src",
        type=Path,
        default=None,
        help="a folder with another hub package to run (git archive HEAD hub | tar -x -C DIR)",
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
