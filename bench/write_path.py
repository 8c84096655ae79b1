"""Write-path benchmark: how many customer messages/s the hub stores and shows to operators.

Why: every inbound message is committed before it is acknowledged (group commits share one
transaction) and then announced on the bus to operator sockets. This measures that path end to
end, on both backends, next to a bare relay of the same shape (``bench.baseline_relay``: aiohttp
+ SQLite with grouped commits + WebSocket push), so the price of the hub's own work is visible.

What: for each level of N concurrent conversations (closed loop: each sends its next message when
its previous POST answered), persisted messages/s (201 answers in the measured window) and the
operator-side latency, POST sent -> ``message.created`` frame on an operator socket (p50, p99).
Servers run as subprocesses (each gets its own core; the load generator has the other).

Run: ``python -m bench.write_path`` (or ``make bench``); ``--help`` lists the knobs. Prints a
Markdown table and writes it, with details, to ``bench/results/write_path.json``. To measure a
commit rather than the work tree: ``git archive HEAD hub | tar -x -C DIR`` and ``--hub-src DIR``.
``--profile`` adds a py-spy profile of the hub per level (``bench.profile``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import profile
from bench.load import LevelResult, run_level
from bench.servers import Server, baseline_relay, postgres_hub, sqlite_hub

RESULTS = Path(__file__).resolve().parent / "results"
BACKENDS: dict[str, Callable[[Path | None], contextlib.AbstractAsyncContextManager[Server]]] = {
    "sqlite": sqlite_hub,
    "postgres": postgres_hub,
}
TARGET_LEVEL = 100
TARGET_RATIO = 0.25
TARGET_P99_MS = 50.0


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard == resource.RLIM_INFINITY else max(soft, min(hard, needed))
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if wanted < needed:
        print(f"warning: only {wanted} file descriptors allowed, {needed} wanted", file=sys.stderr)


async def measure(server: Server, levels: list[int], args: argparse.Namespace) -> list[LevelResult]:
    """Run every level against one server, each with conversations of its own."""
    assert server.target is not None
    results = []
    for n in levels:
        spy: list[subprocess.Popen[bytes]] = []
        out = RESULTS / f"profile-{server.name.replace('+', '-')}-{n}.txt"

        def start_profile(out: Path = out, spy: list[subprocess.Popen[bytes]] = spy) -> None:
            spy.append(profile.start(server.process.pid, args.duration, out))

        counters = await server.commit_counters()
        decided = await server.intake_decided()

        async def settled(n: int = n, decided: int | None = decided) -> bool:
            now = await server.intake_decided()
            return decided is None or now is None or now >= decided + n

        result = await run_level(
            server.target,
            n,
            duration_s=args.duration,
            warmup_s=args.warmup,
            label=f"{server.name}-{n}-{time.monotonic_ns()}",
            sockets=args.sockets,
            server_cpu=server.cpu_seconds,
            on_window=start_profile if args.profile and server.name != "baseline" else None,
            settled=settled,
        )
        after = await server.commit_counters()
        if counters and after and after[0] > counters[0]:
            result.writes_per_commit = round((after[1] - counters[1]) / (after[0] - counters[0]), 1)
        for proc in spy:
            await asyncio.to_thread(proc.wait, 60)
            print(f"\nprofile of {server.name} at {n} conversations ({out}):")
            print(profile.summarise(out))
        print(
            f"  {server.name:>15} {n:>5} conv: {result.msg_per_s:>8.1f} msg/s, "
            f"p50 {result.op_p50_ms} ms, p99 {result.op_p99_ms} ms, "
            f"server cpu {result.server_cpu}, client cpu {result.client_cpu}",
            flush=True,
        )
        results.append(result)
    return results


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| backend | conversations | hub msg/s | hub p50 ms | hub p99 ms | baseline msg/s"
        " | baseline p50 | baseline p99 | ratio hub/baseline |"
    )
    lines = [head, "|" + "---|" * 9]
    for row in rows:
        hub, base = row["hub"], row["baseline"]
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
        lines.append(
            f"| {row['backend']} | {row['conversations']} | {hub['msg_per_s']:.0f}"
            f" | {_ms(hub['op_p50_ms'])} | {_ms(hub['op_p99_ms'])}"
            f" | {base['msg_per_s']:.0f} | {_ms(base['op_p50_ms'])} | {_ms(base['op_p99_ms'])}"
            f" | {ratio} |"
        )
    return "\n".join(lines)


def details(rows: list[dict[str, Any]]) -> str:
    head = (
        "| run | conversations | HTTP p50 ms | HTTP p99 ms | frames missing | errors"
        " | server CPU | client CPU | writes/commit |"
    )
    lines = [head, "|" + "---|" * 9]
    seen: set[tuple[str, int]] = set()
    for row in rows:
        for name, res in ((row["backend"], row["hub"]), ("baseline", row["baseline"])):
            if (name, res["conversations"]) in seen:
                continue
            seen.add((name, res["conversations"]))
            closes = [f"(socket closed: {c})" for c in res["socket_closes"]]
            cells = [
                name,
                res["conversations"],
                _ms(res["http_p50_ms"]),
                _ms(res["http_p99_ms"]),
                " ".join([str(res["missing_frames"]), *closes]),
                res["errors"],
                res["server_cpu"],
                res["client_cpu"],
                res["writes_per_commit"] or "-",
            ]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def verdict(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for row in rows:
        if row["conversations"] != TARGET_LEVEL or row["ratio"] is None:
            continue
        p99 = row["hub"]["op_p99_ms"]
        met = row["ratio"] >= TARGET_RATIO and p99 is not None and p99 <= TARGET_P99_MS
        out.append(
            f"target at {TARGET_LEVEL} conversations on {row['backend']}: "
            f"{'MET' if met else 'NOT MET'} (ratio {row['ratio']:.2f}, needs >= {TARGET_RATIO}; "
            f"p99 {p99} ms, needs <= {TARGET_P99_MS} ms)"
        )
    return out


@contextlib.asynccontextmanager
async def _announce(name: str) -> AsyncIterator[None]:
    started = time.monotonic()
    print(f"{name}: starting", flush=True)
    yield
    print(f"{name}: done in {time.monotonic() - started:.0f} s", flush=True)


async def main_async(args: argparse.Namespace) -> int:
    levels = [int(x) for x in args.levels.split(",")]
    backends = [b.strip() for b in args.backends.split(",")]
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        raise SystemExit(f"unknown backends: {sorted(unknown)}; known: {sorted(BACKENDS)}")
    raise_fd_limit(2 * max(levels) + 256)
    load_before = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    async with _announce("baseline"), baseline_relay() as server:
        baseline = await measure(server, levels, args)
    rows: list[dict[str, Any]] = []
    for backend in backends:
        async with _announce(backend), BACKENDS[backend](args.hub_src) as server:
            hub = await measure(server, levels, args)
        for h, b in zip(hub, baseline, strict=True):
            ratio = round(h.msg_per_s / b.msg_per_s, 3) if b.msg_per_s else None
            rows.append(
                {
                    "backend": server.name,
                    "conversations": h.conversations,
                    "hub": asdict(h),
                    "baseline": asdict(b),
                    "ratio": ratio,
                }
            )
    print("\n" + table(rows) + "\n\n" + details(rows) + "\n")
    for line in verdict(rows):
        print(line)
    report = {
        "benchmark": "write_path",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            # Other work on the machine skews the figures; the 1-minute load shows how much.
            "load_average_1m": {"start": load_before[0], "end": os.getloadavg()[0]},
        },
        "settings": {
            "levels": levels,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "operator_sockets": args.sockets,
            "hub_src": str(args.hub_src or "checkout"),
        },
        "target": {
            "conversations": TARGET_LEVEL,
            "min_ratio": TARGET_RATIO,
            "max_p99_ms": TARGET_P99_MS,
            "verdict": verdict(rows),
        },
        "rows": rows,
        "markdown": table(rows),
    }
    save(report, Path(args.output))
    return 0


def save(report: dict[str, Any], output: Path) -> None:
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {output}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.write_path", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--levels",
        default="1,100,1000",
        help="concurrent conversations, comma-separated (default 1,100,1000)",
    )
    parser.add_argument(
        "--duration", type=float, default=8.0, help="measured seconds per level (default 8)"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=2.0,
        help="warm-up seconds per level before measuring (default 2)",
    )
    parser.add_argument(
        "--backends",
        default="sqlite,postgres",
        help="hub backends: sqlite (embedded), postgres (with Redis)",
    )
    parser.add_argument("--sockets", type=int, default=1, help="admin operator sockets")
    parser.add_argument(
        "--profile", action="store_true", help="record the hub with py-spy in each measured window"
    )
    parser.add_argument(
        "--hub-src",
        type=Path,
        help="a folder holding the hub package to run instead of this checkout's",
    )
    parser.add_argument("--output", default=str(RESULTS / "write_path.json"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
